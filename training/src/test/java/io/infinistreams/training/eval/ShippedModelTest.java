package io.infinistreams.model.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.InfiniTransformer.GateOverride;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint the project ships (the topology's default model): it is on the classpath, loads
 * with the fingerprint its manifest records, and finds the key through its memory. A regression
 * guard for whoever ships new weights: a few seconds of the eval, not the evaluation itself
 * (docs/evaluation.md has that).
 */
class ShippedModelTest {

  @Test
  void theShippedModelFindsThePasskeyThroughItsMemory() throws Exception {
    assertTrue(InfiniModel.isTrainedDefaultAvailable(), "a trained checkpoint ships");
    String fingerprint;
    try (InputStream in = InfiniModel.class.getResourceAsStream(
        InfiniModel.DEFAULT_RESOURCE + "manifest.json")) {
      fingerprint = JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8))
          .getAsJsonObject().get("fingerprint").getAsString();
    }
    List<Double> depths = new ArrayList<>();
    for (int d = 0; d <= 10; d++) {
      depths.add(d / 10.0);
    }
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    try (InfiniModel m = InfiniModel.loadDefault()) {
      assertEquals(fingerprint, m.fingerprint());
      // 2K tokens: 16 segments, every depth, 2 trials each; keys and placements from seed 3
      PasskeyEval eval = new PasskeyEval(List.of(2048), depths, 2, 3, 2);
      int on = passes(eval.run(m, quiet, r -> { }));
      int off = passes(eval.run(m.withGateOverride(GateOverride.LOCAL_ONLY), quiet, r -> { }));
      assertTrue(on >= 20, "memory on: " + on + " of 22 keys found");
      assertTrue(off <= 3, "memory off: " + off + " of 22 (only needles reaching the open segment)");
    }
  }

  /**
   * The base checkpoint the repo keeps for training (model/checkpoints/g3, docs/training.md
   * "Reproduce"): it loads, with the fingerprint its manifest records and the architecture the
   * later stages start from.
   */
  @Test
  void theBaseCheckpointLoadsWithItsFingerprint() throws Exception {
    java.nio.file.Path dir = java.nio.file.Path.of("checkpoints", "g3");
    String fingerprint;
    try (java.io.Reader in = java.nio.file.Files.newBufferedReader(
        dir.resolve("manifest.json"))) {
      fingerprint = JsonParser.parseReader(in).getAsJsonObject().get("fingerprint").getAsString();
    }
    try (InfiniModel m = InfiniModel.load(dir)) {
      assertEquals(fingerprint, m.fingerprint());
      assertEquals(io.infinistreams.model.UpdateRule.GATED, m.config().updateRule());
      try (InfiniModel shipped = InfiniModel.loadDefault()) {
        assertEquals(shipped.config().dModel(), m.config().dModel());
        assertEquals(shipped.config().layers(), m.config().layers());
        assertEquals(shipped.config().heads(), m.config().heads());
        assertEquals(shipped.config().segmentLength(), m.config().segmentLength());
      }
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
