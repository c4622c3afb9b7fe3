package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Update rules and reads that do not fit together are refused with a reason. */
class ModelConfigTest {

  @Test
  void theBoundedRulesNeedAReadWithoutZ() {
    for (UpdateRule rule : new UpdateRule[] {UpdateRule.BOUNDED, UpdateRule.SEQUENTIAL,
        UpdateRule.GATED}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(MemoryRead.PAPER));
      assertTrue(e.getMessage().contains(rule.name()), e.getMessage());
      assertDoesNotThrow(() -> ModelConfig.tiny().withUpdateRule(rule)
          .withMemoryRead(MemoryRead.UNIT));
    }
  }

  @Test
  void signedKeysNeedARuleThatNormalisesKeys() {
    for (UpdateRule rule : new UpdateRule[] {UpdateRule.LINEAR, UpdateRule.DELTA}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ModelConfig.tiny().withUpdateRule(rule).withKeyFeatures(KeyFeatures.SIGNED));
      assertTrue(e.getMessage().contains("SIGNED") && e.getMessage().contains(rule.name()),
          e.getMessage());
    }
    assertDoesNotThrow(() -> ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withKeyFeatures(KeyFeatures.SIGNED));
  }

  @Test
  void theLogisticWriteGateNeedsTheGatedRule() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModelConfig.tiny().withUpdateRule(UpdateRule.SEQUENTIAL)
            .withWriteGate(WriteGate.LOGISTIC));
    assertTrue(e.getMessage().contains("GATED"), e.getMessage());
  }

  @Test
  void theUnitReadNeedsABoundedMemory() {
    for (UpdateRule rule : new UpdateRule[] {UpdateRule.LINEAR, UpdateRule.DELTA}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(MemoryRead.UNIT));
      assertTrue(e.getMessage().contains("UNIT"), e.getMessage());
    }
  }
}
