package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DELETE removes a stream's session and every head memory, in order with its other events and only
 * at its next seq; the key then starts a new stream at seq 1, as after the time-to-live.
 */
class SessionDeleteTest {
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults().withAbsorbChunkTokens(7);
  private static InfiniModel model;

  @TempDir Path stateDir;
  private TopologyHarness h;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @BeforeEach
  void start() {
    h = new TopologyHarness(SETTINGS, model, ProcessorMetrics.NONE, stateDir);
  }

  @AfterEach
  void stop() {
    h.close();
  }

  private static InputEvent event(long seq, EventKind kind, String text) {
    return TopologyHarness.event(seq, kind, text);
  }

  private Map<String, String> recordsOf(String key) {
    return h.stream(key);
  }

  private String deadLetterReason() {
    return new String(
        h.deadLetters.readRecord().headers().lastHeader(DeadLetterReason.HEADER).value(),
        StandardCharsets.UTF_8);
  }

  @Test
  void deleteRemovesEveryRecordOfTheStreamAndOnlyThose() {
    String long1 = "a stream long enough to compress segments into every head. ".repeat(3);
    h.send("a", event(1, EventKind.APPEND, long1));
    h.send("a", event(2, EventKind.APPEND, "more"));
    h.send("b", event(1, EventKind.APPEND, long1));
    assertTrue(recordsOf("a").size() > 1, "session and head memories stored");
    Map<String, String> b = recordsOf("b");
    h.output.readValuesToList();

    h.send("a", event(5, EventKind.DELETE, ""));
    assertEquals("SEQ_GAP", deadLetterReason(), "a DELETE takes the next seq like any event");
    assertTrue(recordsOf("a").size() > 1, "a refused DELETE deletes nothing");

    h.send("a", event(3, EventKind.DELETE, ""));
    OutputEvent out = h.output.readValue();
    assertEquals(EventKind.DELETE, out.getKind());
    assertEquals(3, out.getSeq());
    assertEquals(0, out.getTokensTotal());
    assertEquals(Map.of(), recordsOf("a"));
    assertNull(h.sessions.get("a"));
    assertEquals(b, recordsOf("b"), "other streams untouched");

    // The key starts afresh at seq 1, with exactly the state of a stream that never existed.
    h.send("a", event(1, EventKind.APPEND, long1));
    assertEquals(1, h.output.readValue().getSeq());
    Map<String, String> reborn = recordsOf("a");
    Map<String, String> fresh = recordsOf("b");
    reborn.remove("session");
    fresh.remove("session");
    assertEquals(fresh, reborn, "head memories as a new stream's, bit for bit");
  }

  @Test
  void deletingAStreamThatDoesNotExistIsANoOpWithAnOutput() {
    h.send("ghost", event(1, EventKind.DELETE, ""));
    assertEquals(EventKind.DELETE, h.output.readValue().getKind());
    assertEquals(Map.of(), recordsOf("ghost"));
    h.send("ghost", event(2, EventKind.DELETE, ""));
    assertEquals("SEQ_GAP", deadLetterReason(), "nothing was stored, so seq 1 is next again");
  }

  /**
   * A stored session that does not decode (written by a newer version, or damaged) takes no event
   * but a DELETE: others are dead-lettered as STATE_UNREADABLE with nothing written; the DELETE,
   * whatever its seq, removes the session and every head, also one that does not decode, and the
   * key starts over. Other streams are untouched.
   */
  @Test
  void anUnreadableSessionTakesOnlyADeleteWhichRemovesEveryRecord() {
    String text = "a stream long enough to compress segments into every head. ".repeat(3);
    h.send("a", event(1, EventKind.APPEND, text));
    h.send("b", event(1, EventKind.APPEND, text));
    Map<String, String> b = recordsOf("b");
    h.output.readValuesToList();
    KeyValueStore<Bytes, byte[]> sessions =
        TopologyHarness.rawStore(h.driver, SETTINGS.sessionsStore());
    KeyValueStore<Bytes, byte[]> memory =
        TopologyHarness.rawStore(h.driver, SETTINGS.memoryStore());
    byte[] garbage = {(byte) 0xC3, 0x01, 0x7F, 0x00, 0x42};
    sessions.put(Bytes.wrap("a".getBytes(StandardCharsets.UTF_8)), garbage);
    memory.put(Bytes.wrap(new MemoryKey("a", 0, 1).toBytes()), garbage);
    Map<String, String> before = TopologyHarness.rawRecords(h.driver, SETTINGS.sessionsStore());
    before.putAll(TopologyHarness.rawRecords(h.driver, SETTINGS.memoryStore()));

    for (EventKind kind : new EventKind[] {EventKind.APPEND, EventKind.GENERATE, EventKind.RESET}) {
      h.send("a", event(2, kind, "more"));
      assertEquals("STATE_UNREADABLE", deadLetterReason(), kind.name());
    }
    Map<String, String> after = TopologyHarness.rawRecords(h.driver, SETTINGS.sessionsStore());
    after.putAll(TopologyHarness.rawRecords(h.driver, SETTINGS.memoryStore()));
    assertEquals(before, after, "refused events write nothing");
    assertTrue(h.output.isEmpty());

    h.send("a", event(17, EventKind.DELETE, ""));
    OutputEvent deleted = h.output.readValue();
    assertEquals(EventKind.DELETE, deleted.getKind());
    assertEquals(17, deleted.getSeq());
    assertTrue(h.deadLetters.isEmpty());
    assertEquals(Map.of(), recordsOf("a"), "session and every head removed");
    assertEquals(b, recordsOf("b"), "another stream is untouched");

    h.send("a", event(1, EventKind.APPEND, "a new stream"));
    assertEquals(1, h.output.readValue().getSeq());
    assertTrue(recordsOf("a").containsKey("session"), "the key starts over at seq 1");
  }

  /**
   * A head memory that does not decode under a readable session: an APPEND that reads it is
   * dead-lettered as STATE_UNREADABLE with nothing written and its seq still expected; a RESET at
   * that seq replaces every head, the unreadable one included.
   */
  @Test
  void anUnreadableHeadRefusesAppendsUntilAResetReplacesIt() {
    String text = "a stream long enough to compress segments into every head. ".repeat(3);
    h.send("a", event(1, EventKind.APPEND, text));
    h.output.readValuesToList();
    TopologyHarness.rawStore(h.driver, SETTINGS.memoryStore())
        .put(Bytes.wrap(new MemoryKey("a", 1, 0).toBytes()), new byte[] {9, 9, 9});
    Map<String, String> before = TopologyHarness.rawRecords(h.driver, SETTINGS.memoryStore());

    h.send("a", event(2, EventKind.APPEND, "more"));
    assertEquals("STATE_UNREADABLE", deadLetterReason());
    assertEquals(before, TopologyHarness.rawRecords(h.driver, SETTINGS.memoryStore()));

    h.send("a", event(2, EventKind.RESET, ""));
    assertEquals(EventKind.RESET, h.output.readValue().getKind());
    assertEquals(Set.of("session"), recordsOf("a").keySet(), "every head removed");
    h.send("a", event(3, EventKind.APPEND, text));
    assertEquals(3, h.output.readValue().getSeq());
    assertTrue(recordsOf("a").size() > 1, "heads written again");
  }
}
