package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.OutputEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record that stops the processor every time it is applied (here an Error thrown by the model; in
 * production also a native crash or kill -9) is dead-lettered as CRASH_LOOP once it has done so
 * {@code maxCrashesPerEvent} times, instead of stopping the partition for good. Each "restart" is a
 * new TopologyTestDriver on the same state folder, reading the same record at the same offset, as
 * the restarted application does after an aborted transaction.
 */
class CrashLoopTest {
  private static final String APP = TopologyHarness.APPLICATION_ID;
  private static InfiniModel model;

  @TempDir Path stateDir;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny(), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** One run of the application: a driver over the shared state folder with a faulty model. */
  private final class Run implements AutoCloseable {
    final FaultyModelCalls faults = new FaultyModelCalls(model);
    final TopologyHarness harness;
    final TestOutputTopic<String, OutputEvent> output;
    final TestOutputTopic<byte[], byte[]> deadLetters;

    Run(TopologySettings settings) {
      harness = new TopologyHarness(settings, model, faults, stateDir);
      output = harness.output;
      deadLetters = harness.deadLetters;
    }

    void send(long seq, String text) {
      send("s", seq, text);
    }

    void send(String key, long seq, String text) {
      harness.send(key, TopologyHarness.event(seq, EventKind.APPEND, text));
    }

    @Override
    public void close() {
      try {
        harness.close();
      } catch (RuntimeException e) {
        // a driver whose task died on an Error may not close cleanly; the next run opens afresh
      }
    }
  }

  /** The topic the processor reads: the repartition topic (on by default). */
  private static String processorTopic() {
    return InfiniTopology.repartitionTopic(APP);
  }

  private Path journalFile() {
    return stateDir.resolve("infini-attempts").resolve(APP).resolve("0_0");
  }

  private Map<AttemptJournal.Source, AttemptJournal.Entry> journal() {
    try (AttemptJournal j = AttemptJournal.open(journalFile())) {
      return j.entries();
    }
  }

