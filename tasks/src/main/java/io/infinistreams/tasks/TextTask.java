package io.infinistreams.tasks;

import io.infinistreams.model.ByteTokenizer;
import java.util.Arrays;
import java.util.Random;

/**
 * Plain-text language modelling: BOS followed by a window of a corpus, starting at a random line
 * start. Every token has weight 1.
 */
public record TextTask(TextCorpus corpus) implements Task {

  @Override
  public String name() {
    return "text";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    int[] window = corpus.trainWindow(rng, total - 1);
    int[] tokens = new int[total];
    tokens[0] = ByteTokenizer.BOS;
    System.arraycopy(window, 0, tokens, 1, total - 1);
    float[] weights = new float[total - 1];
    Arrays.fill(weights, 1f);
    return new Sample(tokens, weights, name());
  }
}
