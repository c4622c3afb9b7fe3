package io.infinistreams.training;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.infinistreams.model.FeatureMap;
import io.infinistreams.model.MemoryRead;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.WriteGate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A training recipe: the model's shape and a sequence of stages, each a {@link TrainConfig} that
 * starts from the weights the stage before it ended with. One JSON file makes a model from nothing,
 * reproducibly: {@code bin/infini-train recipe FILE --seed N --out DIR}.
 *
 * <pre>{@code
 * {
 *   "description": "what the recipe is for",
 *   "model": {"dModel": 128, "layers": 2, ...},   // ModelConfig fields; missing ones: defaults()
 *   "stages": [
 *     {"name": "text", "steps": 2000, "mix": "prose=1", "corpus": "prose", ...},
 *     {"name": "memory", "steps": 3000, "mix": "prose=0.4,needle=0.3,...", ...}
 *   ]
 * }
 * }</pre>
 *
 * <p>A stage's keys are {@link #STAGE_KEYS}; every one but {@code name}, {@code steps} and {@code
 * mix} has a default ({@link #stageConfig}). Unknown keys are an error, so a typo cannot silently
 * train something else. An optional top-level {@code "finalEdit": {"writeScale": S,
 * "writeThreshold": X}} makes the recipe's model the last stage's with every write logit x replaced
 * by S (x - X), without training after it ({@link #finalEdit}).
 *
 * @param description what the recipe is for
 * @param model the architecture every stage trains
 * @param stages the stages in order
 * @param sha256 SHA-256 (hex) of the file's bytes, recorded in every manifest it makes
 * @param finalEdit the write-logit edit of the last stage's model that makes the recipe's model, if
 *     any
 */
public record Recipe(
    String description,
    ModelConfig model,
    List<Stage> stages,
    String sha256,
    Optional<WriteEdit> finalEdit) {

  /**
   * A write-logit edit: every head's write logit x becomes {@code scale} (x - {@code threshold})
   * ({@link io.infinistreams.model.Weights#withWriteLogits}).
   */
  public record WriteEdit(float scale, float threshold) {

    /** A threshold of -0 is 0 (the same edit, and equal to it). */
    public WriteEdit {
      threshold += 0f;
    }

    /** The edit that changes nothing: S 1, X 0. */
    public static final WriteEdit IDENTITY = new WriteEdit(1f, 0f);

    /**
     * The edit {@code o}'s {@code writeScale} and {@code writeThreshold} give (a missing one: 1,
     * 0).
     */
    static WriteEdit of(JsonObject o) {
      return new WriteEdit(floatOr(o, "writeScale", 1f), floatOr(o, "writeThreshold", 0f));
    }

    /** Whether this edit changes nothing. */
    public boolean isIdentity() {
      return scale == 1f && threshold == 0f;
    }

    /** {@code {"writeScale": S, "writeThreshold": X}}. */
    public JsonObject json() {
      JsonObject o = new JsonObject();
      o.addProperty("writeScale", scale);
      o.addProperty("writeThreshold", threshold);
      return o;
    }

    /** "S (x - X)". */
    @Override
    public String toString() {
      return scale + " (x - " + threshold + ")";
    }
  }

  /** Every key a stage may set. */
  public static final Set<String> STAGE_KEYS =
      Set.of(
          "name",
          "steps",
          "batch",
          "minSegments",
          "maxSegments",
          "segmentSampling",
          "lr",
          "gateLrScale",
          "minLrFraction",
          "warmup",
          "weightDecay",
          "clip",
          "mix",
          "localFraction",
          "answerWeight",
          "corpus",
          "warmSegments",
          "warmFiller",
          "warmProse",
          "recompute",
          "writePenalty",
          "writePenaltyKnee",
          "writeTopK",
          "writeGate",
          "readEps",
          "writeScale",
          "writeThreshold",
          "noMemory");

  private static final Set<String> MODEL_KEYS =
      Set.of(
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
          "overlap",
          "shortConv",
          "featureMap",
          "writeTopK",
          "writeGate",
          "readEps");

  /**
   * One stage.
   *
   * @param name a short name; the stage's folder is {@code stage-<i>-<name>}
   * @param settings the stage's JSON object, as written
   */
  public record Stage(String name, JsonObject settings) {}

  /** Reads and checks a recipe file. */
  public static Recipe read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    JsonObject o;
    try {
      o = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(file + ": not a JSON object: " + e.getMessage());
    }
    checkKeys(file + "", o, Set.of("description", "model", "stages", "finalEdit"));
    ModelConfig model = model(o.has("model") ? object(o, "model") : new JsonObject());
    List<Stage> stages = new ArrayList<>();
    if (!o.has("stages") || o.getAsJsonArray("stages").isEmpty()) {
      throw new IllegalArgumentException(file + ": needs at least one stage");
    }
    Set<String> names = new TreeSet<>();
    for (JsonElement e : o.getAsJsonArray("stages")) {
      JsonObject s = e.getAsJsonObject();
      checkKeys("stage " + s.get("name"), s, STAGE_KEYS);
      for (String required : List.of("name", "steps", "mix")) {
        if (!s.has(required)) {
          throw new IllegalArgumentException("stage " + s.get("name") + " lacks " + required);
        }
      }
      String name = s.get("name").getAsString();
      if (!name.matches("[a-z0-9-]+") || !names.add(name)) {
        throw new IllegalArgumentException(
            "stage names must be unique, lower case, digits and '-': " + name);
      }
      stages.add(new Stage(name, s));
    }
    Optional<WriteEdit> finalEdit = Optional.empty();
    if (o.has("finalEdit")) {
      JsonObject e = object(o, "finalEdit");
      checkKeys("finalEdit", e, Set.of("writeScale", "writeThreshold"));
      WriteEdit edit = checkEdit("finalEdit", model, WriteEdit.of(e));
      if (edit.isIdentity()) {
        throw new IllegalArgumentException(
            "finalEdit with writeScale 1 and writeThreshold 0 changes nothing: leave it out");
      }
      finalEdit = Optional.of(edit);
    }
    Recipe r =
        new Recipe(
            o.has("description") ? o.get("description").getAsString() : "",
            model,
            List.copyOf(stages),
            sha256(bytes),
            finalEdit);
    for (int i = 0; i < stages.size(); i++) {
      r.stageConfig(i, 1); // every stage must make a valid TrainConfig
      JsonObject s = stages.get(i).settings();
      if (s.has("writeScale") || s.has("writeThreshold")) {
        String what = "stage " + stages.get(i).name() + "'s write-logit edit";
        if (i == 0) {
          throw new IllegalArgumentException(
              what
                  + " (writeScale, writeThreshold) applies to the previous stage's weights; a"
                  + " first stage has none");
        }
        checkEdit(what, model, r.stageEdit(i));
      }
    }
    return r;
  }

  /** {@code edit}, if the model has a write gate and the edit is finite with a positive scale. */
  private static WriteEdit checkEdit(String what, ModelConfig model, WriteEdit edit) {
    if (model.updateRule() != UpdateRule.GATED) {
      throw new IllegalArgumentException(what + " needs the GATED update rule");
    }
    if (!(Float.isFinite(edit.scale()) && edit.scale() > 0) || !Float.isFinite(edit.threshold())) {
      throw new IllegalArgumentException(
          what
              + ": writeScale and writeThreshold must be finite and the scale > 0, got "
              + edit.scale()
              + ", "
              + edit.threshold());
    }
    return edit;
  }

  /**
   * Stage {@code i}'s write-logit edit, from its {@code writeScale} S (default 1) and {@code
   * writeThreshold} X (default 0): the stage starts from the previous stage's weights with each
   * head's write logit x replaced by S (x - X) ({@link
   * io.infinistreams.model.Weights#withWriteLogits}): a threshold above 0 silences the writes whose
   * logit was below it, a scale above 1 makes the remaining ones firmer. Training then goes on from
   * the edited weights. {@link WriteEdit#IDENTITY} for a stage without them.
   */
  public WriteEdit stageEdit(int i) {
    return WriteEdit.of(stages.get(i).settings());
  }

  /** Whether stage {@code i} edits the write logits of the weights it starts from. */
  public boolean editsWriteLogits(int i) {
    return !stageEdit(i).isIdentity();
  }

  /**
   * The training configuration of stage {@code i} for a run of seed {@code seed}: the data seed of
   * stage i is {@code 1000 * seed + i}, so stages of one run and runs of other seeds never share a
   * batch. A stage's {@code writeTopK}, {@code writeGate} and {@code readEps} set {@link
   * ModelConfig#writeTopK}, {@link ModelConfig#writeGate} and {@link ModelConfig#readEps} for that
   * stage (the weights are the same either way), e.g. every token writes while the model learns to
   * use its memory, then only the chosen ones.
   */
  public TrainConfig stageConfig(int i, long seed) {
    JsonObject s = stages.get(i).settings();
    long steps = s.get("steps").getAsLong();
    return new TrainConfig(
        model
            .withWriteTopK(intOr(s, "writeTopK", model.writeTopK()))
            .withWriteGate(
                s.has("writeGate")
                    ? WriteGate.valueOf(s.get("writeGate").getAsString())
                    : model.writeGate())
            .withReadEps(floatOr(s, "readEps", model.readEps())),
        1000 * seed + i,
        steps,
        intOr(s, "batch", 8),
        intOr(s, "minSegments", 2),
        intOr(s, "maxSegments", 4),
        floatOr(s, "lr", 1e-3f),
        floatOr(s, "gateLrScale", 10f),
        floatOr(s, "minLrFraction", 0.1f),
        intOr(s, "warmup", (int) Math.min(100, steps)),
        floatOr(s, "weightDecay", 0.1f),
        floatOr(s, "clip", 1f),
        0.9f,
        0.95f,
        s.get("mix").getAsString(),
        s.has("localFraction") ? s.get("localFraction").getAsDouble() : 0.2,
        floatOr(s, "answerWeight", 5f),
        s.has("corpus") ? s.get("corpus").getAsString() : "prose",
        s.has("noMemory") && s.get("noMemory").getAsBoolean(),
        intOr(s, "warmSegments", 0),
        intOr(s, "warmFiller", 0),
        intOr(s, "warmProse", 0),
        s.has("recompute") && s.get("recompute").getAsBoolean(),
        floatOr(s, "writePenalty", 0f),
        floatOr(s, "writePenaltyKnee", 0f),
        s.has("segmentSampling")
            ? TrainConfig.SegmentSampling.valueOf(s.get("segmentSampling").getAsString())
            : TrainConfig.SegmentSampling.UNIFORM);
  }

  /** The folder of stage {@code i} under a run's output folder. */
  public Path stageDir(Path out, int i) {
    return out.resolve("stage-" + (i + 1) + "-" + stages.get(i).name());
  }

  private static ModelConfig model(JsonObject m) {
    checkKeys("model", m, MODEL_KEYS);
    ModelConfig d = ModelConfig.defaults();
    int dKey = intOr(m, "dKey", d.dKey());
    int n = intOr(m, "segmentLength", d.segmentLength());
    return new ModelConfig(
        d.vocabSize(),
        intOr(m, "dModel", d.dModel()),
        intOr(m, "layers", d.layers()),
        intOr(m, "heads", d.heads()),
        dKey,
        intOr(m, "dValue", dKey),
        intOr(m, "ffnHidden", d.ffnHidden()),
        n,
        m.has("updateRule")
            ? UpdateRule.valueOf(m.get("updateRule").getAsString())
            : d.updateRule(),
        m.has("memoryRead")
            ? MemoryRead.valueOf(m.get("memoryRead").getAsString())
            : d.memoryRead(),
        floatOr(m, "ropeBase", d.ropeBase()),
        intOr(m, "overlap", Math.min(d.overlap(), n)),
        intOr(m, "shortConv", 0),
        m.has("featureMap")
            ? FeatureMap.valueOf(m.get("featureMap").getAsString())
            : FeatureMap.ELU_PLUS_ONE,
        intOr(m, "writeTopK", 0),
        m.has("writeGate")
            ? WriteGate.valueOf(m.get("writeGate").getAsString())
            : WriteGate.LOGISTIC,
        floatOr(m, "readEps", ModelConfig.DEFAULT_READ_EPS));
  }

  /** The JSON object {@code o.key}, or a clear error if it is something else. */
  private static JsonObject object(JsonObject o, String key) {
    if (!o.get(key).isJsonObject()) {
      throw new IllegalArgumentException(key + " must be a JSON object, got " + o.get(key));
    }
    return o.getAsJsonObject(key);
  }

  private static void checkKeys(String what, JsonObject o, Set<String> allowed) {
    Set<String> unknown = new TreeSet<>(o.keySet());
    unknown.removeAll(allowed);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(
          what + ": unknown keys " + unknown + "; allowed: " + new TreeSet<>(allowed));
    }
  }

  private static int intOr(JsonObject o, String key, int fallback) {
    return o.has(key) ? o.get(key).getAsInt() : fallback;
  }

  private static float floatOr(JsonObject o, String key, float fallback) {
    return o.has(key) ? o.get(key).getAsFloat() : fallback;
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
