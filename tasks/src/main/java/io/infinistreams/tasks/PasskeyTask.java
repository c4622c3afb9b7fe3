package io.infinistreams.tasks;

import io.infinistreams.model.ByteTokenizer;
import java.util.Random;

/**
 * Passkey retrieval in the standard format ({@link PasskeyDocument}), with the answer: {@code BOS
 * document question " 71432" filler}. The needle's depth is uniform over the filler, except that a
 * fraction {@code localFraction} of samples put the whole needle inside the question's own segment,
 * where local attention can learn the copy pattern that the memory read reuses (a small model
 * learns retrieval through memory more easily that way).
 *
 * <p>{@link Sample#task()} is {@code passkey/local} when the needle lies in the answer's segment
 * and {@code passkey/far} otherwise, so training can log retrieval through memory apart.
 *
 * <p>A random stretch of filler (0 to N-1 tokens) follows the answer, so the question ends at any
 * position of its segment, as it does after a document of any length.
 *
 * <p>Loss weights: 1 on every token (the filler and intro are cheap to learn and keep the model a
 * language model), {@code answerWeight} on the five digits of the answer.
 *
 * <p>{@code spread}: where the needle lies in the answer's segment, how far before the question may
 * it be? Without spreading (the original generator, kept so earlier runs reproduce) the answer is
 * usually placed so that exactly the needle and the question fit in its segment, so most local
 * samples have the needle right before the question, at a fixed distance from the answer, and a
 * model can learn to copy the key by position instead of by content. With spreading, a local
 * sample's answer sits uniformly in the positions of its segment that leave room for the needle and
 * the question, and the needle uniformly before it, so the distance varies over everything the
 * segment allows.
 *
 * <p>{@code far}: where a needle that is not forced local lies ({@link FarNeedle}). {@code
 * ANYWHERE}: uniform over the filler. {@code ANY_BOUNDARY}: across a segment boundary (uniformly
 * over the boundaries up to the answer's segment and over the cut inside the needle), so the key is
 * written in two parts by two segments; about half of uniform needles do this by chance, and they
 * are harder than needles inside one segment. {@code OPEN_BOUNDARY}: across the boundary of the
 * answer's own segment, so the needle's head is in memory and its tail in local attention when the
 * question is asked (a uniform needle does this in about 60 of L tokens, and such needles are the
 * hardest). {@code OPEN_HEAD}: the same with the cut among the words before the key, so that memory
 * holds the needle's head without a digit and local attention the whole key.
 *
 * <p>{@code cutAnswer}: a segment boundary falls inside the answer, so that one of the five digits
 * (uniformly which) is the first prediction of a new segment and the rest follow it there. The
 * digits before the boundary have just been compressed into memory together with the question, so
 * the later ones are read beside a fresh partial copy of the key. A document of any length ends
 * there in about 5 of N cases, and they are hard to get right; this variant trains on them (samples
 * too short to leave N - 1 filler tokens after the answer keep a random tail).
 *
 * @param localFraction probability that the needle lies in the answer's segment (0..1)
 * @param answerWeight loss weight of each answer digit
 * @param spread spread local needles over their segment (see above)
 * @param far where needles that are not local lie (see above)
 * @param cutAnswer put a segment boundary inside the answer (see above)
 */
