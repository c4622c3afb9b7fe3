package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Weights#withWriteLogits}: the evaluation's stricter-write ablation. */
class WriteLogitsTest {

  private static final ModelConfig SPARSE =
      ModelConfig.defaults()
          .withSegmentLength(40)
          .withOverlap(16)
          .withFeatureMap(FeatureMap.IDENTITY)
          .withWriteGate(WriteGate.SPARSE);

  private static int[] text(int n) {
    SplittableRandom rng = new SplittableRandom(11);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = 32 + rng.nextInt(95);
    }
    return t;
  }

  /** Heads whose memory M holds a nonzero value after absorbing {@code tokens}. */
  private static int headsWritten(InfiniModel model, int[] tokens) {
    StreamState s = model.absorb(model.newState(), tokens, false).state();
    int written = 0;
    for (HeadMemory h : s.memories()) {
      for (float x : h.m()) {
        if (x != 0f) {
          written++;
          break;
        }
      }
    }
    return written;
  }

  /**
   * Under the sparse gate a shift above every write logit silences every head, a shift of 0 is the
   * model itself, and a shift in between silences some heads' weaker writes: the memory differs
   * from the unshifted model's while the source weights stay as they were.
   */
  @Test
  void aShiftSilencesTheWritesBelowIt() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = WholeModelReferenceTest.perturbedWeights(SPARSE, 5, m);
      InfiniModel model = InfiniModel.fromWeights(w);
      String fingerprint = model.fingerprint();
      int[] tokens = text(4 * SPARSE.segmentLength() + 7);
      int heads = SPARSE.layers() * SPARSE.heads();
      assertEquals(heads, headsWritten(model, tokens), "every head writes as trained");
      assertEquals(
          0, headsWritten(InfiniModel.fromWeights(w.withWriteLogits(1f, 1e4f)), tokens), "none");
      InfiniModel same = InfiniModel.fromWeights(w.withWriteLogits(1f, 0f));
      assertEquals(fingerprint, same.fingerprint(), "a shift of 0 is the same function");

      InfiniModel stricter = InfiniModel.fromWeights(w.withWriteLogits(1f, 4f));
      assertNotEquals(fingerprint, stricter.fingerprint());
      StreamState a = model.absorb(model.newState(), tokens, false).state();
      StreamState b = stricter.absorb(stricter.newState(), tokens, false).state();
      boolean differs = false;
      for (int i = 0; i < heads; i++) {
        float[] ma = a.memories().get(i).m();
        float[] mb = b.memories().get(i).m();
        for (int j = 0; j < ma.length && !differs; j++) {
          differs = Float.floatToIntBits(ma[j]) != Float.floatToIntBits(mb[j]);
        }
      }
      assertTrue(differs, "a shift of 4 changes what is written");
      assertEquals(fingerprint, model.fingerprint(), "the source weights are not edited");
    }
  }

  /**
   * The edited weights turn any hidden row h into the write logits scale (h w_write + b_write -
   * threshold), in every layer and head.
   */
  @Test
  void theEditedLogitsAreTheScaledShiftedOnes() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = WholeModelReferenceTest.perturbedWeights(SPARSE, 5, m);
      Weights edited = w.withWriteLogits(2.5f, 0.4f);
      SplittableRandom rng = new SplittableRandom(2);
      int d = SPARSE.dModel();
      int heads = SPARSE.heads();
      float[] h = new float[d];
      for (int i = 0; i < d; i++) {
        h[i] = (float) rng.nextGaussian();
      }
      for (int l = 0; l < SPARSE.layers(); l++) {
        float[] wa = w.layers().get(l).write().toFloatArray(); // (D, H)
        float[] ba = w.layers().get(l).writeBias().toFloatArray();
        float[] wb = edited.layers().get(l).write().toFloatArray();
        float[] bb = edited.layers().get(l).writeBias().toFloatArray();
        for (int k = 0; k < heads; k++) {
          double x = ba[k];
          double y = bb[k];
          for (int i = 0; i < d; i++) {
            x += h[i] * wa[i * heads + k];
            y += h[i] * wb[i * heads + k];
          }
          assertEquals(2.5 * (x - 0.4), y, 1e-4 * (1 + Math.abs(y)), "layer " + l + " head " + k);
        }
      }
    }
  }

  @Test
  void refusesAModelWithoutAWriteGateAndANonFiniteShift() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights gated = WholeModelReferenceTest.perturbedWeights(SPARSE, 5, m);
      assertThrows(IllegalArgumentException.class, () -> gated.withWriteLogits(1f, Float.NaN));
      assertThrows(IllegalArgumentException.class, () -> gated.withWriteLogits(0f, 0f));
      Weights delta =
          WholeModelReferenceTest.perturbedWeights(
              ModelConfig.defaults().withUpdateRule(UpdateRule.DELTA), 5, m);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> delta.withWriteLogits(1f, 1f));
      assertTrue(e.getMessage().contains("GATED"), e.getMessage());
    }
  }
}
