package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.Output;
import io.infinistreams.model.InfiniTransformer.Prepared;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A scored segment step ({@link InfiniTransformer#compressScored}) writes the same memories, bit
 * for bit, as an unscored one ({@link InfiniTransformer#compress}), and its logits are those of a
 * read-only {@link InfiniTransformer#forward} over the same window, to float rounding. Over several
 * chained segments, for 1 to 3 layers, overlaps below and above the rows the write reads, with and
 * without a short convolution, under each update rule and with a top-k write.
 */
class CompressScoredTest {

  @ParameterizedTest
  @CsvSource({
    // layers, segment, overlap, conv, rule, read, top-k
    "1,16,4,0,GATED,NORMALIZED,0",
    "2,16,4,0,GATED,NORMALIZED,0",
    "2,16,12,4,GATED,NORMALIZED,0",
    "3,16,12,4,GATED,NORMALIZED,5",
    "3,24,0,0,DELTA,PAPER,0",
    "2,16,10,0,LINEAR,NORMALIZED,0",
    "3,16,16,2,DELTA,NORMALIZED,0"
  })
  void scoringDoesNotChangeTheMemoryAndMatchesTheReadOnlyForward(
      int layers, int segment, int overlap, int conv, UpdateRule rule, MemoryRead read, int topK) {
    ModelConfig c =
        new ModelConfig(264, 32, layers, 2, 8, 8, 64, segment, rule, read, 10000f, overlap)
            .withShortConv(conv)
            .withWriteTopK(topK);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = WholeModelReferenceTest.perturbedWeights(c, 7, m);
      Prepared p = Prepared.of(w, m);
      List<Memory> plain = Memory.zeros(m, c, 1);
      List<Memory> scored = Memory.zeros(m, c, 1);
      SplittableRandom rng = new SplittableRandom(11);
      int window = c.overlap() + c.segmentLength();
      for (int s = 0; s < 4; s++) {
        long[] ids = new long[window];
        for (int i = 0; i < window; i++) {
          ids[i] = 32 + rng.nextInt(95);
        }
        NDArray tokens = m.create(ids, new Shape(1, window));
        NDArray expected =
            InfiniTransformer.forward(w, tokens, scored, Options.readOnly()).logits();
        Output out = InfiniTransformer.compressScored(p, tokens, scored);
        plain = InfiniTransformer.compress(p, tokens, plain);
        scored = out.memories();
        for (int l = 0; l < layers; l++) {
          String where = "layer " + l + ", segment " + s;
          assertArrayEquals(
              plain.get(l).m().toFloatArray(), scored.get(l).m().toFloatArray(), "M, " + where);
          assertArrayEquals(
              plain.get(l).z().toFloatArray(), scored.get(l).z().toFloatArray(), "z, " + where);
        }
        assertArrayEquals(expected.getShape().getShape(), out.logits().getShape().getShape());
        float[] want = expected.toFloatArray();
        float[] got = out.logits().toFloatArray();
        float scale = 0f;
        float worst = 0f;
        for (int i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i]));
          worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(scale > 0f, "logits all zero");
        assertTrue(worst <= 1e-5f * scale, "segment " + s + ": logits differ by " + worst);
      }
    }
  }
}
