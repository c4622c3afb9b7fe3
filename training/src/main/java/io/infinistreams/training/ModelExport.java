package io.infinistreams.training;

import ai.djl.engine.Engine;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.tasks.TextCorpus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a trained model as a shippable checkpoint ({@link Checkpoint#save}: model.safetensors and
 * manifest.json with config and fingerprint), adding to the manifest a {@code training} object:
 * command, seed, steps, wall time, the machine, data mix, corpus and its licence, the whole
 * configuration, and the last logged numbers (losses, accuracies, sigmoid(beta) per head).
 */
public final class ModelExport {
  private ModelExport() {}

  public static void write(
      Trainer t, Path dir, double wallSec, String command, List<RunLog.Point> curve) {
    TrainConfig c = t.config();
    boolean kjv = "kjv".equals(c.corpus());
    String howMade =
        "train command of io.infinistreams.training.TrainCommand: "
            + command
            + " (seed "
            + c.seed()
            + ", "
            + t.stepsDone()
            + " steps, "
            + Math.round(wallSec)
            + " s)";
    Checkpoint.save(t.weights(), dir, howMade);
    JsonObject training = new JsonObject();
    training.addProperty("command", command);
    training.addProperty("seed", c.seed());
    training.addProperty("steps", t.stepsDone());
    training.addProperty("wallSeconds", Math.round(wallSec));
    training.addProperty("machine", machine());
    training.addProperty("mix", c.mix());
    training.addProperty(
        "memory",
        c.noMemory()
            ? "off: the memoryless twin, every output gate fixed at the local branch (sigmoid 0)"
            : "on");
    training.addProperty("corpus", kjv ? TextCorpus.KJV_NAME : c.corpus());
    training.addProperty(
        "corpusPackage", kjv ? "Debian bible-kjv-text, read with bible-kjv" : "none");
    training.addProperty(
        "corpusLicence",
        kjv
            ? "KJV text: public domain (copyright expired); the Debian package's terms are in its"
                + " copyright file"
            : "n/a");
    training.addProperty("heldOutFraction", TaskMixes.HELD_OUT);
    training.add("config", TrainCheckpoint.GSON.toJsonTree(c));
    if (!curve.isEmpty()) {
      training.add("final", TrainCheckpoint.GSON.toJsonTree(curve.get(curve.size() - 1)));
    }
    addToManifest(dir, "training", training);
  }

  /**
   * What the exporting process ran on: processors, architecture, JVM heap, libtorch threads and
   * engine version. The tokens/s of every logged window are in the curve.
   */
  static String machine() {
    Runtime rt = Runtime.getRuntime();
    String engine;
    try {
      Engine e = Engine.getInstance();
      engine = e.getEngineName() + " " + e.getVersion();
    } catch (RuntimeException e) {
      engine = "engine unknown";
    }
    return rt.availableProcessors()
        + " processors, "
        + System.getProperty("os.arch")
        + ", "
        + System.getProperty("os.name")
        + ", JVM heap up to "
        + rt.maxMemory() / (1 << 20)
        + " MiB; libtorch threads: "
        + System.getProperty("ai.djl.pytorch.num_threads", "default")
        + " (OMP_NUM_THREADS="
        + System.getenv("OMP_NUM_THREADS")
        + "); "
        + engine;
  }

  /** Copies the model directory {@code from} (weights and manifest) to {@code to}. */
  static void copy(Path from, Path to) {
    try {
      Files.createDirectories(to);
      for (String name : List.of(Checkpoint.WEIGHTS_FILE, Checkpoint.MANIFEST_FILE)) {
        Files.copy(
            from.resolve(name),
            to.resolve(name),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("copying " + from + " to " + to, e);
    }
  }

  /** Adds {@code key: value} to the manifest of the model directory {@code dir}. */
  static void addToManifest(Path dir, String key, JsonElement value) {
    Path file = dir.resolve(Checkpoint.MANIFEST_FILE);
    try {
      JsonObject manifest =
          TrainCheckpoint.GSON.fromJson(
              Files.readString(file, StandardCharsets.UTF_8), JsonObject.class);
      manifest.add(key, value);
      Files.writeString(
          file, TrainCheckpoint.GSON.toJson((JsonElement) manifest), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("writing manifest in " + dir, e);
    }
  }
}
