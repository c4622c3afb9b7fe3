package io.infinistreams.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Weights;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class WeightAverageTest {
  private static final ModelConfig TINY = ModelConfig.tiny();

  @Test
  void everyValueIsTheWeightedSumOfTheInputs() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights a = Weights.init(TINY, 1, m);
      Weights b = Weights.init(TINY, 2, m);
      double[] c = WeightAverage.normalise(List.of(3.0, 1.0), 2);
      assertArrayEquals(new double[] {0.75, 0.25}, c);
      Weights avg = WeightAverage.average(List.of(a, b), c, m);
      List<Weights.Param> pa = a.parameters();
      List<Weights.Param> pb = b.parameters();
      List<Weights.Param> pv = avg.parameters();
      assertEquals(pa.size(), pv.size());
      int differing = 0;
      for (int p = 0; p < pv.size(); p++) {
        assertEquals(pa.get(p).name(), pv.get(p).name());
        assertEquals(pa.get(p).array().getShape(), pv.get(p).array().getShape());
        float[] x = pa.get(p).array().toFloatArray();
        float[] y = pb.get(p).array().toFloatArray();
        float[] v = pv.get(p).array().toFloatArray();
        for (int j = 0; j < v.length; j++) {
          assertEquals((float) (0.75 * x[j] + 0.25 * y[j]), v[j], pv.get(p).name() + "[" + j + "]");
          differing += x[j] != y[j] ? 1 : 0;
        }
      }
      assertTrue(differing > 1000, "the two inputs differ (" + differing + " values)");
      assertNotEquals(a.fingerprint(), avg.fingerprint());
    }
  }

  @Test
  void aModelAveragedWithItselfIsItselfBitForBit() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights a = Weights.init(TINY, 5, m);
      Weights self =
          WeightAverage.average(
              List.of(a, a, a, a), WeightAverage.normalise(List.of(1.0, 1.0, 1.0, 1.0), 4), m);
      assertEquals(a.fingerprint(), self.fingerprint());
    }
  }

  @Test
  void mismatchedModelsAndBadCoefficientsAreRefused() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights a = Weights.init(TINY, 1, m);
      // the same tensors under another overlap: they compute another function
      Weights other = Weights.init(TINY.withOverlap(0), 1, m);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> WeightAverage.average(List.of(a, other), new double[] {0.5, 0.5}, m));
      assertTrue(e.getMessage().contains("another config"), e.getMessage());
      assertThrows(
          IllegalArgumentException.class,
          () -> WeightAverage.average(List.of(a), new double[] {1}, m));
    }
    for (List<Double> bad :
        List.of(
            List.of(1.0, 0.0),
            List.of(1.0, -1.0),
            List.of(1.0, Double.NaN),
            List.of(1.0, Double.POSITIVE_INFINITY),
            List.of(1.0))) {
      assertThrows(
          IllegalArgumentException.class, () -> WeightAverage.normalise(bad, 2), bad.toString());
    }
  }

  /**
   * The command end to end: the written directory loads with the fingerprint its manifest records,
   * the manifest names each input, the same inputs give the same bytes again, and an existing model
   * is not overwritten.
   */
  @Test
  void theCommandWritesALoadableModelThatNamesItsInputs(@TempDir Path dir) {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights a = Weights.init(TINY, 1, m);
      Weights b = Weights.init(TINY, 2, m);
      Checkpoint.save(a, dir.resolve("a"), "test a");
      Checkpoint.save(b, dir.resolve("b"), "test b");
      String expected =
          WeightAverage.average(List.of(a, b), new double[] {0.5, 0.5}, m).fingerprint();
      for (String out : List.of("avg", "again")) {
        int rc =
            new CommandLine(new AverageCommand())
                .execute(
                    "--out",
                    dir.resolve(out).toString(),
                    dir.resolve("a").toString(),
                    dir.resolve("b").toString());
        assertEquals(0, rc);
        Checkpoint.Loaded l = Checkpoint.load(dir.resolve(out), m);
        assertEquals(expected, l.weights().fingerprint());
        JsonArray inputs = l.manifest().getAsJsonObject("average").getAsJsonArray("inputs");
        assertEquals(2, inputs.size());
        JsonObject first = inputs.get(0).getAsJsonObject();
        assertEquals(a.fingerprint(), first.get("fingerprint").getAsString());
        assertEquals("test a", first.get("howMade").getAsString());
        assertEquals(0.5, first.get("coefficient").getAsDouble());
        assertTrue(l.manifest().get("howMade").getAsString().contains(b.fingerprint()));
      }
      assertEquals(
          2,
          new CommandLine(new AverageCommand())
              .execute(
                  "--out",
                  dir.resolve("avg").toString(),
                  dir.resolve("b").toString(),
                  dir.resolve("a").toString()));
      assertEquals(expected, Checkpoint.load(dir.resolve("avg"), m).weights().fingerprint());
      // a bad request is refused with a message, before anything is written
      assertEquals(
          2,
          new CommandLine(new AverageCommand())
              .execute(
                  "--out",
                  dir.resolve("bad").toString(),
                  "--coefficients",
                  "1,0",
                  dir.resolve("a").toString(),
                  dir.resolve("b").toString()));
      assertEquals(
          2,
          new CommandLine(new AverageCommand())
              .execute(
                  "--out",
                  dir.resolve("bad").toString(),
                  dir.resolve("a").toString(),
                  dir.resolve("missing").toString()));
      assertTrue(java.nio.file.Files.notExists(dir.resolve("bad")));
    }
  }
}
