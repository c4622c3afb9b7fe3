package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sessionTtlMillis}: idle streams are removed by the sweep, active ones are kept. */
class SessionTtlTest {
  private static final Instant T0 = TopologyHarness.T0;
  private static final Duration TTL = Duration.ofHours(1);
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults().withMaxEventTextBytes(256).withSessionTtlMillis(TTL.toMillis());

  private static InfiniModel model;

  @TempDir Path stateDir;

  private TopologyHarness t;
  private TopologyTestDriver driver;
  private TestOutputTopic<String, OutputEvent> output;
  private TestOutputTopic<byte[], byte[]> deadLetters;
  private KeyValueStore<String, StoredSession> sessions;
  private KeyValueStore<MemoryKey, StoredHeadMemory> memory;
  private final AtomicLong expired = new AtomicLong();

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @BeforeEach
  void startDriver() {
    ProcessorMetrics metrics =
        new ProcessorMetrics() {
          @Override
          public void sessionsExpired(long count) {
            expired.addAndGet(count);
          }
        };
    t = new TopologyHarness(SETTINGS, model, metrics, stateDir);
    driver = t.driver;
    output = t.output;
    deadLetters = t.deadLetters;
    sessions = t.sessions;
    memory = t.memory;
  }

  @AfterEach
  void closeDriver() {
    t.close();
  }

  private void append(String key, long seq, String text) {
    t.send(key, TopologyHarness.event(seq, EventKind.APPEND, text));
  }

  private int heads(String key) {
    return MemoryKey.heads(memory, key).size();
  }

  @Test
  void anIdleStreamIsRemovedAndAnActiveOneKept() {
    String text = "x".repeat(60); // compresses segments: head memories are stored
    append("idle", 1, text);
    append("active", 1, text);
    assertEquals(2, output.readValuesToList().size());
    int allHeads = model.config().layers() * model.config().heads();
    assertEquals(allHeads, heads("idle"));
    assertEquals(T0.toEpochMilli(), sessions.get("idle").getLastAppliedMillis());

    driver.advanceWallClockTime(TTL.minusMinutes(10));
    append("active", 2, "still here");
    output.readValue();
    assertEquals(0, expired.get(), "nothing is idle for the whole time-to-live yet");
    assertNotNull(sessions.get("idle"));

    driver.advanceWallClockTime(Duration.ofMinutes(11)); // idle: TTL + 1 min; active: 11 min
    assertEquals(1, expired.get());
    assertNull(sessions.get("idle"));
    assertEquals(0, heads("idle"), "head memories deleted with the session");
    assertNotNull(sessions.get("active"));
    assertEquals(allHeads, heads("active"));
    assertEquals(2, sessions.get("active").getLastSeq());
    assertTrue(output.isEmpty(), "removal emits no output");

    // The removed key starts over: seq 2 is a gap from 0, seq 1 is a new stream.
    append("idle", 2, "more");
    TestRecord<byte[], byte[]> gap = deadLetters.readRecord();
    Header reason = gap.headers().lastHeader(DeadLetterReason.HEADER);
    assertEquals("SEQ_GAP", new String(reason.value(), StandardCharsets.UTF_8));
    Header last = gap.headers().lastHeader(DeadLetterReason.LAST_SEQ_HEADER);
    assertEquals("0", new String(last.value(), StandardCharsets.UTF_8));
    append("idle", 1, "again");
    OutputEvent fresh = output.readValue();
    assertEquals(1 + "again".length(), fresh.getTokensTotal());
  }

  @Test
  void aSessionWithoutItsLastAppliedTimeIsStampedThenExpires() {
    append("old", 1, "from before the field existed");
    output.readValue();
    StoredSession s = sessions.get("old");
    s.setLastAppliedMillis(0L);
    sessions.put("old", s);

    driver.advanceWallClockTime(Duration.ofMinutes(6)); // one sweep: stamps it
    assertEquals(0, expired.get());
    long stamped = sessions.get("old").getLastAppliedMillis();
    assertTrue(stamped > T0.toEpochMilli(), "stamped with the sweep's time: " + stamped);

    driver.advanceWallClockTime(TTL);
    assertEquals(1, expired.get());
    assertNull(sessions.get("old"));
  }

  /**
   * A stored session that does not decode does not stop the sweep: the idle streams around it
   * expire, it stays (its stream takes only a DELETE).
   */
  @Test
  void anUnreadableSessionNeitherExpiresNorStopsTheSweep() {
    append("a-idle", 1, "x".repeat(60));
    append("b-unreadable", 1, "x".repeat(60));
    append("c-idle", 1, "x".repeat(60));
    output.readValuesToList();
    TopologyHarness.rawStore(driver, SETTINGS.sessionsStore())
        .put(Bytes.wrap("b-unreadable".getBytes(StandardCharsets.UTF_8)), new byte[] {1, 2, 3});

    driver.advanceWallClockTime(TTL.plusMinutes(6));
    assertEquals(2, expired.get());
    assertNull(sessions.get("a-idle"));
    assertNull(sessions.get("c-idle"));
    assertEquals(0, heads("a-idle") + heads("c-idle"));
    assertEquals(
        1,
        TopologyHarness.rawRecords(driver, SETTINGS.sessionsStore()).size(),
        "the unreadable session stays");
  }
}
