package io.infinistreams.tasks;

import io.infinistreams.model.ByteTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Dense copying: a stream of random codes ({@code "k3f9x2q7 | 51ab0c | k3f9x2q7 | ..."}), each
 * either new or a repeat of an earlier one, chosen uniformly among all earlier codes, so the gap to
 * its first occurrence runs from a few tokens to the whole sequence and many repeats cross
 * segments.
 *
 * <p>This is the circuit the passkey needs, with a dense signal: predicting the next character of a
 * repeated code means finding where the current context occurred before and copying what followed
 * it (an induction head; through memory, the read of a key written with the previous tokens'
 * context). The passkey trains it five digits per sequence; this task trains it on every repeated
 * character, so it forms in far fewer steps, and the passkey reuses it.
 *
 * <p>Loss weights: {@code answerWeight} on every character of a repeat after its first (the first
 * character of a repeat is not predictable: which code comes back is random); 0 on the characters
 * of a new code (random, nothing to learn); 1 on the separators.
 *
 * @param answerWeight loss weight of each predictable repeated character
 * @param recent share of repeats that repeat the code just before (a copy a few characters back,
 *     where attention finds the source by position: the copying circuit then has a signal before
 *     attention has learned to find a source by content)
 */
public record CopyTask(float answerWeight, double recent) implements Task {
  private static final String ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
  private static final String SEPARATOR = " | ";

  public CopyTask {
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    if (!(recent >= 0 && recent <= 1)) {
      throw new IllegalArgumentException("recent must be in [0, 1], got " + recent);
    }
  }

  /** Repeats chosen uniformly among all earlier codes. */
  public CopyTask(float answerWeight) {
    this(answerWeight, 0);
  }

  @Override
  public String name() {
    return "copy";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    int[] tokens = new int[total];
    float[] weights = new float[total - 1];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    List<String> codes = new ArrayList<>();
    while (p < total) {
      boolean repeat = !codes.isEmpty() && rng.nextBoolean();
      String code;
      if (repeat) {
        code =
            rng.nextDouble() < recent
                ? codes.get(codes.size() - 1) // the code just before: a copy at a short distance
                : codes.get(rng.nextInt(codes.size()));
      } else {
        StringBuilder b = new StringBuilder();
        int len = 6 + rng.nextInt(11); // 6..16 characters
        for (int i = 0; i < len; i++) {
          b.append(ALPHABET.charAt(rng.nextInt(ALPHABET.length())));
        }
        code = b.toString();
        codes.add(code);
      }
      String text = code + SEPARATOR;
      for (int i = 0; i < text.length() && p < total; i++, p++) {
        tokens[p] = text.charAt(i); // ASCII: the byte is the token
        float w;
        if (i >= code.length()) {
          w = 1f; // separator
        } else if (repeat) {
          w = i == 0 ? 0f : answerWeight;
        } else {
          w = 0f;
        }
        weights[p - 1] = w; // weight of predicting tokens[p] from tokens[0..p-1]
      }
    }
    return new Sample(tokens, weights, name());
  }
}
