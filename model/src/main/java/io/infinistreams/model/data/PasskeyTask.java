package io.infinistreams.model.data;

import io.infinistreams.model.ByteTokenizer;
import java.util.Random;

/**
 * Passkey retrieval in the standard format ({@link PasskeyDocument}), ending with the answer:
 * {@code BOS document question " 71432"}. The needle's depth is uniform over the filler, except
 * that a fraction {@code localFraction} of samples put the whole needle inside the question's own
 * (last) segment, where local attention can learn the copy pattern that the memory read reuses
 * (INFINI_ATTENTION.md, "Lessons from public reproductions").
 *
 * <p>Loss weights: 1 on every token (the filler and intro are cheap to learn and keep the model a
 * language model), {@code answerWeight} on the five digits of the answer.
 *
 * @param localFraction probability that the needle lies in the last segment (0..1)
 * @param answerWeight  loss weight of each answer digit
 */
public record PasskeyTask(double localFraction, float answerWeight) implements Task {

  /** Characters of the answer after the question: a space and five digits. */
  public static final int ANSWER_CHARS = 6;

  public PasskeyTask {
    if (!(localFraction >= 0 && localFraction <= 1)) {
      throw new IllegalArgumentException("localFraction must be in [0, 1], got " + localFraction);
    }
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
  }

  @Override
  public String name() {
    return "passkey";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1; // tokens, BOS included
    int docChars = total - 1 - ANSWER_CHARS; // document + question
    int capacity = PasskeyDocument.fillerCapacity(docChars);
    int key = PasskeyDocument.randomKey(rng);
    int before;
    // Token index of the needle's first character is 1 + INTRO + before (BOS is token 0); the
    // last segment's inputs are tokens [(S-1)*N, S*N).
    int lastSegmentStart = (segments - 1) * segmentLength;
    int minLocal = lastSegmentStart - 1 - PasskeyDocument.INTRO.length();
    if (rng.nextDouble() < localFraction) {
      int lo = Math.max(0, Math.min(capacity, minLocal));
      before = lo + rng.nextInt(capacity - lo + 1);
    } else {
      before = rng.nextInt(capacity + 1);
    }
    PasskeyDocument doc = PasskeyDocument.withFillerBefore(docChars, before, key);
    int[] tokens = new int[total];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    for (int t : ByteTokenizer.encode(doc.document() + doc.question() + doc.answer())) {
      tokens[p++] = t;
    }
    if (p != total) {
      throw new IllegalStateException("passkey sample has " + p + " tokens, expected " + total);
    }
    float[] weights = new float[total - 1];
    java.util.Arrays.fill(weights, 1f);
    // Targets tokens[total-5 .. total-1] are the digits; weight index = target index - 1.
    for (int i = total - 5; i < total; i++) {
      weights[i - 1] = answerWeight;
    }
    return new Sample(tokens, weights, name());
  }

  /** Token index (in a sample of {@code total} tokens) of the first answer digit. */
  public static int firstDigitIndex(int total) {
    return total - 5;
  }
}
