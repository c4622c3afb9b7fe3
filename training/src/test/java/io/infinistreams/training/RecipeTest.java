package io.infinistreams.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.FeatureMap;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.WriteGate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Recipes: strict parsing, stages chained from each other's weights, resumable by re-running. */
class RecipeTest {

  private static final String TINY =
      """
      {
        "description": "two tiny stages",
        "model": {"dModel": 32, "layers": 2, "heads": 2, "dKey": 8, "ffnHidden": 64,
                  "segmentLength": 64, "overlap": 4},
        "stages": [
          {"name": "text", "steps": 3, "batch": 1, "minSegments": 2, "maxSegments": 2,
           "warmup": 1, "mix": "text=1", "corpus": "synthetic"},
          {"name": "keys", "steps": 2, "batch": 1, "minSegments": 4, "maxSegments": 4,
           "warmup": 1, "mix": "passkey=1", "corpus": "synthetic", "lr": 5e-4,
           "writeTopK": 16, "writeGate": "SPARSE", "readEps": 0.01}
        ]
      }
      """;

  @Test
  void stagesReadWithDefaultsAndDistinctDataSeeds(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("r.json");
    Files.writeString(file, TINY);
    Recipe r = Recipe.read(file);
    assertEquals(2, r.stages().size());
    assertEquals(32, r.model().dModel());
    assertEquals(UpdateRule.GATED, r.model().updateRule());
    assertEquals(FeatureMap.ELU_PLUS_ONE, r.model().featureMap(), "the default feature map");
    Files.writeString(
        file, TINY.replace("\"overlap\": 4}", "\"overlap\": 4, \"featureMap\": \"IDENTITY\"}"));
    assertEquals(FeatureMap.IDENTITY, Recipe.read(file).model().featureMap());
    Files.writeString(file, TINY.replace("\"overlap\": 4}", "\"overlap\": 4, \"readEps\": 0.5}"));
    assertEquals(0.5f, Recipe.read(file).model().readEps());
    Files.writeString(file, TINY);
    TrainConfig first = r.stageConfig(0, 7);
    TrainConfig second = r.stageConfig(1, 7);
    assertEquals(3, first.steps());
    assertEquals(5e-4f, second.lr());
    assertEquals(1e-3f, first.lr(), "the default learning rate");
    assertEquals(0, first.model().writeTopK(), "every token writes unless a stage says");
    assertEquals(
        r.model().withWriteTopK(16).withWriteGate(WriteGate.SPARSE).withReadEps(0.01f),
        second.model(),
        "the second stage: 16 tokens, the sparse gate, a read eps of 0.01");
    assertEquals(WriteGate.LOGISTIC, first.model().writeGate());
    assertEquals(ModelConfig.DEFAULT_READ_EPS, first.model().readEps());
    assertNotEquals(first.seed(), second.seed());
    assertNotEquals(first.seed(), r.stageConfig(0, 8).seed());
    assertEquals(64, r.sha256().length());
    assertEquals(0f, second.writePenalty(), "no penalty unless a stage says");
    assertEquals(0f, second.writePenaltyKnee(), "linear unless a stage says");
    Files.writeString(
        file,
        TINY.replace(
            "\"writeTopK\": 16,",
            "\"writeTopK\": 16, \"writePenalty\": 1, \"writePenaltyKnee\": 0.05,"));
    TrainConfig knee = Recipe.read(file).stageConfig(1, 7);
    assertEquals(1f, knee.writePenalty());
    assertEquals(0.05f, knee.writePenaltyKnee());
  }

