package io.infinistreams.training;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code infini-train recipe FILE --seed N --out DIR}: trains every stage of a {@link Recipe} in
 * order, each from the weights the stage before it ended with, into {@code DIR/stage-<i>-<name>}
 * ({@code checkpoint/} while it runs, {@code final/} when done), and copies the last stage's model
 * to {@code DIR/final} (with a {@link Recipe#finalEdit}, writes it there edited). The same command
 * continues an interrupted run where it stopped (finished stages are kept, a stage's checkpoint is
 * resumed), so a run may span days and processes; the result does not depend on where it was
 * interrupted.
 */
@Command(
    name = "recipe",
    mixinStandardHelpOptions = true,
    description = "Train a model from a recipe file: its stages in order, resumable.")
public final class RecipeCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "FILE", description = "The recipe (JSON).")
  Path file;

  @Option(names = "--out", required = true, description = "Run directory.")
  Path out;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description =
          "Seed of the run: initial weights and every stage's data (default "
              + "${DEFAULT-VALUE}).")
  long seed;

  @Mixin RunOptions runOptions = new RunOptions();

  @Spec CommandSpec spec;

  /**
   * File in a stage's folder that records the write-logit edit the stage started from ({@link
   * Recipe#stageEdit}), written when such a stage starts; a stage without it started from unedited
   * weights. The edit is not part of the stage's {@link TrainConfig}, so a finished or interrupted
   * stage is checked against the recipe through this file.
   */
  static final String START_EDIT = "start-edit.json";

  /** The edit stage folder {@code dir} started from: the identity if it recorded none. */
  static Recipe.WriteEdit startEdit(Path dir) throws java.io.IOException {
    Path f = dir.resolve(START_EDIT);
    if (!Files.exists(f)) {
      return Recipe.WriteEdit.IDENTITY;
    }
    return Recipe.WriteEdit.of(JsonParser.parseString(Files.readString(f)).getAsJsonObject());
  }

  /** Whether stage {@code i}'s folder started from the edit the recipe gives it now. */
  private static boolean startedAs(Path dir, Recipe recipe, int i) throws java.io.IOException {
    return startEdit(dir).equals(recipe.stageEdit(i));
  }

  /** Whether the model in {@code dir} was trained with exactly {@code config}. */
  static boolean trainedWith(Path dir, TrainConfig config) throws java.io.IOException {
    JsonObject manifest = manifest(dir);
    return manifest.has("training")
        && config.equals(
            TrainCheckpoint.GSON.fromJson(
                manifest.getAsJsonObject("training").get("config"), TrainConfig.class));
  }

  @Override
  public Integer call() throws Exception {
    Recipe recipe;
    try {
      recipe = Recipe.read(file);
    } catch (IllegalArgumentException e) {
      System.err.println("recipe: " + e.getMessage());
      return 2;
    }
    long start = System.nanoTime();
    Path previous = null;
    for (int i = 0; i < recipe.stages().size(); i++) {
      Path dir = recipe.stageDir(out, i);
      Path fin = dir.resolve("final");
      String command =
          recipeCommand(recipe)
              + ", stage "
              + (i + 1)
              + " of "
              + recipe.stages().size()
              + ": "
              + recipe.stages().get(i).name()
              + (recipe.editsWriteLogits(i)
                  ? ", from the previous stage's weights with write logits x -> "
                      + recipe.stageEdit(i)
                  : "");
      TrainConfig config = recipe.stageConfig(i, seed);
      if (Files.exists(fin.resolve(Checkpoint.MANIFEST_FILE))) {
        if (!trainedWith(fin, config) || !startedAs(dir, recipe, i)) {
          System.err.println(
              "recipe: "
                  + fin
                  + " was trained with another configuration than "
                  + "stage "
                  + (i + 1)
                  + " of "
                  + file
                  + " now gives; use another --out");
          return 2;
        }
        previous = fin;
        continue;
      }
      double left = runOptions.maxMinutes - (System.nanoTime() - start) / 60e9;
      if (left <= 0) {
        System.err.println("stopped before stage " + (i + 1) + "; run the same command again");
        return 0;
      }
      Path ckpt = dir.resolve("checkpoint");
      Trainer trainer;
      double elapsed = 0;
      List<RunLog.Point> history = List.of();
      if (Files.exists(ckpt.resolve(TrainCheckpoint.STATE))) {
        TrainCheckpoint.State state = TrainCheckpoint.readState(ckpt);
        if (!state.config().equals(config) || !startedAs(dir, recipe, i)) {
          System.err.println(
              "recipe: "
                  + ckpt
                  + " was trained with another configuration than stage "
                  + (i + 1)
                  + " of "
                  + file
                  + " now gives; use another --out");
          return 2;
        }
        trainer = TrainCheckpoint.resume(ckpt, TaskMixes.build(config));
        elapsed = state.elapsedSec();
        history = state.history();
        System.err.println("stage " + (i + 1) + " resumed at step " + trainer.stepsDone());
      } else if (previous == null) {
        trainer = Trainer.fresh(config, TaskMixes.build(config));
      } else {
        try (NDManager m = NDManager.newBaseManager()) {
          Weights initial = Checkpoint.load(previous, m).weights();
          Recipe.WriteEdit edit = recipe.stageEdit(i);
          if (!edit.isIdentity()) {
            initial = initial.withWriteLogits(edit.scale(), edit.threshold());
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(START_EDIT), edit.json() + "\n");
            System.err.println(
                "stage "
                    + (i + 1)
                    + " starts from "
                    + previous
                    + " with each write logit x replaced by "
                    + edit);
          }
          trainer = Trainer.fresh(config, TaskMixes.build(config), initial);
        }
      }
      System.err.println(
          "stage "
              + (i + 1)
              + " of "
              + recipe.stages().size()
              + " ("
              + recipe.stages().get(i).name()
              + "): "
              + config.steps()
              + " steps, mix "
              + config.mix()
              + ", model "
              + config.model().canonical());
      boolean done =
          TrainCommand.runToEnd(
              trainer, dir, command, elapsed, history, runOptions, left, Long.MAX_VALUE);
      if (!done) {
        return 0;
      }
      previous = fin;
    }
    Path fin = out.resolve("final");
    if (recipe.finalEdit().isPresent()) {
      writeEdited(previous, fin, recipe.finalEdit().get(), recipeCommand(recipe));
      System.err.println(
          "recipe done: "
              + fin
              + " (the last stage's model with each write logit x replaced by "
              + recipe.finalEdit().get()
              + ")");
    } else {
      ModelExport.copy(previous, fin);
      System.err.println("recipe done: " + fin);
    }
    return 0;
  }

  /** "recipe FILE --seed N (sha256 ...)". */
  private String recipeCommand(Recipe recipe) {
    return "recipe " + file + " --seed " + seed + " (sha256 " + recipe.sha256() + ")";
  }

  /**
   * Writes to {@code to} the model in {@code from} with {@code edit} applied to its write logits:
   * its manifest keeps {@code from}'s {@code training} record and adds a {@code finalEdit} record
   * (the edit and the unedited model's fingerprint). Nothing is written if {@code to} already holds
   * that edit of that model; otherwise the model is written beside {@code to} and then moved into
   * its place, so an interrupted write leaves no half-made model there.
   */
  static void writeEdited(Path from, Path to, Recipe.WriteEdit edit, String command)
      throws java.io.IOException {
    JsonObject source = manifest(from);
    JsonObject record = edit.json();
    record.addProperty("from", source.get("fingerprint").getAsString());
    if (Files.exists(to.resolve(Checkpoint.MANIFEST_FILE))
        && record.equals(manifest(to).get("finalEdit"))) {
      return;
    }
    Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
    deleteModel(tmp);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = Checkpoint.load(from, m).weights();
      Checkpoint.save(
          w.withWriteLogits(edit.scale(), edit.threshold()),
          tmp,
          command
              + ": the last stage's model (fingerprint "
              + w.fingerprint()
              + ") with every write logit x replaced by "
              + edit
              + ", not trained after");
    }
    if (source.has("training")) {
      ModelExport.addToManifest(tmp, "training", source.get("training"));
    }
    ModelExport.addToManifest(tmp, "finalEdit", record);
    deleteModel(to);
    Files.move(tmp, to);
  }

  private static JsonObject manifest(Path dir) throws java.io.IOException {
    return JsonParser.parseString(Files.readString(dir.resolve(Checkpoint.MANIFEST_FILE)))
        .getAsJsonObject();
  }

  /** Deletes a model folder ({@code model.safetensors}, {@code manifest.json}) if it exists. */
  private static void deleteModel(Path dir) throws java.io.IOException {
    if (Files.isDirectory(dir)) {
      for (String name : List.of(Checkpoint.WEIGHTS_FILE, Checkpoint.MANIFEST_FILE)) {
        Files.deleteIfExists(dir.resolve(name));
      }
      Files.delete(dir);
    }
  }
}
