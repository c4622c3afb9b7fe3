package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.Weights;
import io.infinistreams.training.WeightAverage;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint the project ships (the application's default model): it is on the classpath (and
 * loads only with the fingerprint its manifest records), models English text and not shuffled
 * bytes, finds the key through its memory and not without it, and is the edit of the recipe's last
 * stage that its manifest records. The model shipped before it is still reproducible from the two
 * checkpoints the repository keeps for it. A regression guard for whoever ships new weights:
 * seconds of the eval, not the evaluation itself.
 */
class ShippedModelTest {

  /** The run of the recipe whose model ships, relative to the repository root. */
  private static final Path RUN = Path.of("training/runs/prose-sparse-seed1");

  /** The fingerprint of the model shipped before, which operators may keep serving its streams. */
  private static final String PREVIOUS =
      "b82230ea9ea091b3815428becb1699df2a951a38cd12c3b43506e555f2437cf4";

  @Test
  void theShippedModelFindsThePasskeyThroughItsMemory() throws Exception {
    assertTrue(InfiniModel.isTrainedDefaultAvailable(), "a trained checkpoint ships");
    List<Double> depths = new ArrayList<>();
    for (int d = 0; d <= 10; d++) {
      depths.add(d / 10.0);
    }
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    try (InfiniModel m = InfiniModel.loadDefault()) {
      // 4K tokens: 32 segments, every depth, 2 trials each; keys and placements from seed 3
      PasskeyEval eval = new PasskeyEval(List.of(4096), depths, 2, 3, 2);
      int on = passes(eval.run(m, quiet, r -> {}));
      InfiniModel off = InfiniModel.fromWeights(m.weights().withMemoryOff());
      int offPasses = passes(eval.run(off, quiet, r -> {}));
      assertTrue(on >= 20, "memory on: " + on + " of 22 keys found");
      assertTrue(
          offPasses <= 3,
          "memory off: " + offPasses + " of 22 (only needles reaching the open segment)");
    }
  }

  /**
   * English prose the model never trained on costs at most 2.5 bits per byte; the same bytes in a
   * shuffled order, at least twice as much (the model's per-event surprise tells the two apart).
   */
  @Test
  void theShippedModelModelsEnglishText() {
    int[] text = ByteTokenizer.encode(PROSE);
    int[] shuffled = text.clone();
    SplittableRandom random = new SplittableRandom(5);
    for (int i = shuffled.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    try (InfiniModel m = InfiniModel.loadDefault()) {
      double prose = LmEval.run(m, text).bitsPerByte();
      double noise = LmEval.run(m, shuffled).bitsPerByte();
      assertTrue(prose <= 2.5, "English prose: " + prose + " bits per byte");
      assertTrue(noise >= 2 * prose, "shuffled: " + noise + " against " + prose + " bits per byte");
    }
  }

  /**
   * The shipped weights are its recipe's last stage's model (kept in the run's folder, loading with
   * the fingerprint the shipped manifest records as the edit's source) with the manifest's write
   * logit edit applied: the edit reproduces them bit for bit.
   */
  @Test
  void theShippedModelIsTheFinalEditItsManifestRecords() throws Exception {
    JsonObject edit = shippedManifest().getAsJsonObject("finalEdit");
    try (NDManager m = NDManager.newBaseManager();
        InfiniModel shipped = InfiniModel.loadDefault()) {
      // RUN is relative to the repository root; tests run in the training module
      Path dir = Path.of("..").resolve(RUN).resolve("stage-4-long/final");
      Weights last = Checkpoint.load(dir, m).weights();
      assertEquals(edit.get("from").getAsString(), last.fingerprint(), dir.toString());
      Weights edited =
          last.withWriteLogits(
              edit.get("writeScale").getAsFloat(), edit.get("writeThreshold").getAsFloat());
      assertEquals(shipped.fingerprint(), edited.fingerprint());
    }
  }

  /**
   * The model shipped before is the parameter-wise average, half and half, of the two checkpoints
   * in model/checkpoints: {@code average} reproduces it bit for bit, so that an operator can keep
   * it serving the streams it wrote.
   */
  @Test
  void thePreviousModelIsTheAverageOfItsTwoCheckpoints() {
    try (NDManager m = NDManager.newBaseManager()) {
      List<Weights> inputs = new ArrayList<>();
      for (String name : List.of("c18", "r22")) {
        inputs.add(Checkpoint.load(Path.of("../model/checkpoints", name), m).weights());
      }
      Weights avg = WeightAverage.average(inputs, new double[] {0.5, 0.5}, m);
      assertEquals(PREVIOUS, avg.fingerprint());
    }
  }

  private static JsonObject shippedManifest() throws Exception {
    try (InputStream in =
        InfiniModel.class.getResourceAsStream(
            InfiniModel.DEFAULT_RESOURCE + Checkpoint.MANIFEST_FILE)) {
      return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8))
          .getAsJsonObject();
    }
  }

  private static int passes(List<PasskeyEval.Row> rows) {
    int n = 0;
    for (PasskeyEval.Trial t : rows.get(0).trials()) {
      n += t.pass() ? 1 : 0;
    }
    return n;
  }

  /** English prose written for this test (in no training corpus). */
  private static final String PROSE =
      "The ferry left the harbour a little after seven, when the tide had turned and the gulls "
          + "had given up on the fishing boats. Most of the passengers stayed below, where the "
          + "coffee was hot and the windows were fogged, but a few stood at the rail and watched "
          + "the town grow small behind them: the church tower first, then the row of painted "
          + "houses along the quay, and last of all the long grey wall of the old customs house. "
          + "The crossing took two hours in good weather and most of a day in bad, and the people "
          + "who made it every week could tell from the colour of the sea in the first ten minutes "
          + "which kind of day it would be. A farmer from the island carried a crate of young hens "
          + "that complained all the way out of the harbour and then fell asleep. Two students "
          + "argued about a book they had both read and both misunderstood. An old man in a dark "
          + "coat said nothing at all, and when the island came into view he took off his hat, "
          + "held it against his chest for a moment, and put it back on. Nobody asked him why. "
          + "The captain, who had made the crossing more times than he could count, said later "
          + "that he had seen the same man do the same thing every spring for thirty years, and "
          + "that he had never once seen him make the journey back.";
}