  private static String header(TestRecord<byte[], byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void aRecordThatKeepsCrashingIsDeadLetteredOnceItReachesTheLimit() {
    TopologySettings settings = TopologySettings.defaults().withMaxCrashesPerEvent(2);
    AttemptJournal.Source first = new AttemptJournal.Source(processorTopic(), 0, 0);
    for (int crash = 1; crash <= 2; crash++) {
      try (Run run = new Run(settings)) {
        run.faults.failCall(1, new OutOfMemoryError("test: no room for the segment"));
        assertThrows(OutOfMemoryError.class, () -> run.send(1, "poison"));
        AttemptJournal.Entry entry = journal().get(first);
        assertEquals(crash, entry.attempts(), "attempts counted before the record is applied");
        assertTrue(entry.lastError().contains("no room for the segment"), entry.lastError());
      }
    }
    try (Run run = new Run(settings)) {
      run.faults.failCall(1, new OutOfMemoryError("test: would crash a third time"));
      run.send(1, "poison");
      assertTrue(run.faults.armed(), "the model is not called for a record in a crash loop");
      assertTrue(run.output.isEmpty());
      TestRecord<byte[], byte[]> dead = run.deadLetters.readRecord();
      assertEquals("CRASH_LOOP", header(dead, DeadLetterReason.HEADER));
      assertEquals(settings.inputTopic() + "/0/0", header(dead, DeadLetterReason.SOURCE_HEADER));
      assertTrue(
          header(dead, DeadLetterReason.EXCEPTION_HEADER).contains("no room for the segment"),
          "the dead letter carries the last Error");
      assertEquals("poison", InfiniTopology.INPUT_SERDE.deserialize("t", dead.value()).getText());
      assertTrue(journal().get(first).convicted(), "kept as a verdict in case of an abort");

      // The stream's seq was not used up: the same event sent again (next offset) is applied.
      run.faults.disarm();
      run.send(1, "poison");
      OutputEvent applied = run.output.readValue();
      assertEquals(1, applied.getSeq());
      assertEquals(6, applied.getTokensThisEvent());
      assertEquals(java.util.Set.of(first), journal().keySet(), "only the verdict is kept");
    }
  }

  /**
   * Two poison records in a row: the first's dead letter and the second's crash share a
   * transaction, whose abort replays the first; its verdict makes the replay a dead letter at once,
   * so the crashes add up (one per record here) instead of multiplying.
   */
  @Test
  void aConvictedRecordReplayedByAnAbortIsDeadLetteredWithoutAnotherCrash() {
    TopologySettings settings = TopologySettings.defaults().withMaxCrashesPerEvent(1);
    try (Run run = new Run(settings)) {
      run.faults.failCall(1, new OutOfMemoryError("test: A"));
      assertThrows(OutOfMemoryError.class, () -> run.send(1, "poison A"));
    }
    try (Run run = new Run(settings)) { // A convicted, then B crashes: the transaction aborts
      run.send(1, "poison A");
      assertEquals("CRASH_LOOP", header(run.deadLetters.readRecord(), DeadLetterReason.HEADER));
      run.faults.failCall(1, new OutOfMemoryError("test: B"));
      assertThrows(OutOfMemoryError.class, () -> run.send("t", 1, "poison B"));
    }
    try (Run run = new Run(settings)) { // the replay: A refused at once, B at its limit
      run.faults.failCall(1, new OutOfMemoryError("test: would be a third crash"));
      run.send(1, "poison A");
      run.send("t", 1, "poison B");
      assertTrue(run.faults.armed(), "no model call: neither record crashes again");
      assertEquals(2, run.deadLetters.readRecordsToList().size());
      assertTrue(run.output.isEmpty());
    }
  }

  @Test
  void recordsThatFinishAreForgottenAndEarlierOffsetsArePruned() {
    TopologySettings settings = TopologySettings.defaults();
    try (Run run = new Run(settings)) {
      run.send(1, "fine");
      run.faults.failCall(1, new IllegalStateException("test: a poison pill"));
      run.send(2, "dead-lettered as PROCESSING_ERROR");
      assertEquals(1, run.output.readValuesToList().size());
      assertEquals(
          "PROCESSING_ERROR", header(run.deadLetters.readRecord(), DeadLetterReason.HEADER));
      assertTrue(journal().isEmpty(), "applied and dead-lettered records both finish");
      run.faults.failCall(1, new StackOverflowError("test"));
      assertThrows(StackOverflowError.class, () -> run.send(2, "crashes"));
      assertEquals(Map.of(new AttemptJournal.Source(processorTopic(), 0, 2), 1), attempts());
    }
    // After the restart the partition is read from offset 0 again (this driver's offsets start
    // over), and the record at offset 0 finishes: the entry at offset 2 stays until offset 2 is
    // read, and finishes there. (Whether these are applied or duplicates depends on what the
    // driver kept of the first run's stores; the journal does not.)
    try (Run run = new Run(settings)) {
      run.send(1, "fine");
      assertEquals(Map.of(new AttemptJournal.Source(processorTopic(), 0, 2), 1), attempts());
      run.send(2, "fine now");
      run.send(3, "and after");
      assertTrue(journal().isEmpty());
    }
  }

  @Test
  void zeroCrashesPerEventKeepsNoJournal() {
    TopologySettings settings = TopologySettings.defaults().withMaxCrashesPerEvent(0);
    try (Run run = new Run(settings)) {
      run.faults.failCall(1, new OutOfMemoryError("test"));
      assertThrows(OutOfMemoryError.class, () -> run.send(1, "poison"));
    }
    assertFalse(Files.exists(journalFile()));
    try (Run run = new Run(settings)) {
      run.send(1, "poison");
      assertEquals(1, run.output.readValue().getSeq(), "retried, not dead-lettered");
    }
  }

  private Map<AttemptJournal.Source, Integer> attempts() {
    Map<AttemptJournal.Source, Integer> m = new java.util.LinkedHashMap<>();
    journal().forEach((s, e) -> m.put(s, e.attempts()));
    return m;
  }
}
