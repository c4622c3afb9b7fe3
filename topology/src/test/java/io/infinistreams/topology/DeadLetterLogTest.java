package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeadLetterLogTest {
  @Test
  void firstLinesPerReasonThenOneSummaryPerWindow() {
    DeadLetterLog log = new DeadLetterLog(2, 60_000);
    assertEquals("a1", log.onDeadLetter(DeadLetterReason.UNDECODABLE, "a1", 0));
    assertEquals("a2", log.onDeadLetter(DeadLetterReason.UNDECODABLE, "a2", 10));
    assertEquals("b1", log.onDeadLetter(DeadLetterReason.SEQ_GAP, "b1", 20), "per reason");
    for (int i = 0; i < 5; i++) {
      assertNull(log.onDeadLetter(DeadLetterReason.UNDECODABLE, "x", 1_000 + i));
    }
    String summary = log.onDeadLetter(DeadLetterReason.UNDECODABLE, "a9", 60_010);
    assertTrue(
        summary.startsWith("6 dead letters with reason UNDECODABLE in the last 60 s"), summary);
    assertTrue(summary.endsWith("latest: a9"), summary);
    assertNull(log.onDeadLetter(DeadLetterReason.UNDECODABLE, "y", 60_011), "a new window");
  }
}
