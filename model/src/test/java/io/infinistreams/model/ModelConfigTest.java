package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.RecordComponent;
import org.junit.jupiter.api.Test;

/** Configurations that do not fit together are refused with a reason. */
class ModelConfigTest {

  @Test
  void theGatedRuleNeedsTheNormalizedRead() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ModelConfig.tiny().withMemoryRead(MemoryRead.PAPER));
    assertTrue(e.getMessage().contains("GATED"), e.getMessage());
    for (UpdateRule rule : new UpdateRule[] {UpdateRule.LINEAR, UpdateRule.DELTA}) {
      for (MemoryRead read : MemoryRead.values()) {
        assertDoesNotThrow(() -> ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(read));
      }
    }
  }

  @Test
  void theOverlapIsAtMostOneSegment() {
    int n = ModelConfig.tiny().segmentLength();
    assertDoesNotThrow(() -> ModelConfig.tiny().withOverlap(n));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withOverlap(n + 1));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withOverlap(-1));
  }

  /**
   * The fingerprint's configuration line names every field, so no field can escape it; a short
   * convolution of 0, the paper's feature map and a write by every token are left out, so models
   * made before either existed keep the fingerprints they always had.
   */
  @Test
  void theCanonicalLineNamesEveryField() {
    ModelConfig c =
        ModelConfig.defaults()
            .withShortConv(4)
            .withFeatureMap(FeatureMap.IDENTITY)
            .withWriteTopK(16)
            .withWriteGate(WriteGate.SPARSE)
            .withReadEps(0.01f);
    String line = c.canonical();
    for (RecordComponent f : ModelConfig.class.getRecordComponents()) {
      assertTrue(line.contains(f.getName() + "="), f.getName() + " in " + line);
    }
    assertEquals(ModelConfig.class.getRecordComponents().length, line.split(",").length);
    assertNotEquals(line, c.withOverlap(8).canonical());
    assertNotEquals(line, c.withSegmentLength(64).canonical());
    assertEquals(
        line.replace(",shortConv=4", "")
            .replace(",featureMap=IDENTITY", "")
            .replace(",writeTopK=16", "")
            .replace(",writeGate=SPARSE", "")
            .replace(",readEps=0.01", ""),
        ModelConfig.defaults().canonical(),
        "defaults are left out");
  }

  @Test
  void signedFeaturesNeedTheGatedRuleAndTheNormalizedRead() {
    assertDoesNotThrow(() -> ModelConfig.tiny().withFeatureMap(FeatureMap.IDENTITY));
    ModelConfig delta = ModelConfig.tinyPaper();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> delta.withFeatureMap(FeatureMap.IDENTITY));
    assertTrue(e.getMessage().contains("IDENTITY"), e.getMessage());
  }

  @Test
  void aSparseWriteGateNeedsTheGatedRule() {
    assertDoesNotThrow(() -> ModelConfig.tiny().withWriteGate(WriteGate.SPARSE));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ModelConfig.tinyPaper().withWriteGate(WriteGate.SPARSE));
    assertTrue(e.getMessage().contains("GATED"), e.getMessage());
  }

  @Test
  void aTopKWriteNeedsTheGatedRuleAndAtMostASegment() {
    int n = ModelConfig.tiny().segmentLength();
    assertDoesNotThrow(() -> ModelConfig.tiny().withWriteTopK(n));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withWriteTopK(n + 1));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withWriteTopK(-1));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ModelConfig.tinyPaper().withWriteTopK(2));
    assertTrue(e.getMessage().contains("GATED"), e.getMessage());
  }

  @Test
  void aReadEpsIsPositiveAtMostOneAndOnlyForTheNormalizedRead() {
    assertDoesNotThrow(() -> ModelConfig.tiny().withReadEps(ModelConfig.MAX_READ_EPS));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withReadEps(0f));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withReadEps(-1e-3f));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withReadEps(2f));
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withReadEps(Float.NaN));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ModelConfig.tinyPaper().withReadEps(0.01f));
    assertTrue(e.getMessage().contains("NORMALIZED"), e.getMessage());
  }
}