public record PasskeyTask(
    double localFraction, float answerWeight, boolean spread, FarNeedle far, boolean cutAnswer)
    implements Task {

  /** Where a needle lies that is not forced into the answer's segment. */
  public enum FarNeedle {
    /** uniform over the filler */
    ANYWHERE,
    /** across a segment boundary up to the answer's segment */
    ANY_BOUNDARY,
    /** across the boundary of the answer's own segment: from memory into the open segment */
    OPEN_BOUNDARY,
    /**
     * as OPEN_BOUNDARY, but memory holds only words of the needle before the key's first digit: the
     * key lies wholly in the open segment
     */
    OPEN_HEAD;

    /** Whether the needle runs across the start of the answer's own segment. */
    boolean intoOpen() {
      return this == OPEN_BOUNDARY || this == OPEN_HEAD;
    }
  }

  /** The original generator (no spreading). */
  public PasskeyTask(double localFraction, float answerWeight) {
    this(localFraction, answerWeight, false, FarNeedle.ANYWHERE, false);
  }

  /** Spread or not, far needles anywhere. */
  public PasskeyTask(double localFraction, float answerWeight, boolean spread) {
    this(localFraction, answerWeight, spread, FarNeedle.ANYWHERE, false);
  }

  /** Characters of the answer after the question: a space and five digits. */
  public static final int ANSWER_CHARS = 6;

  public PasskeyTask {
    if (!(localFraction >= 0 && localFraction <= 1)) {
      throw new IllegalArgumentException("localFraction must be in [0, 1], got " + localFraction);
    }
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    java.util.Objects.requireNonNull(far, "far");
  }

  @Override
  public String name() {
    return "passkey";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1; // tokens, BOS included
    int key = PasskeyDocument.randomKey(rng);
    boolean wantLocal = rng.nextDouble() < localFraction;
    // Filler after the answer, so that the question sits anywhere in its segment (as it does
    // after a document of arbitrary length), not always at the end of the last one.
    int minDoc =
        PasskeyDocument.INTRO.length()
            + PasskeyDocument.needle(key).length()
            + PasskeyDocument.QUESTION.length();
    int room = total - 1 - ANSWER_CHARS - minDoc; // filler characters available in all
    if (room < 0) {
      throw new IllegalArgumentException(
          "a passkey sample needs at least "
              + (minDoc + ANSWER_CHARS + 1)
              + " tokens, got "
              + total);
    }
    int tail = rng.nextInt(Math.min(segmentLength, room + 1));
    if (cutAnswer && segmentLength > 5 && segmentLength - 1 <= room) {
      // input answerInput + j (which predicts digit j) opens a segment: answerInput = total - 6
      // - tail and total = 1 (mod N), so tail = N - 5 + j
      tail = segmentLength - 5 + rng.nextInt(5);
    }
    int needleAndQuestion =
        PasskeyDocument.needle(key).length() + PasskeyDocument.QUESTION.length() + 1;
    if (wantLocal && spread && needleAndQuestion < segmentLength) {
      // the answer's space at a uniform position of its segment that leaves room before it
      int pos = needleAndQuestion + rng.nextInt(segmentLength - needleAndQuestion);
      int t = Math.floorMod(total - ANSWER_CHARS - pos, segmentLength);
      if (t <= room) {
        tail = t;
      }
    }
    int docChars = total - 1 - ANSWER_CHARS - tail; // document + question
    int answerInput = 1 + docChars; // input index (the space) that predicts the first digit
    int segStart = answerInput / segmentLength * segmentLength;
    // Room the answer's segment must hold before the answer: the whole needle and the question
    // for a local needle; the question and at least one needle character for one that runs into
    // the open segment (the key and all after it under OPEN_HEAD).
    int need =
        wantLocal
            ? needleAndQuestion
            : far == FarNeedle.OPEN_BOUNDARY
                ? PasskeyDocument.QUESTION.length() + 2
                : far == FarNeedle.OPEN_HEAD ? needleAndQuestion - headChars(key) : 0;
    if (answerInput - segStart < need) {
      // the needle cannot fit before the question in this segment: end the answer later in it
      int shift = Math.min(tail, need - (answerInput - segStart));
      tail -= shift;
      docChars += shift;
      answerInput += shift;
    }
    int capacity = PasskeyDocument.fillerCapacity(docChars);
    int before;
    int minLocal = segStart - 1 - PasskeyDocument.INTRO.length(); // needle token >= segStart
    if (wantLocal) {
      int lo = Math.max(0, Math.min(capacity, minLocal));
      before = lo + rng.nextInt(capacity - lo + 1);
    } else if (far != FarNeedle.ANYWHERE) {
      before =
          straddling(
              rng,
              key,
              capacity,
              segStart,
              segmentLength,
              far.intoOpen(),
              far == FarNeedle.OPEN_HEAD
                  ? headChars(key)
                  : PasskeyDocument.needle(key).length() - 1);
    } else {
      before = rng.nextInt(capacity + 1);
    }
    PasskeyDocument doc = PasskeyDocument.withFillerBefore(docChars, before, key);
    int[] tokens = new int[total];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    String text =
        doc.document()
            + doc.question()
            + doc.answer()
            + PasskeyDocument.filler(rng.nextInt(PasskeyDocument.FILLER.length()), tail);
    for (int t : ByteTokenizer.encode(text)) {
      tokens[p++] = t;
    }
    if (p != total) {
      throw new IllegalStateException("passkey sample has " + p + " tokens, expected " + total);
    }
    float[] weights = new float[total - 1];
    java.util.Arrays.fill(weights, 1f);
    // The digits are tokens answerInput+1 .. answerInput+5; weight index = target index - 1.
    for (int i = answerInput + 1; i <= answerInput + 5; i++) {
      weights[i - 1] = answerWeight;
    }
    // "local" when the whole needle lies in the answer's segment (also by chance when uniform)
    int needleToken = 1 + doc.needleOffset();
    return new Sample(tokens, weights, needleToken >= segStart ? "passkey/local" : "passkey/far");
  }

  /** Characters of the needle before its key's first digit (" The pass key is "). */
  static int headChars(int key) {
    return PasskeyDocument.keyOffset(key, 0);
  }

  /**
   * Filler characters before a needle that crosses a segment boundary: a boundary k N (k >= 1, at
   * most the answer's segment start; with {@code openOnly} the answer's segment start itself) and a
   * cut inside the needle that leaves 1 to {@code maxHeld} of its characters before the boundary,
   * each uniform among those the document allows; uniform over the whole filler if none does.
   */
  static int straddling(
      Random rng,
      int key,
      int capacity,
      int segStart,
      int segmentLength,
      boolean openOnly,
      int maxHeld) {
    int length = PasskeyDocument.needle(key).length();
    int minStart = PasskeyDocument.needleToken(0);
    int maxStart = PasskeyDocument.needleToken(capacity);
    // boundaries b with a start in [b - length + 1, b - 1] inside [minStart, maxStart]
    int firstK = (minStart + segmentLength) / segmentLength; // smallest k with k N > minStart
    int lastK = Math.min(segStart, maxStart + length - 1) / segmentLength;
    if (openOnly) {
      if (lastK * segmentLength != segStart) {
        return rng.nextInt(capacity + 1); // the needle cannot reach the answer's segment
      }
      firstK = lastK;
    }
    if (lastK < firstK) {
      return rng.nextInt(capacity + 1);
    }
    int b = (firstK + rng.nextInt(lastK - firstK + 1)) * segmentLength;
    int lo = Math.max(minStart, b - Math.min(maxHeld, length - 1));
    int hi = Math.min(maxStart, b - 1);
    return lo + rng.nextInt(hi - lo + 1) - minStart;
  }
}
