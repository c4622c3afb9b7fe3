package io.infinistreams.tasks.prose;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.Task;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * Language modelling on real prose: BOS followed by a span of a {@link ProseSource} that starts at
 * a paragraph and runs on through the following ones. Every token has weight 1.
 *
 * @param prose where the text comes from
 */
public record ProseTextTask(ProseSource prose) implements Task {

  @Override
  public String name() {
    return "text";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int n = segments * segmentLength;
    byte[] text = prose.text(rng, n).getBytes(StandardCharsets.UTF_8); // exactly n bytes
    int[] tokens = new int[n + 1];
    tokens[0] = ByteTokenizer.BOS;
    for (int i = 0; i < n; i++) {
      tokens[i + 1] = text[i] & 0xff;
    }
    float[] weights = new float[n];
    Arrays.fill(weights, 1f);
    return new Sample(tokens, weights, name());
  }
}
