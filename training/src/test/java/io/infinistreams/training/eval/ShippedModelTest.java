package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import org.junit.jupiter.api.Test;

/**
 * The checkpoint the project ships (the application's default model): it is on the classpath, loads
 * with the fingerprint its manifest records, finds the key through its memory and not without it,
 * and is the average its manifest says. A regression guard for whoever ships new weights: a few
 * seconds of the eval, not the evaluation itself.
 */
class ShippedModelTest {

  @Test
  void theShippedModelFindsThePasskeyThroughItsMemory() throws Exception {
    assertTrue(InfiniModel.isTrainedDefaultAvailable(), "a trained checkpoint ships");
    String fingerprint = shippedManifest().get("fingerprint").getAsString();
    List<Double> depths = new ArrayList<>();
    for (int d = 0; d <= 10; d++) {
      depths.add(d / 10.0);
    }
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    try (InfiniModel m = InfiniModel.loadDefault()) {
      assertEquals(fingerprint, m.fingerprint());
      // 2K tokens: 16 segments, every depth, 2 trials each; keys and placements from seed 3
      PasskeyEval eval = new PasskeyEval(List.of(2048), depths, 2, 3, 2);
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
   * The shipped weights are the parameter-wise average of the two checkpoints the repository keeps
   * for it (model/checkpoints/c18 and r22, each loading with its recorded fingerprint), with the
   * coefficients the shipped manifest records: {@code average} reproduces them bit for bit.
   */
  @Test
  void theShippedModelIsTheAverageItsManifestRecords() throws Exception {
    JsonObject average = shippedManifest().getAsJsonObject("average");
    List<Weights> inputs = new ArrayList<>();
    List<Double> coefficients = new ArrayList<>();
    try (NDManager m = NDManager.newBaseManager();
        InfiniModel shipped = InfiniModel.loadDefault()) {
      for (var e : average.getAsJsonArray("inputs")) {
        JsonObject input = e.getAsJsonObject();
        // recorded relative to the repository root; tests run in the training module
        Path dir = Path.of("..").resolve(input.get("path").getAsString());
        Checkpoint.Loaded loaded = Checkpoint.load(dir, m);
        assertEquals(
            input.get("fingerprint").getAsString(), loaded.weights().fingerprint(), dir.toString());
        inputs.add(loaded.weights());
        coefficients.add(input.get("coefficient").getAsDouble());
      }
      assertEquals(2, inputs.size());
      Weights avg =
          WeightAverage.average(inputs, WeightAverage.normalise(coefficients, inputs.size()), m);
      assertEquals(shipped.fingerprint(), avg.fingerprint());
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
}
