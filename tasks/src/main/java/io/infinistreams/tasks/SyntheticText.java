package io.infinistreams.tasks;

import java.util.List;
import java.util.Random;

/**
 * Deterministic English-like text from a small grammar, for tests and for CI, where no corpus
 * package is installed. Not a substitute for real text in training.
 */
public final class SyntheticText {
  private static final List<String> SUBJECTS =
      List.of(
          "The farmer",
          "A child",
          "The old king",
          "My neighbour",
          "The river",
          "A small bird",
          "The teacher",
          "The ship",
          "Our guide",
          "The baker");
  private static final List<String> VERBS =
      List.of(
          "walked to",
          "looked at",
          "sang about",
          "carried",
          "painted",
          "forgot",
          "remembered",
          "followed",
          "built",
          "found");
  private static final List<String> OBJECTS =
      List.of(
          "the hill",
          "a red door",
          "the market",
          "an empty boat",
          "the long road",
          "a quiet garden",
          "the stone bridge",
          "seven apples",
          "the northern lights",
          "a letter");
  private static final List<String> ENDINGS =
      List.of(".", " at dawn.", " in the rain.", " before supper.", " again.", ", and smiled.");

  private SyntheticText() {}

  /** About {@code chars} characters of sentences, in paragraphs of a few lines. */
  public static String generate(long seed, int chars) {
    Random rng = new Random(seed);
    StringBuilder sb = new StringBuilder(chars + 64);
    while (sb.length() < chars) {
      sb.append(SUBJECTS.get(rng.nextInt(SUBJECTS.size())))
          .append(' ')
          .append(VERBS.get(rng.nextInt(VERBS.size())))
          .append(' ')
          .append(OBJECTS.get(rng.nextInt(OBJECTS.size())))
          .append(ENDINGS.get(rng.nextInt(ENDINGS.size())));
      sb.append(rng.nextInt(4) == 0 ? "\n" : " ");
    }
    return sb.substring(0, chars);
  }

  /** A corpus of generated text holding out the last {@code heldOut} fraction. */
  public static TextCorpus corpus(long seed, int chars, double heldOut) {
    return TextCorpus.of("synthetic(seed=" + seed + ")", generate(seed, chars), heldOut);
  }
}
