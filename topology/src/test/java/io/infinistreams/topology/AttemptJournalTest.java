package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttemptJournalTest {
  @TempDir Path dir;

  private static final AttemptJournal.Source A = new AttemptJournal.Source("in", 0, 10);
  private static final AttemptJournal.Source B = new AttemptJournal.Source("in", 1, 4);

  @Test
  void anUnfinishedAttemptSurvivesAProcessThatNeverClosedTheFile() {
    Path file = dir.resolve("a").resolve("0_0");
    AttemptJournal crashed = AttemptJournal.open(file);
    crashed.begin(A, 0);
    crashed.begin(B, 0);
    crashed.finish(B);
    // no close(): the process died here
    try (AttemptJournal again = AttemptJournal.open(file)) {
      assertEquals(List.of(A), List.copyOf(again.entries().keySet()));
      assertEquals(2, again.begin(A, 0).attempts());
      again.failed(A, new OutOfMemoryError("tab\there, newline\nthere"));
    }
    try (AttemptJournal again = AttemptJournal.open(file)) {
      AttemptJournal.Entry e = again.entries().get(A);
      assertEquals(2, e.attempts());
      assertTrue(e.lastError().startsWith("java.lang.OutOfMemoryError: tab here, newline there"));
    }
    crashed.close();
  }

  @Test
  void aLaterOffsetOfTheSamePartitionPrunesEarlierOnesOnly() {
    try (AttemptJournal j = AttemptJournal.open(dir.resolve("j"))) {
      j.begin(A, 0);
      j.begin(B, 0);
      j.begin(new AttemptJournal.Source("other", 0, 99), 0);
      j.begin(new AttemptJournal.Source("in", 0, 11), 0);
      assertEquals(
          List.of(B, new AttemptJournal.Source("other", 0, 99)),
          j.entries().keySet().stream()
              .filter(s -> s.offset() != 11)
              .sorted(java.util.Comparator.comparing(AttemptJournal.Source::topic))
              .toList());
      assertEquals(3, j.entries().size());
    }
  }

  /**
   * A conviction survives later records of its partition for a while (an abort may replay its
   * record) and is returned as it is, not counted again; after the keep time it goes.
   */
  @Test
  void aConvictionOutlivesLaterRecordsUntilItsKeepTime() {
    try (AttemptJournal j = AttemptJournal.open(dir.resolve("verdicts"))) {
      j.begin(A, 1_000);
      j.convict(A, 1_000);
      AttemptJournal.Source next = new AttemptJournal.Source("in", 0, 11);
      j.begin(next, 2_000);
      assertTrue(j.entries().get(A).convicted(), "kept past a later record");
      AttemptJournal.Entry again = j.begin(A, 3_000);
      assertTrue(again.convicted());
      assertEquals(1, again.attempts(), "a convicted record is not counted again");
      j.begin(next, 1_000 + AttemptJournal.VERDICT_KEEP_MILLIS);
      assertEquals(List.of(next), List.copyOf(j.entries().keySet()), "gone after the keep time");
    }
  }

  @Test
  void aDamagedFileStartsOver() throws Exception {
    Path file = dir.resolve("damaged");
    Files.writeString(file, "in\t0\t10\tnot-a-number\t\n", StandardCharsets.UTF_8);
    try (AttemptJournal j = AttemptJournal.open(file)) {
      assertTrue(j.entries().isEmpty());
      assertEquals(1, j.begin(A, 0).attempts());
    }
    Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, 0});
    try (AttemptJournal j = AttemptJournal.open(file)) {
      assertTrue(j.entries().isEmpty());
      j.begin(A, 0);
    }
    assertEquals("in\t0\t10\t1\t\t0\n", Files.readString(file, StandardCharsets.UTF_8));
  }
}
