package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Weights#withWriteBiasShift}: the evaluation's stricter-write ablation. */
class WriteBiasShiftTest {

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
          0, headsWritten(InfiniModel.fromWeights(w.withWriteBiasShift(1e4f)), tokens), "none");
      InfiniModel same = InfiniModel.fromWeights(w.withWriteBiasShift(0f));
      assertEquals(fingerprint, same.fingerprint(), "a shift of 0 is the same function");

      InfiniModel stricter = InfiniModel.fromWeights(w.withWriteBiasShift(4f));
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

  @Test
  void refusesAModelWithoutAWriteGateAndANonFiniteShift() {
    try (NDManager m = NDManager.newBaseManager()) {
      Weights gated = WholeModelReferenceTest.perturbedWeights(SPARSE, 5, m);
      assertThrows(IllegalArgumentException.class, () -> gated.withWriteBiasShift(Float.NaN));
      Weights delta =
          WholeModelReferenceTest.perturbedWeights(
              ModelConfig.defaults().withUpdateRule(UpdateRule.DELTA), 5, m);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> delta.withWriteBiasShift(1f));
      assertTrue(e.getMessage().contains("GATED"), e.getMessage());
    }
  }
}