  /**
   * The recipes in training/recipes read, with tasks the trainer knows and a model it can build.
   */
  @Test
  void theCommittedRecipesReadAndNameKnownTasks() throws Exception {
    List<Path> recipes;
    try (Stream<Path> files = Files.list(Path.of("recipes"))) {
      recipes = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
    assertFalse(recipes.isEmpty(), "no recipe in training/recipes");
    for (Path file : recipes) {
      Recipe r = Recipe.read(file);
      for (int i = 0; i < r.stages().size(); i++) {
        TrainConfig c = r.stageConfig(i, 1);
        for (String task : TaskMixes.taskNames(c.mix())) {
          assertTrue(TaskMixes.TASK_NAMES.contains(task), file + " stage " + i + ": " + task);
        }
        assertTrue(c.minSegments() <= c.maxSegments(), file + " stage " + i);
      }
    }
    Recipe prose = Recipe.read(Path.of("recipes", "prose.json"));
    assertEquals(4, prose.model().shortConv(), "the prose recipe's model has the convolution");
  }

  @Test
  void unknownKeysAndMissingFieldsAreRefused(@TempDir Path dir) throws Exception {
    Path typo = dir.resolve("typo.json");
    Files.writeString(typo, TINY.replace("\"minSegments\": 2", "\"minSegment\": 2"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Recipe.read(typo));
    assertTrue(e.getMessage().contains("minSegment"), e.getMessage());
    Path noMix = dir.resolve("nomix.json");
    Files.writeString(noMix, TINY.replace("\"mix\": \"text=1\", ", ""));
    e = assertThrows(IllegalArgumentException.class, () -> Recipe.read(noMix));
    assertTrue(e.getMessage().contains("mix"), e.getMessage());
    Path badModel = dir.resolve("badmodel.json");
    Files.writeString(badModel, TINY.replace("\"overlap\": 4", "\"overlap\": 4, \"heads \": 2"));
    assertThrows(IllegalArgumentException.class, () -> Recipe.read(badModel));
  }

  /**
   * The whole recipe runs stage after stage; the second stage starts from the first one's weights;
   * running the same command again changes nothing; a stopped run continues.
   */
  @Test
  void aRecipeRunsItsStagesAndResumesByRunningAgain(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("r.json");
    Files.writeString(file, TINY);
    Path out = dir.resolve("run");
    String[] args = {file.toString(), "--out", out.toString(), "--seed", "3", "--log-every", "1"};
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args));
    Path fin = out.resolve("final");
    assertTrue(Files.exists(fin.resolve(Checkpoint.MANIFEST_FILE)));
    String fingerprint;
    try (InfiniModel m = InfiniModel.load(fin);
        InfiniModel first = InfiniModel.load(out.resolve("stage-1-text").resolve("final"))) {
      fingerprint = m.fingerprint();
      assertNotEquals(first.fingerprint(), fingerprint, "stage 2 trained on");
      assertEquals(32, m.config().dModel());
      assertEquals(0, first.config().writeTopK());
      assertEquals(16, m.config().writeTopK(), "the stage's top-k write is the model's");
      assertEquals(WriteGate.SPARSE, m.config().writeGate(), "and its write gate");
      assertEquals(0.01f, m.config().readEps(), "and its read eps");
    }
    String manifest = Files.readString(fin.resolve(Checkpoint.MANIFEST_FILE));
    assertTrue(manifest.contains("stage 2 of 2: keys"), manifest);
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args));
    try (InfiniModel again = InfiniModel.load(fin)) {
      assertEquals(fingerprint, again.fingerprint());
    }

    // a run stopped after stage 1 continues with stage 2 and makes the same model
    Path split = dir.resolve("split");
    Files.createDirectories(split);
    copyTree(out.resolve("stage-1-text"), split.resolve("stage-1-text"));
    String[] rest = {file.toString(), "--out", split.toString(), "--seed", "3"};
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(rest));
    try (InfiniModel resumed = InfiniModel.load(split.resolve("final"))) {
      assertEquals(fingerprint, resumed.fingerprint());
    }
    assertFalse(Files.exists(split.resolve("stage-3")));

    // a finished stage that the recipe no longer describes is refused, not silently kept
    Files.writeString(file, TINY.replace("\"lr\": 5e-4", "\"lr\": 4e-4"));
    assertEquals(2, new CommandLine(new RecipeCommand()).execute(args));
  }

  /**
   * A stage with writeScale and writeThreshold starts from the previous stage's weights with every
   * write logit x replaced by S (x - X): with a learning rate too small to move a float, the
   * stage's final write weights are exactly the edited ones. The edit is refused in a first stage
   * and for a scale that is not positive.
   */
  @Test
  void aStageCanStartFromEditedWriteLogits(@TempDir Path dir) throws Exception {
    String edited =
        TINY.replace("\"lr\": 5e-4,", "\"lr\": 1e-30, \"writeScale\": 3, \"writeThreshold\": 0.5,");
    assertNotEquals(TINY, edited);
    Path file = dir.resolve("r.json");
    Files.writeString(file, edited);
    Recipe r = Recipe.read(file);
    assertFalse(r.editsWriteLogits(0));
    assertTrue(r.editsWriteLogits(1));
    assertEquals(new Recipe.WriteEdit(3f, 0.5f), r.stageEdit(1));
    assertEquals(Recipe.WriteEdit.IDENTITY, r.stageEdit(0));
    assertEquals(Recipe.WriteEdit.IDENTITY, new Recipe.WriteEdit(1f, -0f)); // -0 is 0
    Path out = dir.resolve("run");
    String[] args = {file.toString(), "--out", out.toString(), "--seed", "3"};
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args));
    assertEditedWriteLogits(
        out.resolve("stage-1-text").resolve("final"), out.resolve("final"), 3f, 0.5f);
    String manifest = Files.readString(out.resolve("final").resolve(Checkpoint.MANIFEST_FILE));
    assertTrue(manifest.contains("write logits x -> 3.0 (x - 0.5)"), manifest);
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args), "the same recipe again");
    // the edit is not part of the stage's TrainConfig; a changed edit is refused all the same
    Files.writeString(file, edited.replace("\"writeScale\": 3", "\"writeScale\": 2"));
    assertEquals(2, new CommandLine(new RecipeCommand()).execute(args));
    Files.writeString(file, edited.replace("\"writeScale\": 3, \"writeThreshold\": 0.5,", ""));
    assertEquals(2, new CommandLine(new RecipeCommand()).execute(args), "nor dropped");

    Path inFirst = dir.resolve("first.json");
    Files.writeString(
        inFirst,
        TINY.replace(
            "\"warmup\": 1, \"mix\": \"text=1\"",
            "\"warmup\": 1, \"writeScale\": 2, \"mix\": \"text=1\""));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Recipe.read(inFirst));
    assertTrue(e.getMessage().contains("first stage"), e.getMessage());
    Path zero = dir.resolve("zero.json");
    Files.writeString(zero, TINY.replace("\"lr\": 5e-4,", "\"lr\": 5e-4, \"writeScale\": 0,"));
    assertThrows(IllegalArgumentException.class, () -> Recipe.read(zero));
  }

  /**
   * A recipe's {@code finalEdit} makes its model from the last stage's with every write logit x
   * replaced by S (x - X), without training: the recipe's final weights are exactly the edited
   * ones, the manifest records the edit and the unedited model's fingerprint, running again gives
   * the same model. An edit with an unknown key or a scale that is not positive is refused.
   */
  @Test
  void aFinalEditMakesTheRecipesModelFromTheLastStages(@TempDir Path dir) throws Exception {
    String edited =
        TINY.replace(
            "\"description\": \"two tiny stages\",",
            "\"description\": \"two tiny stages\","
                + " \"finalEdit\": {\"writeScale\": 3, \"writeThreshold\": 0.5},");
    assertNotEquals(TINY, edited);
    Path file = dir.resolve("r.json");
    Files.writeString(file, edited);
    assertEquals(new Recipe.WriteEdit(3f, 0.5f), Recipe.read(file).finalEdit().orElseThrow());
    assertTrue(Recipe.read(writeTo(dir.resolve("plain.json"), TINY)).finalEdit().isEmpty());
    Path out = dir.resolve("run");
    String[] args = {file.toString(), "--out", out.toString(), "--seed", "3"};
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args));
    Path last = out.resolve("stage-2-keys").resolve("final");
    Path fin = out.resolve("final");
    assertEditedWriteLogits(last, fin, 3f, 0.5f);
    String fingerprint;
    try (InfiniModel unedited = InfiniModel.load(last);
        InfiniModel model = InfiniModel.load(fin)) {
      fingerprint = model.fingerprint();
      assertNotEquals(unedited.fingerprint(), fingerprint);
      com.google.gson.JsonObject manifest =
          com.google.gson.JsonParser.parseString(
                  Files.readString(fin.resolve(Checkpoint.MANIFEST_FILE)))
              .getAsJsonObject();
      com.google.gson.JsonObject record = manifest.getAsJsonObject("finalEdit");
      assertEquals(unedited.fingerprint(), record.get("from").getAsString());
      assertEquals(3f, record.get("writeScale").getAsFloat());
      assertEquals(0.5f, record.get("writeThreshold").getAsFloat());
      assertTrue(manifest.has("training"), "the last stage's training record is kept");
      assertTrue(
          manifest.get("howMade").getAsString().contains("replaced by 3.0 (x - 0.5)"),
          manifest.get("howMade").getAsString());
    }
    String written = Files.readString(fin.resolve(Checkpoint.MANIFEST_FILE));
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args), "the same recipe again");
    assertEquals(
        written,
        Files.readString(fin.resolve(Checkpoint.MANIFEST_FILE)),
        "the same edit of the same model is not written again");
    Files.writeString(file, edited.replace("\"writeScale\": 3", "\"writeScale\": 2"));
    assertEquals(0, new CommandLine(new RecipeCommand()).execute(args), "another final edit");
    assertEditedWriteLogits(last, fin, 2f, 0.5f);
    assertFalse(Files.exists(out.resolve("final.tmp")));

    Path typo = writeTo(dir.resolve("typo.json"), edited.replace("writeScale", "writeScal"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Recipe.read(typo));
    assertTrue(e.getMessage().contains("writeScal"), e.getMessage());
    for (String bad :
        List.of(
            "{\"writeScale\": 0, \"writeThreshold\": 0.5}",
            "{\"writeScale\": 3, \"writeThreshold\": NaN}",
            "{\"writeScale\": 1, \"writeThreshold\": 0}",
            "8")) {
      Path badFile =
          writeTo(
              dir.resolve("bad.json"),
              edited.replace("{\"writeScale\": 3, \"writeThreshold\": 0.5}", bad));
      assertThrows(IllegalArgumentException.class, () -> Recipe.read(badFile), bad);
    }
  }

  /** The model in {@code to} is the one in {@code from} with write logits x -> s (x - t). */
  private static void assertEditedWriteLogits(Path from, Path to, float s, float t) {
    try (InfiniModel first = InfiniModel.load(from);
        InfiniModel second = InfiniModel.load(to)) {
      for (int l = 0; l < first.config().layers(); l++) {
        float[] w1 = first.weights().layers().get(l).write().toFloatArray();
        float[] w2 = second.weights().layers().get(l).write().toFloatArray();
        float[] b1 = first.weights().layers().get(l).writeBias().toFloatArray();
        float[] b2 = second.weights().layers().get(l).writeBias().toFloatArray();
        for (int j = 0; j < w1.length; j++) {
          assertEquals(s * w1[j], w2[j], 1e-6 * Math.abs(s * w1[j]), "write " + l + "/" + j);
        }
        for (int h = 0; h < b1.length; h++) {
          assertEquals(s * (b1[h] - t), b2[h], 1e-6, "bias " + l + "/" + h);
        }
      }
    }
  }

  private static Path writeTo(Path file, String text) throws Exception {
    Files.writeString(file, text);
    return file;
  }

  private static void copyTree(Path from, Path to) throws Exception {
    try (var paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
