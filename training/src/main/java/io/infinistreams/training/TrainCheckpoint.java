package io.infinistreams.training;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonDeserializationContext;
import com.google.gson.JsonDeserializer;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonSerializationContext;
import com.google.gson.JsonSerializer;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.TaskMix;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A resumable training checkpoint, one directory:
 *
 * <ul>
 *   <li>{@code model.safetensors}: the weights, one tensor per parameter (names of {@link
 *       Weights#parameters()});
 *   <li>{@code optimizer.safetensors}: AdamW's moments {@code m.<name>}, {@code v.<name>};
 *   <li>{@code train-state.json}: the {@link TrainConfig}, steps done (which is also the data
 *       stream's position: the batch of step i is a pure function of (seed, i)), the optimizer's
 *       step count, wall seconds so far, the command line, and the loss curve.
 * </ul>
 *
 * Written into a temporary sibling and renamed into place, so an interruption mid-write leaves the
 * previous checkpoint intact.
 */
public final class TrainCheckpoint {
  public static final String WEIGHTS = "model.safetensors";
  public static final String OPTIMIZER = "optimizer.safetensors";
  public static final String STATE = "train-state.json";
  public static final String WARM_STATES = "warm-states.safetensors";

  /**
   * Writes and reads a model configuration as a checkpoint manifest does ({@link
   * Checkpoint#configToJson}, {@link Checkpoint#configFromJson}): fields at their defaults are left
   * out and mean those defaults when absent, and a configuration this version does not implement is
   * refused rather than resumed as something else.
   */
  private static final class ModelConfigJson
      implements JsonSerializer<ModelConfig>, JsonDeserializer<ModelConfig> {
    @Override
    public JsonElement serialize(ModelConfig c, Type type, JsonSerializationContext context) {
      return Checkpoint.configToJson(c);
    }

    @Override
    public ModelConfig deserialize(
        JsonElement json, Type type, JsonDeserializationContext context) {
      try {
        return Checkpoint.configFromJson(json.getAsJsonObject());
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new JsonParseException(e.getMessage(), e);
      }
    }
  }

  static final Gson GSON =
      new GsonBuilder()
          .registerTypeAdapter(ModelConfig.class, new ModelConfigJson())
          .setPrettyPrinting()
          .serializeSpecialFloatingPointValues()
          .disableHtmlEscaping()
          .create();

  /** What train-state.json holds. */
  public record State(
      TrainConfig config,
      long step,
      long optimizerSteps,
      double elapsedSec,
      String command,
      List<RunLog.Point> history) {}

  private TrainCheckpoint() {}

  /** Writes {@code trainer}'s checkpoint to {@code dir}, replacing any previous one atomically. */
  public static void save(
      Trainer trainer, Path dir, double elapsedSec, String command, List<RunLog.Point> history) {
    try {
      Path parent = dir.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Path tmp = parent.resolve(dir.getFileName() + ".tmp");
      deleteTree(tmp);
      Files.createDirectories(tmp);
      try (OutputStream out = Files.newOutputStream(tmp.resolve(WEIGHTS))) {
        trainer.weights().toNamedList().encode(out, NDList.Encoding.SAFETENSORS);
      }
      try (OutputStream out = Files.newOutputStream(tmp.resolve(OPTIMIZER));
          NDManager copies = trainer.manager().newSubManager()) {
        trainer.optimizer().state(trainer.names(), copies).encode(out, NDList.Encoding.SAFETENSORS);
      }
      try (NDManager copies = trainer.manager().newSubManager()) {
        NDList warm = trainer.warmStates(copies);
        if (warm != null) {
          try (OutputStream out = Files.newOutputStream(tmp.resolve(WARM_STATES))) {
            warm.encode(out, NDList.Encoding.SAFETENSORS);
          }
        }
      }
      State state =
          new State(
              trainer.config(),
              trainer.stepsDone(),
              trainer.optimizer().stepsTaken(),
              elapsedSec,
              command,
              history);
      Files.writeString(tmp.resolve(STATE), GSON.toJson(state), StandardCharsets.UTF_8);
      Path old = parent.resolve(dir.getFileName() + ".old");
      deleteTree(old);
      if (Files.exists(dir)) {
        Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      deleteTree(old);
    } catch (IOException e) {
      throw new UncheckedIOException("writing checkpoint " + dir, e);
    }
  }

  /** Reads train-state.json of a checkpoint. */
  public static State readState(Path dir) {
    try {
      return GSON.fromJson(
          Files.readString(dir.resolve(STATE), StandardCharsets.UTF_8), State.class);
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + dir.resolve(STATE), e);
    }
  }

  /**
   * The weights of a running stage's checkpoint as a model (no optimizer), e.g. to evaluate a run
   * before it ends. The caller closes it.
   */
  public static InfiniModel loadModel(Path dir) {
    ModelConfig config = readState(dir).config().model();
    NDManager base = NDManager.newBaseManager();
    try {
      return InfiniModel.owning(weights(dir, config, base));
    } catch (IOException e) {
      base.close();
      throw new UncheckedIOException("reading checkpoint " + dir, e);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  /**
   * The checkpoint's weights under {@code config}, as fresh, separately allocated copies: decoded
   * tensors may sit at arbitrary offsets of one buffer, and BLAS kernels round differently on
   * differently aligned data, which would make a resumed run drift (by float rounding) from an
   * uninterrupted one.
   */
  private static Weights weights(Path dir, ModelConfig config, NDManager base) throws IOException {
    NDList named;
    try (InputStream in = Files.newInputStream(dir.resolve(WEIGHTS))) {
      named = NDList.decode(base, in);
    }
    NDList copies = new NDList();
    for (ai.djl.ndarray.NDArray a : named) {
      ai.djl.ndarray.NDArray c = base.create(a.toFloatArray(), a.getShape());
      c.setName(a.getName());
      copies.add(c);
      a.close();
    }
    return Weights.fromNamed(config, copies);
  }

  /** A checkpoint folder of a running stage ({@link #save}), as opposed to a model folder. */
  public static boolean isTrainingCheckpoint(Path dir) {
    return Files.exists(dir.resolve(STATE)) && Files.exists(dir.resolve(WEIGHTS));
  }

  /** A trainer continuing exactly where the checkpoint in {@code dir} stopped. */
  public static Trainer resume(Path dir, TaskMix mix) {
    return resume(dir, mix, readState(dir).config());
  }

  /** As {@link #resume(Path, TaskMix)}, continuing under {@code config} (e.g. a new step total). */
  public static Trainer resume(Path dir, TaskMix mix, TrainConfig config) {
    State state = readState(dir);
    NDManager base = NDManager.newBaseManager();
    try {
      if (!config.model().equals(state.config().model())) {
        throw new IllegalArgumentException(
            "cannot resume " + state.config().model() + " as " + config.model());
      }
      Weights weights = weights(dir, config.model(), base);
      Trainer trainer = new Trainer(config, mix, base, weights, state.step());
      try (NDManager tmp = base.newSubManager();
          InputStream in = Files.newInputStream(dir.resolve(OPTIMIZER))) {
        trainer
            .optimizer()
            .restore(NDList.decode(tmp, in), trainer.names(), state.optimizerSteps());
      }
      if (Trainer.warmLengths(config).length > 0 && Files.exists(dir.resolve(WARM_STATES))) {
        try (NDManager tmp = base.newSubManager();
            InputStream in = Files.newInputStream(dir.resolve(WARM_STATES))) {
          trainer.restoreWarmStates(NDList.decode(tmp, in));
        }
      }
      return trainer;
    } catch (IOException e) {
      base.close();
      throw new UncheckedIOException("reading checkpoint " + dir, e);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
