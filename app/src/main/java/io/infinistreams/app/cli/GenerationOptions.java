package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.PromptFormat;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Generation flags of {@code ask} and {@code chat} (a picocli mixin). */
public final class GenerationOptions {

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      description = "Most new tokens to generate. Default: generate.max.tokens.default.")
  Integer maxTokens;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      defaultValue = "0",
      description = "0 = greedy (default); above 0 samples from softmax(logits / T).")
  float temperature;

  @Option(
      names = "--seed",
      paramLabel = "N",
      defaultValue = "0",
      description = "Seed of the sampler (with --temperature above 0). Default: ${DEFAULT-VALUE}.")
  long seed;

  @ArgGroup(exclusive = true)
  Format format;

  static final class Format {
    @Option(names = "--chat", description = "Prompt is a chat user turn (default).")
    boolean chat;

    @Option(names = "--raw", description = "Prompt is raw text the reply continues.")
    boolean raw;
  }

  PromptFormat format(PromptFormat fallback) {
    if (format == null) {
      return fallback;
    }
    return format.raw ? PromptFormat.RAW : PromptFormat.CHAT;
  }

  Generation generation(AppConfig config, PromptFormat fallback) {
    int max = maxTokens == null ? config.generateMaxTokensDefault() : maxTokens;
    if (max < 0) {
      throw new CliException("--max-tokens must be >= 0, got " + max);
    }
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new CliException("--temperature must be finite and >= 0, got " + temperature);
    }
    return StreamClient.generation(max, temperature, seed, format(fallback));
  }
}
