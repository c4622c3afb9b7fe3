package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.Models;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Picks the models the configuration asks for: the serving model (keys model.path, model.random,
 * model.seed) and the previous ones (model.previous), under model.upgrade.policy.
 */
public final class ModelLoader {
  private ModelLoader() {}

  /** The model, and a line saying which one it is. The caller closes the model. */
  public record Loaded(InfiniModel model, String description) {}

  /**
   * Every model of a deployment, and a line saying which each one is ({@code descriptions}, in the
   * order of {@link Models#all()}: the serving model first). {@link #close} closes them all.
   */
  public record LoadedModels(Models models, List<String> descriptions) implements AutoCloseable {
    @Override
    public void close() {
      models.all().forEach(InfiniModel::close);
    }
  }

  /** The serving model only (what {@code demo} and the benchmarks run). */
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
      return new Loaded(loadCheckpoint("model.path", dir), "checkpoint " + dir);
    }
    return shipped();
  }

  /**
   * The serving model and the previous ones of {@code model.previous}, under {@code
   * model.upgrade.policy}.
   *
   * @throws CliException (one line) if {@code model.previous} is set without the policy {@code
   *     serve}, names no checkpoint, names one that does not load, or two loaded models have the
   *     same fingerprint
   */
  public static LoadedModels loadAll(AppConfig config) {
    Models.UpgradePolicy policy = config.modelUpgradePolicy();
    List<Path> dirs = previousCheckpoints(config);
    if (!dirs.isEmpty() && policy != Models.UpgradePolicy.SERVE) {
      throw new CliException(
          "model.previous is set but model.upgrade.policy is "
              + policy.configName()
              + ": previous models continue their streams only under model.upgrade.policy=serve");
    }
    Loaded serving = load(config);
    List<InfiniModel> previous = new ArrayList<>();
    try {
      List<String> descriptions = new ArrayList<>(List.of(serving.description()));
      Map<String, String> loaded = new LinkedHashMap<>(); // fingerprint -> what loaded it
      loaded.put(serving.model().fingerprint(), serving.description() + " (model.path)");
      for (Path dir : dirs) {
        InfiniModel m = loadCheckpoint("model.previous", dir);
        previous.add(m);
        String before = loaded.putIfAbsent(m.fingerprint(), "checkpoint " + dir);
        if (before != null) {
          throw new CliException(
              "model.previous: checkpoint "
                  + dir
                  + " is the same model as "
                  + before
                  + " (fingerprint "
                  + m.fingerprint().substring(0, 12)
                  + "); load each model once");
        }
        descriptions.add("checkpoint " + dir);
      }
      return new LoadedModels(
          Models.of(serving.model(), previous, policy), List.copyOf(descriptions));
    } catch (RuntimeException e) {
      previous.forEach(InfiniModel::close);
      serving.model().close();
      throw e;
    }
  }

  /**
   * The checkpoint folders {@code model.previous} names: each entry that holds a manifest itself,
   * or else every sub-folder of it that does (by name), but the folder {@code model.path} names.
   */
  static List<Path> previousCheckpoints(AppConfig config) {
    Path serving = config.modelPath().isEmpty() ? null : realPath(Path.of(config.modelPath()));
    List<Path> out = new ArrayList<>();
    for (String entry : config.modelPrevious()) {
      Path p = Path.of(entry);
      if (isCheckpoint(p)) {
        out.add(p);
        continue;
      }
      if (!Files.isDirectory(p)) {
        throw new CliException("model.previous: no checkpoint folder at " + p.toAbsolutePath());
      }
      List<Path> inside;
      try (Stream<Path> children = Files.list(p)) {
        inside =
            children
                .filter(ModelLoader::isCheckpoint)
                .sorted()
                .filter(c -> serving == null || !realPath(c).equals(serving))
                .toList();
      } catch (IOException e) {
        throw new CliException("model.previous: cannot list " + p.toAbsolutePath() + ": " + e);
      }
      if (inside.isEmpty() && (serving == null || !isParentOf(p, serving))) {
        throw new CliException(
            "model.previous: no checkpoint in "
                + p.toAbsolutePath()
                + " (a folder with "
                + Checkpoint.MANIFEST_FILE
                + " and "
                + Checkpoint.WEIGHTS_FILE
                + ", or a folder of such folders)");
      }
      out.addAll(inside);
    }
    return out;
  }

  private static boolean isCheckpoint(Path dir) {
    return Files.isRegularFile(dir.resolve(Checkpoint.MANIFEST_FILE));
  }

  private static boolean isParentOf(Path dir, Path child) {
    return child.getParent() != null && child.getParent().equals(realPath(dir));
  }

  private static Path realPath(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      return p.toAbsolutePath().normalize();
    }
  }

  /** Loads a checkpoint folder; a failure is one line naming {@code key} and the folder. */
  private static InfiniModel loadCheckpoint(String key, Path dir) {
    try {
      return InfiniModel.load(dir);
    } catch (RuntimeException e) { // unreadable, another format, an architecture not implemented
      Throwable cause = e.getCause();
      throw new CliException(
          key
              + ": cannot load the checkpoint in "
              + dir
              + ": "
              + e.getMessage()
              + (cause == null || cause.getMessage() == null
                  ? ""
                  : " (" + cause.getMessage() + ")"));
    }
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
