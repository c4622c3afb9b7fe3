package io.infinistreams.tasks;

import io.infinistreams.model.ByteTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Chat-memory recall: a multi-turn session in {@link ByteTokenizer#chatTurn} format in which the
 * user states one to {@code maxFacts} facts early ("My locker code is 4471"), small talk follows
 * for the rest of the sequence, and the session ends with the user asking for each fact. Every turn
 * is {@code USER text ASSISTANT reply EOS}. A random stretch of small talk (0 to N-1 tokens)
 * follows the last answer, so answers end anywhere in their segment.
 *
 * <p>Loss weights: 1 on every token, {@code answerWeight} on the recalled value (and the period and
 * EOS after it) in the final replies.
 *
 * @param maxFacts facts stated per session (at least one)
 * @param answerWeight loss weight of each token of a recalled value
 */
public record ChatRecallTask(int maxFacts, float answerWeight) implements Task {

  public ChatRecallTask {
    if (maxFacts < 1 || maxFacts > ChatFacts.kinds()) {
      throw new IllegalArgumentException("maxFacts must be in [1, " + ChatFacts.kinds() + "]");
    }
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
  }

  @Override
  public String name() {
    return "chat";
  }

  /** One turn: {@code USER user ASSISTANT reply EOS}. */
  public static int[] turn(String user, String reply) {
    int[] head = ByteTokenizer.chatTurn(user);
    int[] body = ByteTokenizer.encode(reply);
    int[] out = Arrays.copyOf(head, head.length + body.length + 1);
    System.arraycopy(body, 0, out, head.length, body.length);
    out[out.length - 1] = ByteTokenizer.EOS;
    return out;
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    int want = 1 + rng.nextInt(maxFacts);
    List<Integer> kinds = new ArrayList<>();
    for (int k = 0; k < ChatFacts.kinds(); k++) {
      kinds.add(k);
    }
    Collections.shuffle(kinds, rng);
    List<ChatFacts.Fact> facts = new ArrayList<>();
    for (int i = 0; i < want; i++) {
      facts.add(ChatFacts.fact(kinds.get(i), rng));
    }
    List<Integer> askOrder = new ArrayList<>();
    for (int i = 0; i < want; i++) {
      askOrder.add(i);
    }
    Collections.shuffle(askOrder, rng);
    // Small-talk draws are made up front so the sample is a pure function of the rng state.
    List<String[]> talk = new ArrayList<>();
    for (int i = 0; i < total / 16 + 8; i++) {
      talk.add(ChatFacts.smallTalk(rng));
    }
    String[] acks = new String[want];
    for (int i = 0; i < want; i++) {
      acks[i] = ChatFacts.ack(rng);
    }
    int trailing = rng.nextInt(segmentLength); // small talk after the last answer
    boolean[] chatBetween = new boolean[want];
    for (int i = 0; i < want; i++) {
      chatBetween[i] = rng.nextBoolean();
    }
    while (true) {
      Sample s = build(total, trailing, facts.subList(0, want), askOrder, talk, acks, chatBetween);
      if (s != null) {
        return s;
      }
      if (want == 1 && trailing > 0) {
        trailing = 0;
        continue;
      }
      if (want == 1) {
        throw new IllegalArgumentException(
            "a chat recall session does not fit in " + total + " tokens");
      }
      want--;
      askOrder.remove(Integer.valueOf(want));
    }
  }

  /** Fills tokens[p, end) with small-talk turns (the last one cut short); returns end. */
  private static int smallTalk(int[] tokens, int p, int end, List<String[]> talk, int from) {
    int i = from;
    while (p < end) {
      String[] t = talk.get(i++ % talk.size());
      int[] tt = turn(t[0], t[1]);
      int take = Math.min(tt.length, end - p);
      System.arraycopy(tt, 0, tokens, p, take);
      p += take;
    }
    return p;
  }

  private Sample build(
      int total,
      int trailing,
      List<ChatFacts.Fact> facts,
      List<Integer> askOrder,
      List<String[]> talk,
      String[] acks,
      boolean[] chatBetween) {
    int[] tokens = new int[total];
    float[] weights = new float[total - 1];
    Arrays.fill(weights, 1f);
    int talkIdx = 0;
    List<int[]> head = new ArrayList<>();
    for (int i = 0; i < facts.size(); i++) {
      if (chatBetween[i]) {
        String[] t = talk.get(talkIdx++ % talk.size());
        head.add(turn(t[0], t[1]));
      }
      head.add(turn(facts.get(i).statement(), acks[i]));
    }
    List<int[]> tail = new ArrayList<>();
    for (int i : askOrder) {
      tail.add(turn(facts.get(i).question(), facts.get(i).answer()));
    }
    int headLen = 1 + head.stream().mapToInt(a -> a.length).sum();
    int tailLen = tail.stream().mapToInt(a -> a.length).sum();
    if (headLen + tailLen + trailing > total) {
      return null;
    }
    int p = 0;
    tokens[p++] = ByteTokenizer.BOS;
    for (int[] t : head) {
      System.arraycopy(t, 0, tokens, p, t.length);
      p += t.length;
    }
    int middleEnd = total - tailLen - trailing;
    p = smallTalk(tokens, p, middleEnd, talk, talkIdx);
    talkIdx += 64;
    for (int q = 0; q < tail.size(); q++) {
      int[] t = tail.get(q);
      ChatFacts.Fact f = facts.get(askOrder.get(q));
      System.arraycopy(t, 0, tokens, p, t.length);
      // value + "." + EOS are the last value.length() + 2 tokens of the turn (values are ASCII)
      int valueStart = p + t.length - (f.value().length() + 2);
      for (int i = valueStart; i < p + t.length; i++) {
        weights[i - 1] = answerWeight;
      }
      p += t.length;
    }
    smallTalk(tokens, p, total, talk, talkIdx);
    return new Sample(tokens, weights, name());
  }
}
