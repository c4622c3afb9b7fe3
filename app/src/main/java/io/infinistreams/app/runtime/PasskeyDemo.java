package io.infinistreams.app.runtime;

import io.infinistreams.tasks.PasskeyDocument;
import java.util.OptionalInt;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The passkey task of {@code infini demo}: the standard passkey document (a needle "The pass key is
 * N." in repeated filler), asked for the key; a reply is right when its first number is the key.
 */
public final class PasskeyDemo implements DemoTask {

  /** The task (it has no parameters). */
  public static final PasskeyDemo TASK = new PasskeyDemo();

  private static final Pattern NUMBER = Pattern.compile("\\d+");

  private PasskeyDemo() {}

  /** The passkey document of {@code lengthTokens} tokens (with the question), key from the seed. */
  public static PasskeyDocument passkeyDocument(int lengthTokens, double depth, long seed) {
    int key = PasskeyDocument.randomKey(new Random(seed));
    return PasskeyDocument.of(lengthTokens, depth, key);
  }

  /** The first number of {@code reply} (at most 9 digits), if there is one. */
  static OptionalInt answerKey(String reply) {
    Matcher m = NUMBER.matcher(reply);
    return m.find() && m.group().length() <= 9
        ? OptionalInt.of(Integer.parseInt(m.group()))
        : OptionalInt.empty();
  }

  @Override
  public String name() {
    return "passkey";
  }

  @Override
  public DemoDocument document(int lengthTokens, double depth, long seed) {
    return new Question(passkeyDocument(lengthTokens, depth, seed));
  }

  @Override
  public int defaultMaxTokens() {
    return 8;
  }

  /** A passkey document as the demo streams and grades it. */
  private record Question(PasskeyDocument doc) implements DemoDocument {
    @Override
    public String context() {
      return doc.document();
    }

    @Override
    public String prompt() {
      return doc.question();
    }

    @Override
    public String expected() {
      return String.valueOf(doc.key());
    }

    @Override
    public int needleOffset() {
      return doc.needleOffset();
    }

    @Override
    public String describe() {
      return ", needle";
    }

    @Override
    public boolean correct(String reply) {
      OptionalInt key = answerKey(reply);
      return key.isPresent() && key.getAsInt() == doc.key();
    }

    @Override
    public String whyWrong(String reply) {
      return answerKey(reply).isPresent() ? "" : " (no number in the answer)";
    }
  }
}
