package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots: export, IMPORT as a fork or a rewind, bit for bit; bad snapshots refused. */
class SessionSnapshotTest {
  private static final Instant T0 = TopologyHarness.T0;
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults().withMaxEventTextBytes(512);

  private static InfiniModel model;

  @TempDir Path stateDir;

  private TopologyHarness t;
  private KeyValueStore<String, StoredSession> sessions;
  private KeyValueStore<MemoryKey, StoredHeadMemory> memory;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3).withShortConv(2), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @BeforeEach
  void startDriver() {
    t = new TopologyHarness(SETTINGS, model, ProcessorMetrics.NONE, stateDir);
    sessions = t.sessions;
    memory = t.memory;
  }

  @AfterEach
  void closeDriver() {
    t.close();
  }

  private OutputEvent send(String key, long seq, EventKind kind, String text, byte[] snapshot) {
    InputEvent e = TopologyHarness.event(seq, kind, text);
    e.setSnapshot(snapshot == null ? null : ByteBuffer.wrap(snapshot));
    t.send(key, e);
    return t.output.isEmpty() ? null : t.output.readValue();
  }

  private OutputEvent append(String key, long seq, String text) {
    return send(key, seq, EventKind.APPEND, text, null);
  }

  private OutputEvent importTo(String key, long seq, byte[] snapshot) {
    return send(key, seq, EventKind.IMPORT, "", snapshot);
  }

  private byte[] export(String key) {
    return SessionSnapshots.encode(SessionSnapshots.export(key, sessions, memory, T0));
  }

  /** hex of each head memory record of {@code key}, by (layer, head). */
  private Map<String, String> heads(String key) {
    Map<String, String> out = new TreeMap<>();
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(memory, key)) {
      out.put(
          kv.key.layer() + "/" + kv.key.head(),
          HexFormat.of().formatHex(InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", kv.value)));
    }
    return out;
  }

  private String deadLetterReason() {
    TestRecord<byte[], byte[]> r = t.deadLetters.readRecord();
    return new String(
        r.headers().lastHeader(DeadLetterReason.HEADER).value(), StandardCharsets.UTF_8);
  }

  private static String text(int n, int seed) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append((char) ('a' + (i * 7 + seed * 13 + i / 5) % 26));
    }
    return b.toString();
  }

  @Test
  void aForkIsTheSameStateBitForBitAndGoesOnTheSameWay() {
    append("a", 1, text(120, 1));
    append("a", 2, text(37, 2));
    byte[] snapshot = export("a");

    OutputEvent imported = importTo("b", 1, snapshot);
    assertEquals(EventKind.IMPORT, imported.getKind());
    assertEquals(0, imported.getTokensThisEvent());
    assertEquals(sessions.get("a").getTokensAbsorbed(), imported.getTokensTotal());
    assertEquals(sessions.get("a").getSegmentsAbsorbed(), imported.getSegmentsTotal());
    assertEquals(heads("a"), heads("b"));
    assertEquals(model.config().layers() * model.config().heads(), heads("b").size());
    assertEquals(1, sessions.get("b").getLastSeq());

    // Exported again, the fork's records are the same bytes as the original's.
    SessionSnapshot again = SessionSnapshots.export("b", sessions, memory, T0);
    SessionSnapshot first = SessionSnapshots.decode(snapshot).snapshot();
    assertEquals(first.getMemories(), again.getMemories());

    // The same event on both: the same memory and the same surprise.
    OutputEvent onA = append("a", 3, text(90, 3));
    OutputEvent onB = append("b", 2, text(90, 3));
    assertEquals(heads("a"), heads("b"));
    assertEquals(onA.getSurpriseBitsPerByte(), onB.getSurpriseBitsPerByte());
    assertEquals(onA.getTokensTotal(), onB.getTokensTotal());
  }

  @Test
  void aRewindRestoresTheEarlierStateAndKeepsTheSequence() {
    append("a", 1, text(150, 4));
    Map<String, String> before = heads("a");
    byte[] snapshot = export("a");
    append("a", 2, text(200, 5));
    assertNotEquals(before, heads("a"));

    OutputEvent rewound = importTo("a", 3, snapshot);
    assertEquals(EventKind.IMPORT, rewound.getKind());
    assertEquals(before, heads("a"));
    assertEquals(3, sessions.get("a").getLastSeq(), "the IMPORT used up its seq");
    assertEquals(1 + 150, sessions.get("a").getTokensAbsorbed());
  }

  @Test
  void importingAStreamWithoutMemoriesDeletesTheTargetsMemories() {
    append("young", 1, text(60, 8));
    send("young", 2, EventKind.RESET, "", null); // a RESET leaves no head records
    assertTrue(heads("young").isEmpty());
    byte[] snapshot = export("young");
    append("old", 1, text(200, 6));
    assertTrue(!heads("old").isEmpty());

    importTo("old", 2, snapshot);
    assertTrue(heads("old").isEmpty(), "a fork of a stream with zero memories");
    OutputEvent next = append("old", 3, "!");
    assertEquals(1 + 1, next.getTokensTotal());
  }

  @Test
  void badSnapshotsAreRefusedAndChangeNothing() {
    append("a", 1, text(120, 7));
    byte[] good = export("a");
    Map<String, String> stores = t.records();

    assertEquals(null, importTo("a", 2, null));
    assertEquals("INVALID_SNAPSHOT", deadLetterReason());

    assertEquals(null, importTo("a", 2, new byte[] {1, 2, 3}));
    assertEquals("INVALID_SNAPSHOT", deadLetterReason());

    SessionSnapshot tampered = SessionSnapshots.decode(good).snapshot();
    List<ByteBuffer> memories = new ArrayList<>(tampered.getMemories());
    byte[] m = memories.get(0).array().clone();
    m[m.length - 20] ^= 1; // one bit of a float of M
    memories.set(0, ByteBuffer.wrap(m));
    tampered.setMemories(memories);
    assertEquals(null, importTo("a", 2, SessionSnapshots.encode(tampered)));
    assertEquals("INVALID_SNAPSHOT", deadLetterReason());

    SessionSnapshot otherModel = SessionSnapshots.decode(good).snapshot();
    otherModel.setModelFingerprint("0".repeat(64));
    assertEquals(null, importTo("a", 2, SessionSnapshots.encode(otherModel)));
    assertEquals("FINGERPRINT_MISMATCH", deadLetterReason());

    assertEquals(stores, t.records(), "refused imports wrote nothing");
    // The seq was not used up: a good import with it is applied.
    assertEquals(EventKind.IMPORT, importTo("a", 2, good).getKind());
    assertArrayEquals(
        SessionSnapshots.decode(good).snapshot().getMemories().toArray(),
        SessionSnapshots.export("a", sessions, memory, T0).getMemories().toArray());
  }
}
