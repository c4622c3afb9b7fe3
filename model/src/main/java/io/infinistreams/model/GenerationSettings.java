package io.infinistreams.model;

/**
 * How {@link InfiniModel#generate} decodes.
 *
 * @param maxNewTokens upper bound on generated tokens (>= 0)
 * @param temperature 0 for greedy (argmax); > 0 samples from softmax(logits / temperature)
 * @param seed seed of the sampler, so a sampled reply is reproducible
 * @param stopAtEos stop after generating {@link ByteTokenizer#EOS} (it is kept in the context)
 */
public record GenerationSettings(
    int maxNewTokens, float temperature, long seed, boolean stopAtEos) {
  public GenerationSettings {
    if (maxNewTokens < 0) {
      throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
    }
    if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be finite and >= 0, got " + temperature);
    }
  }

  public static GenerationSettings greedy(int maxNewTokens) {
    return new GenerationSettings(maxNewTokens, 0f, 0L, true);
  }
}
