package io.infinistreams.model;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A checkpoint directory: {@code model.safetensors} (one named fp32 tensor per parameter, names and
 * layouts as {@link Weights#shapes}) and {@code manifest.json} (format, config, how it was made,
 * creation time, parameter count, tensor list, SHA-256 fingerprint of config and weights as {@link
 * Weights#fingerprint} defines it). docs/model.md documents both files.
 */
public final class Checkpoint {
  public static final String WEIGHTS_FILE = "model.safetensors";
  public static final String MANIFEST_FILE = "manifest.json";
  public static final String FORMAT = "infini-streams-checkpoint/1";

  private static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /**
   * A loaded checkpoint.
   *
   * @param weights the weights, owned by the manager given to {@code load}
   * @param manifest the manifest as written
   */
  public record Loaded(Weights weights, JsonObject manifest) {
    public ModelConfig config() {
      return weights.config();
    }
  }

  private Checkpoint() {}

  /** Writes the weights and their manifest into {@code dir} (created if absent). */
  public static void save(Weights weights, Path dir, String howMade) {
    try {
      Files.createDirectories(dir);
      try (OutputStream out = Files.newOutputStream(dir.resolve(WEIGHTS_FILE))) {
        weights.toNamedList().encode(out, NDList.Encoding.SAFETENSORS);
      }
      Files.writeString(
          dir.resolve(MANIFEST_FILE),
          GSON.toJson(manifest(weights, howMade)),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint to " + dir, e);
    }
  }

  /** Loads a checkpoint directory; the weights' arrays belong to {@code manager}. */
  public static Loaded load(Path dir, NDManager manager) {
    try (InputStream manifest = Files.newInputStream(dir.resolve(MANIFEST_FILE));
        InputStream weights = Files.newInputStream(dir.resolve(WEIGHTS_FILE))) {
      return read(manifest, weights, manager, dir.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint " + dir, e);
    }
  }

  /**
   * Loads a checkpoint from the classpath folder {@code resourceDir} (e.g. {@code
   * /io/infinistreams/model/default/}), or returns null if it holds no manifest.
   */
  public static Loaded loadResource(String resourceDir, NDManager manager) {
    String prefix = resourceDir.endsWith("/") ? resourceDir : resourceDir + "/";
    InputStream manifest = Checkpoint.class.getResourceAsStream(prefix + MANIFEST_FILE);
    if (manifest == null) {
      return null;
    }
    try (manifest;
        InputStream weights =
            Objects.requireNonNull(
                Checkpoint.class.getResourceAsStream(prefix + WEIGHTS_FILE),
                "resource " + prefix + WEIGHTS_FILE)) {
      return read(manifest, weights, manager, "classpath:" + prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint classpath:" + prefix, e);
    }
  }

  private static Loaded read(
      InputStream manifestIn, InputStream weightsIn, NDManager manager, String where)
      throws IOException {
    JsonObject manifest =
        JsonParser.parseString(new String(manifestIn.readAllBytes(), StandardCharsets.UTF_8))
            .getAsJsonObject();
    if (!FORMAT.equals(manifest.get("format").getAsString())) {
      throw new IllegalArgumentException(
          where + ": unknown checkpoint format " + manifest.get("format"));
    }
    ModelConfig config = configFromJson(manifest.getAsJsonObject("config"));
    NDList named = NDList.decode(manager, new BufferedInputStream(weightsIn));
    Weights weights = Weights.fromNamed(config, named);
    String expected = manifest.get("fingerprint").getAsString();
    String actual = weights.fingerprint();
    if (!expected.equals(actual)) {
      throw new IllegalArgumentException(
          where + ": weights fingerprint " + actual + " does not match the manifest's " + expected);
    }
    return new Loaded(weights, manifest);
  }

  /** The manifest of {@code weights}. */
  public static JsonObject manifest(Weights weights, String howMade) {
    JsonObject m = new JsonObject();
    m.addProperty("format", FORMAT);
    m.addProperty("fingerprint", weights.fingerprint());
    m.addProperty("fingerprintAlgorithm", Weights.FINGERPRINT_ALGORITHM);
    m.add("config", configToJson(weights.config()));
    m.addProperty("howMade", howMade);
    m.addProperty("created", Instant.now().toString());
    m.addProperty("parameters", weights.parameterCount());
    JsonArray tensors = new JsonArray();
    for (Map.Entry<String, Shape> e : Weights.shapes(weights.config()).entrySet()) {
      JsonObject t = new JsonObject();
      t.addProperty("name", e.getKey());
      t.addProperty("dtype", "F32");
      JsonArray shape = new JsonArray();
      for (long d : e.getValue().getShape()) {
        shape.add(d);
      }
      t.add("shape", shape);
      tensors.add(t);
    }
    m.add("tensors", tensors);
    return m;
  }

  public static JsonObject configToJson(ModelConfig c) {
    JsonObject o = new JsonObject();
    o.addProperty("vocabSize", c.vocabSize());
    o.addProperty("dModel", c.dModel());
    o.addProperty("layers", c.layers());
    o.addProperty("heads", c.heads());
    o.addProperty("dKey", c.dKey());
    o.addProperty("dValue", c.dValue());
    o.addProperty("ffnHidden", c.ffnHidden());
    o.addProperty("segmentLength", c.segmentLength());
    o.addProperty("updateRule", c.updateRule().name());
    o.addProperty("memoryRead", c.memoryRead().name());
    o.addProperty("ropeBase", c.ropeBase());
    o.addProperty("overlap", c.overlap());
    if (c.shortConv() != 0) {
      o.addProperty("shortConv", c.shortConv()); // absent means 0 (older manifests)
    }
    if (c.featureMap() != FeatureMap.ELU_PLUS_ONE) {
      o.addProperty("featureMap", c.featureMap().name()); // absent means ELU_PLUS_ONE
    }
    if (c.writeTopK() != 0) {
      o.addProperty("writeTopK", c.writeTopK()); // absent means 0: every token writes
    }
    if (c.writeGate() != WriteGate.LOGISTIC) {
      o.addProperty("writeGate", c.writeGate().name()); // absent means LOGISTIC
    }
    if (c.readEps() != ModelConfig.DEFAULT_READ_EPS) {
      o.addProperty("readEps", c.readEps()); // absent means DEFAULT_READ_EPS
    }
    return o;
  }

  /** The configuration fields a manifest must hold, as {@link #configToJson} writes them. */
  private static final Set<String> CONFIG_KEYS =
      Set.of(
          "vocabSize",
          "dModel",
          "layers",
          "heads",
          "dKey",
          "dValue",
          "ffnHidden",
          "segmentLength",
          "updateRule",
          "memoryRead",
          "ropeBase",
          "overlap");

  /**
   * Configuration fields a manifest may leave out (older manifests): shortConv means 0 when absent,
   * featureMap ELU_PLUS_ONE, writeTopK 0, writeGate LOGISTIC, readEps {@link
   * ModelConfig#DEFAULT_READ_EPS}.
   */
  private static final Set<String> OPTIONAL_CONFIG_KEYS =
      Set.of("shortConv", "featureMap", "writeTopK", "writeGate", "readEps");

  /**
   * The configuration of a manifest. Every field is required (but {@link #OPTIONAL_CONFIG_KEYS})
   * and no other is allowed: a checkpoint made with a variant this version does not implement is
   * refused, never run as something else.
   */
  public static ModelConfig configFromJson(JsonObject o) {
    Set<String> keys = new TreeSet<>(o.keySet());
    keys.removeAll(OPTIONAL_CONFIG_KEYS);
    if (!keys.equals(new TreeSet<>(CONFIG_KEYS))) {
      Set<String> extra = new TreeSet<>(keys);
      extra.removeAll(CONFIG_KEYS);
      Set<String> missing = new TreeSet<>(CONFIG_KEYS);
      missing.removeAll(keys);
      throw new IllegalArgumentException(
          "checkpoint config does not fit this version: missing " + missing + ", unknown " + extra);
    }
    return new ModelConfig(
        o.get("vocabSize").getAsInt(),
        o.get("dModel").getAsInt(),
        o.get("layers").getAsInt(),
        o.get("heads").getAsInt(),
        o.get("dKey").getAsInt(),
        o.get("dValue").getAsInt(),
        o.get("ffnHidden").getAsInt(),
        o.get("segmentLength").getAsInt(),
        UpdateRule.valueOf(o.get("updateRule").getAsString()),
        MemoryRead.valueOf(o.get("memoryRead").getAsString()),
        o.get("ropeBase").getAsFloat(),
        o.get("overlap").getAsInt(),
        o.has("shortConv") ? o.get("shortConv").getAsInt() : 0,
        o.has("featureMap")
            ? FeatureMap.valueOf(o.get("featureMap").getAsString())
            : FeatureMap.ELU_PLUS_ONE,
        o.has("writeTopK") ? o.get("writeTopK").getAsInt() : 0,
        o.has("writeGate")
            ? WriteGate.valueOf(o.get("writeGate").getAsString())
            : WriteGate.LOGISTIC,
        o.has("readEps") ? o.get("readEps").getAsFloat() : ModelConfig.DEFAULT_READ_EPS);
  }
}
