package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** Picks the model the configuration asks for (keys model.path, model.random, model.seed). */
public final class ModelLoader {
  private ModelLoader() {}

  /** The model, and a line saying which one it is. The caller closes the model. */
  public record Loaded(InfiniModel model, String description) {}

  public static Loaded load(AppConfig config) {
    if (!config.modelRandom().isEmpty()) {
      ModelConfig shape =
          config.modelRandom().equals("tiny") ? ModelConfig.tiny() : ModelConfig.defaults();
      return new Loaded(
          InfiniModel.create(shape, config.modelSeed()),
          "random weights (" + config.modelRandom() + " shape, seed " + config.modelSeed() + ")");
    }
    if (!config.modelPath().isEmpty()) {
      Path dir = Path.of(config.modelPath());
      if (!Files.isDirectory(dir)) {
        throw new CliException("model.path: no checkpoint folder at " + dir.toAbsolutePath());
      }
      return new Loaded(InfiniModel.load(dir), "checkpoint " + dir);
    }
    return shipped();
  }

  private static Loaded shipped() {
    boolean trained = InfiniModel.isTrainedDefaultAvailable();
    return new Loaded(
        InfiniModel.loadDefault(),
        trained
            ? "the shipped checkpoint (classpath " + InfiniModel.DEFAULT_RESOURCE + ")"
            : "RANDOM UNTRAINED weights (no trained checkpoint ships yet, so answers are noise)");
  }
}
