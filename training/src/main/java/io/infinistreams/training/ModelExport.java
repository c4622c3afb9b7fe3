package io.infinistreams.model.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.data.TextCorpus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a trained model as a shippable checkpoint ({@link Checkpoint#save}: model.safetensors
 * and manifest.json with config and fingerprint), adding to the manifest a {@code training}
 * object: command, seed, steps, wall time, data mix, corpus and its licence, the final logged
 * numbers and gate values.
 */
public final class ModelExport {
  private ModelExport() {}

  public static void write(Trainer t, Path dir, double wallSec, String command,
      List<RunLog.Point> curve) {
    TrainConfig c = t.config();
    boolean kjv = "kjv".equals(c.corpus());
    String howMade = "train command of io.infinistreams.model.train.TrainCommand: " + command
        + " (seed " + c.seed() + ", " + t.stepsDone() + " steps, " + Math.round(wallSec) + " s)";
    Checkpoint.save(t.weights(), dir, howMade);
    JsonObject training = new JsonObject();
    training.addProperty("command", command);
    training.addProperty("seed", c.seed());
    training.addProperty("steps", t.stepsDone());
    training.addProperty("wallSeconds", Math.round(wallSec));
    training.addProperty("machine",
        "2-core x86_64 VM (24 GiB); the exporting process ran "
            + System.getProperty("ai.djl.pytorch.num_threads", "the default number of")
            + " libtorch thread(s) (OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS")
            + "); other jobs may share the machine; DJL 0.36.0, libtorch 2.7.1 CPU; tokens/s per"
            + " step in the log");
    training.addProperty("mix", c.mix());
    training.addProperty("memory", c.noMemory()
        ? "off: trained with the gate forced local; serve and evaluate with LOCAL_ONLY" : "on");
    training.addProperty("corpus", kjv ? TextCorpus.KJV_NAME : c.corpus());
    training.addProperty("corpusPackage", kjv ? "bible-kjv-text 4.38 (Debian 12), read with bible-kjv 4.38" : "none");
    training.addProperty("corpusLicence", kjv
        ? "KJV text: public domain (copyright expired); Debian package: see /usr/share/doc/bible-kjv-text/copyright"
        : "n/a");
    training.addProperty("heldOutFraction", TaskMixes.HELD_OUT);
    training.add("config", TrainCheckpoint.GSON.toJsonTree(c));
    if (!curve.isEmpty()) {
      training.add("final", TrainCheckpoint.GSON.toJsonTree(curve.get(curve.size() - 1)));
    }
    addToManifest(dir, "training", training);
  }

  /** Adds {@code key: value} to the manifest of the model directory {@code dir}. */
  static void addToManifest(Path dir, String key, JsonElement value) {
    Path file = dir.resolve(Checkpoint.MANIFEST_FILE);
    try {
      JsonObject manifest = TrainCheckpoint.GSON.fromJson(
          Files.readString(file, StandardCharsets.UTF_8), JsonObject.class);
      manifest.add(key, value);
      Files.writeString(file, TrainCheckpoint.GSON.toJson((JsonElement) manifest),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("writing manifest in " + dir, e);
    }
  }
}
