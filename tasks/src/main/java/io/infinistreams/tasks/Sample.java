package io.infinistreams.tasks;

/**
 * One training sequence: {@code S*N + 1} tokens starting with {@link
 * io.infinistreams.model.ByteTokenizer#BOS}, so that inputs are {@code tokens[0, S*N)} and the
 * next-token targets are {@code tokens[1, S*N]}.
 *
 * @param tokens (S*N + 1) token ids
 * @param weights (S*N) loss weight of predicting {@code tokens[i + 1]} from {@code tokens[0..i]}; 0
 *     for padding, larger than 1 on answers (the passkey digits, a recalled fact)
 * @param task name of the task that made it (for logging)
 */
public record Sample(int[] tokens, float[] weights, String task) {
  public Sample {
    if (weights.length != tokens.length - 1) {
      throw new IllegalArgumentException(
          "weights must have tokens.length - 1 entries, got "
              + weights.length
              + " for "
              + tokens.length
              + " tokens");
    }
  }

  /** Number of predicted positions, S*N. */
  public int length() {
    return weights.length;
  }
}
