package io.infinistreams.app.bench;

import io.infinistreams.tasks.ChatFacts;
import io.infinistreams.tasks.SyntheticText;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * The text of {@code bench-sessions}' events, from the sentences the task generators ship with (no
 * file, no download): chat messages from {@link ChatFacts} (small-talk exchanges and personal facts
 * with their acknowledgements, as {@code user: ... assistant: ...} lines), and longer documents
 * from {@link SyntheticText}'s English-like grammar. Every string is ASCII, so its length in
 * characters is its length in bytes (and in tokens).
 */
final class ChatText {

  private ChatText() {}

  /**
   * A chat message of at most {@code targetBytes} bytes and usually close to it: whole exchanges,
   * the last one cut at a space.
   */
  static String message(Random rng, int targetBytes) {
    StringBuilder sb = new StringBuilder(targetBytes + 160);
    while (sb.length() < targetBytes) {
      if (rng.nextInt(3) == 0) {
        ChatFacts.Fact f = ChatFacts.fact(rng.nextInt(ChatFacts.kinds()), rng);
        sb.append("user: ").append(f.statement()).append('\n');
        sb.append("assistant: ").append(ChatFacts.ack(rng)).append('\n');
      } else {
        String[] turn = ChatFacts.smallTalk(rng);
        sb.append("user: ").append(turn[0]).append('\n');
        sb.append("assistant: ").append(turn[1]).append('\n');
      }
    }
    return ascii(cut(sb, targetBytes));
  }

  /** A question to ask in a GENERATE (CHAT format). */
  static String question(Random rng) {
    return ascii(ChatFacts.smallTalk(rng)[0]);
  }

  /** A document of exactly {@code bytes} bytes of English-like sentences. */
  static String document(long seed, int bytes) {
    return ascii(SyntheticText.generate(seed, bytes));
  }

  private static String cut(StringBuilder sb, int targetBytes) {
    if (sb.length() <= targetBytes) {
      return sb.toString();
    }
    int space = sb.lastIndexOf(" ", targetBytes - 1);
    int end = space > targetBytes / 2 ? space : targetBytes - 1;
    return sb.substring(0, end) + "\n";
  }

  private static String ascii(String s) {
    if (s.getBytes(StandardCharsets.UTF_8).length != s.length()) {
      throw new IllegalStateException("bench text is not ASCII: " + s);
    }
    return s;
  }
}
