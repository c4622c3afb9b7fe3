package io.infinistreams.tasks;

import java.util.Random;

/**
 * The standard passkey-retrieval document (Landmark Attention's format, used in appendix B of the
 * Infini-attention paper), built to a given length with the needle at a given depth:
 *
 * <pre>
 * There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.
 * &lt;filler&gt; The pass key is 71432. Remember it. 71432 is the pass key. &lt;filler&gt;
 * What is the pass key? The pass key is
 * </pre>
 *
 * <p>The filler is {@link #FILLER} repeated and cut to length. All text is ASCII, so one character
 * is one byte token.
 *
 * <p>Prefix sharing: for a given total length, the text before the needle is {@code INTRO +
 * filler(0, a)} and only its length {@code a} depends on the depth; the key never appears before
 * the needle. An evaluator may therefore absorb the prefix once and fork the state at each depth
 * ({@link #prefixLength}).
 *
 * @param document intro, filler, needle, filler: everything before the question
 * @param question the question, ending right where the key should be generated
 * @param key the pass key
 * @param needleOffset character (= token) offset of the needle in {@code document}
 */
public record PasskeyDocument(String document, String question, int key, int needleOffset) {

  public static final String INTRO =
      "There is an important info hidden inside a lot of irrelevant"
          + " text. Find it and memorize them. I will quiz you about the important information there.";
  public static final String FILLER =
      " The grass is green. The sky is blue. The sun is yellow."
          + " Here we go. There and back again.";
  public static final String QUESTION = " What is the pass key? The pass key is";

  /** Smallest and largest key: five digits, so every answer has the same length. */
  public static final int MIN_KEY = 10000;

  public static final int MAX_KEY = 99999;

  /** The needle sentence for {@code key}. */
  public static String needle(int key) {
    return " The pass key is " + key + ". Remember it. " + key + " is the pass key.";
  }

  /** Characters of {@link #needle} before its {@code mention}-th (0 or 1) mention of the key. */
  public static int keyOffset(int key, int mention) {
    String needle = needle(key);
    String k = Integer.toString(key);
    return mention == 0 ? needle.indexOf(k) : needle.lastIndexOf(k);
  }

  /** A uniformly random five-digit key. */
  public static int randomKey(Random rng) {
    return MIN_KEY + rng.nextInt(MAX_KEY - MIN_KEY + 1);
  }

  /**
   * {@code FILLER} repeated from offset {@code from} (into the repetition) for {@code length}
   * chars.
   */
  public static String filler(long from, int length) {
    StringBuilder sb = new StringBuilder(length);
    int p = (int) (from % FILLER.length());
    while (sb.length() < length) {
      int take = Math.min(FILLER.length() - p, length - sb.length());
      sb.append(FILLER, p, p + take);
      p = 0;
    }
    return sb.toString();
  }

  /**
   * Filler characters before the needle for a document whose document+question is {@code
   * totalChars} long and whose needle sits at {@code depth} in [0, 1] of the filler.
   */
  public static int prefixFiller(int totalChars, double depth) {
    int fillerTotal = fillerTotal(totalChars);
    return (int) Math.round(Math.max(0, Math.min(1, depth)) * fillerTotal);
  }

  /** Token index of the needle's first character in BOS + document (one token per character). */
  public static int needleToken(int fillerBefore) {
    return 1 + INTRO.length() + fillerBefore;
  }

  /** Characters of the document before the needle (intro plus leading filler). */
  public static int prefixLength(int totalChars, double depth) {
    return INTRO.length() + prefixFiller(totalChars, depth);
  }

  /**
   * Filler characters a document of {@code totalChars} holds in all (before + after the needle).
   */
  public static int fillerCapacity(int totalChars) {
    return fillerTotal(totalChars);
  }

  /** The fewest characters a document with its question can have: intro, needle, question. */
  public static int minimumChars() {
    return INTRO.length() + needle(MIN_KEY).length() + QUESTION.length();
  }

  private static int fillerTotal(int totalChars) {
    int fixed = minimumChars();
    if (totalChars < fixed) {
      throw new IllegalArgumentException(
          "a passkey document needs at least " + fixed + " characters, asked for " + totalChars);
    }
    return totalChars - fixed;
  }

  /**
   * A document whose document + question is exactly {@code totalChars} characters (= tokens), with
   * the needle after {@code depth} (0 = first, 1 = last) of the filler. The filler after the needle
   * continues the repetition where the leading filler stopped.
   */
  public static PasskeyDocument of(int totalChars, double depth, int key) {
    return withFillerBefore(totalChars, prefixFiller(totalChars, depth), key);
  }

  /**
   * As {@link #of}, with exactly {@code before} filler characters before the needle (0 up to {@link
   * #fillerCapacity}).
   */
  public static PasskeyDocument withFillerBefore(int totalChars, int before, int key) {
    if (key < MIN_KEY || key > MAX_KEY) {
      throw new IllegalArgumentException("key must have five digits, got " + key);
    }
    int fillerTotal = fillerTotal(totalChars);
    if (before < 0 || before > fillerTotal) {
      throw new IllegalArgumentException(
          "filler before the needle must be in [0, " + fillerTotal + "], got " + before);
    }
    int after = fillerTotal - before;
    String needle = needle(key);
    StringBuilder doc = new StringBuilder(totalChars);
    doc.append(INTRO).append(filler(0, before));
    int needleOffset = doc.length();
    doc.append(needle).append(filler(before, after));
    return new PasskeyDocument(doc.toString(), QUESTION, key, needleOffset);
  }

  /** The answer as the model should generate it after {@link #question}: a space and the key. */
  public String answer() {
    return " " + key;
  }
}
