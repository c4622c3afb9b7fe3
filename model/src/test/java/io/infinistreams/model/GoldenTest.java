package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Golden numbers recorded from this implementation: they catch unintended changes of
 * initialisation, checkpoint identity or numerics. The reference tests prove the math; these pin
 * it. Initialisation and fingerprints are pure Java, so they must match exactly everywhere; model
 * outputs go through libtorch and get a tolerance.
 */
class GoldenTest {
  private static final String TEXT =
      "The grass is green. The sky is blue. The sun is yellow. "
          + "Here we go. There and back again. The pass key is 71432.";

  @Test
  void initialisationAndFingerprintsArePinned() {
    try (InfiniModel tiny = InfiniModel.create(ModelConfig.tiny(), 1)) {
      assertEquals(
          "023294f3cc91e4a103969c99dd3374b2a4664031cf2d2012a95da0c666c5cff3", tiny.fingerprint());
    }
    // the fallback of InfiniModel.loadDefault() while no trained checkpoint ships
    try (InfiniModel d = InfiniModel.create(ModelConfig.defaults(), InfiniModel.DEFAULT_SEED)) {
      assertEquals(
          "22436b6d8618e0dfd6b7c8105eabc6b907c63bab8247b45e1dc9bfc6f768cff5", d.fingerprint());
    }
  }

  /** The DELTA rule with the normalised read, no overlap. */
  @Test
  void scoresAndMemoryArePinned() {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.DELTA).withOverlap(0);
    try (InfiniModel tiny = InfiniModel.create(c, 1)) {
      int[] text = ByteTokenizer.encode(TEXT);
      AbsorbResult r = tiny.absorb(tiny.newState(), text, true);
      double sum = 0;
      for (float lp : r.logProbs()) {
        sum += lp;
      }
      assertEquals(112, text.length);
      assertEquals(-623.3027839660645, sum, 1e-3);
      assertEquals(-5.6327176, r.logProbs()[0], 1e-5);
      assertEquals(-5.4349484, r.logProbs()[111], 1e-5);
      HeadMemory m = r.state().memory(1, 1);
      assertEquals(7, m.updates()); // (1 + 112 - 1) / 16
      assertEquals(-5.687879, m.m()[0], 1e-4);
      assertEquals(-7.93079, m.m()[5], 1e-4);
      assertEquals(110.747284, m.z()[0], 1e-3);
    }
  }
}
