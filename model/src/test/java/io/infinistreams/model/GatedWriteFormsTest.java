package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.Prepared;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The two forms of the gated delta rule agree: the block form of {@link InfiniTransformer#forward}
 * (what training backpropagates through) and the token-by-token write in Java of {@link
 * InfiniTransformer#compress} (what inference writes; {@link WholeModelReferenceTest} compares it
 * with a control model). Chained over several segments, with and without a short convolution, at a
 * segment length that is not a multiple of the block, with every token writing and with a top-k
 * write (the training's mask and the inference's selection choose the same tokens), under the
 * logistic and the sparse write gate.
 */
class GatedWriteFormsTest {

  @ParameterizedTest
  @CsvSource({
    "40,0,ELU_PLUS_ONE,0,LOGISTIC",
    "40,4,ELU_PLUS_ONE,0,LOGISTIC",
    "64,0,ELU_PLUS_ONE,0,LOGISTIC",
    "40,0,IDENTITY,0,LOGISTIC",
    "40,4,IDENTITY,0,LOGISTIC",
    "40,4,IDENTITY,6,LOGISTIC",
    "64,0,ELU_PLUS_ONE,33,LOGISTIC",
    "40,4,IDENTITY,0,SPARSE",
    "64,0,IDENTITY,33,SPARSE"
  })
  void blockFormAndTokenFormWriteTheSameMemory(
      int segment, int conv, FeatureMap map, int writeTopK, WriteGate gate) {
    ModelConfig c =
        ModelConfig.defaults()
            .withSegmentLength(segment)
            .withOverlap(16)
            .withFeatureMap(map)
            .withWriteTopK(writeTopK)
            .withWriteGate(gate);
    if (conv > 0) {
      c = c.withShortConv(conv);
    }
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = WholeModelReferenceTest.perturbedWeights(c, 5, m);
      Prepared p = Prepared.of(w, m);
      List<Memory> block = Memory.zeros(m, c, 1);
      List<Memory> token = Memory.zeros(m, c, 1);
      SplittableRandom rng = new SplittableRandom(3);
      int window = c.overlap() + c.segmentLength();
      int[] silent = new int[2]; // SPARSE: tokens that write nothing, tokens that write
      for (int s = 0; s < 5; s++) {
        long[] ids = new long[window];
        for (int i = 0; i < window; i++) {
          ids[i] = 32 + rng.nextInt(95);
        }
        NDArray tokens = m.create(ids, new Shape(1, window));
        InfiniTransformer.Output out =
            InfiniTransformer.forward(w, tokens, block, Options.fullSegment());
        block = out.memories();
        token = InfiniTransformer.compress(p, tokens, token);
        for (int l = 0; l < c.layers(); l++) {
          assertClose(block.get(l).m(), token.get(l).m(), "M, layer " + l + ", segment " + s);
          assertClose(block.get(l).z(), token.get(l).z(), "z, layer " + l + ", segment " + s);
          assertStrengths(c, out.strengths().get(l), token.get(l).strengths(), l);
          for (float beta : out.strengths().get(l).toFloatArray()) {
            silent[beta == 0f ? 0 : 1]++;
          }
        }
      }
      if (gate == WriteGate.SPARSE && writeTopK == 0) {
        assertTrue(silent[0] > 0 && silent[1] > 0, "some tokens write nothing, some do");
      }
    }
  }

  /**
   * The sparse gate is max(0, tanh(x / 2)): exactly 0 for a logit of 0 or less, with the surrogate
   * gradient {@link InfiniTransformer#SPARSE_GRADIENT_SLOPE} there, and the true gradient above.
   */
  @Test
  void sparseGateIsZeroBelowZeroAndPassesTheSurrogateGradient() {
    float[] x = {-3f, -0.5f, 0.5f, 2f};
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray in = m.create(x);
      in.setRequiresGradient(true);
      float[] beta;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray out = InfiniTransformer.gate(in, WriteGate.SPARSE);
        beta = out.toFloatArray();
        gc.backward(out.sum());
      }
      float[] grad = in.getGradient().toFloatArray();
      for (int i = 0; i < x.length; i++) {
        double want = Math.max(0, Math.tanh(x[i] / 2.0));
        assertEquals(want, beta[i], 1e-6, "beta of " + x[i]);
        double slope =
            x[i] < 0
                ? InfiniTransformer.SPARSE_GRADIENT_SLOPE
                : 0.5 * (1 - Math.tanh(x[i] / 2) * Math.tanh(x[i] / 2));
        assertEquals(slope, grad[i], 1e-6, "gradient at " + x[i]);
      }
      assertEquals(0f, beta[0]);
      assertEquals(0f, beta[1]);
    }
  }

  /**
   * The inference's reported write strength per head is the mean of the block form's betas over the
   * segment (every token writing), or at most k of n tokens' worth (a top-k write).
   */
  private static void assertStrengths(ModelConfig c, NDArray betas, float[] reported, int layer) {
    int n = c.segmentLength();
    float[] beta = betas.toFloatArray(); // (1, H, N, 1)
    assertEquals(c.heads(), reported.length);
    for (int h = 0; h < c.heads(); h++) {
      double mean = 0;
      for (int t = 0; t < n; t++) {
        mean += beta[h * n + t];
      }
      mean /= n;
      assertEquals(mean, reported[h], 1e-5, "layer " + layer + " head " + h);
      if (c.writeTopK() > 0) {
        assertTrue(reported[h] <= (double) c.writeTopK() / n, "at most k tokens write");
      }
    }
  }

  private static void assertClose(NDArray expected, NDArray actual, String what) {
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    double largest = 0;
    double diff = 0;
    for (int i = 0; i < e.length; i++) {
      largest = Math.max(largest, Math.abs(e[i]));
      diff = Math.max(diff, Math.abs(e[i] - a[i]));
    }
    assertTrue(largest > 0, what + " is zero");
    assertTrue(
        diff <= WholeModelReferenceTest.MEMORY_TOL * largest,
        what + ": largest difference " + diff + " of largest |value| " + largest);
  }
}
