package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.MemoryRead;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several models side by side ({@link Models}): a stream written by a previous model goes on under
 * it bit for bit (policy serve), is started afresh under the serving model with a header saying so
 * (policy reset), or is refused (policy dead-letter); new streams get the serving model.
 */
class ModelUpgradeTest {
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults().withMaxEventTextBytes(512).withAbsorbChunkTokens(7);

  /** The old model: the tiny shape with an overlap. */
  private static InfiniModel a;

  /** The new model: other layers, heads, key and value sizes, overlap and weights. */
  private static InfiniModel b;

  @TempDir Path root;

  private final List<TopologyHarness> harnesses = new ArrayList<>();

  @BeforeAll
  static void createModels() {
    a = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7);
    b =
        InfiniModel.create(
            new ModelConfig(
                264, 32, 3, 4, 12, 6, 64, 16, UpdateRule.GATED, MemoryRead.NORMALIZED, 10000f, 5),
            11);
  }

  @AfterAll
  static void closeModels() {
    a.close();
    b.close();
  }

  @AfterEach
  void closeDrivers() {
    harnesses.forEach(TopologyHarness::close);
  }

  private TopologyHarness deployment(String name, Models models, ProcessorMetrics metrics) {
    TopologyHarness h = new TopologyHarness(SETTINGS, models, metrics, root.resolve(name));
    harnesses.add(h);
    return h;
  }

  private TopologyHarness deployment(String name, Models models) {
    return deployment(name, models, ProcessorMetrics.NONE);
  }

  private static String text(int n, int seed) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < n; i++) {
      s.append((char) ('a' + (i * 7 + seed * 13 + i / 5) % 26));
    }
    return s.toString();
  }

  private static InputEvent append(long seq, String text) {
    return TopologyHarness.event(seq, EventKind.APPEND, text);
  }

  private static InputEvent generate(long seq, String prompt) {
    InputEvent e = TopologyHarness.event(seq, EventKind.GENERATE, prompt);
    e.setGeneration(new Generation(6, 0f, 0L, PromptFormat.RAW));
    return e;
  }

  private static InputEvent pinned(InputEvent e, InfiniModel m) {
    return InputEvent.newBuilder(e).setModelFingerprint(m.fingerprint().substring(0, 12)).build();
  }

  /** Sends {@code e} and returns its output record, or null if it was dead-lettered. */
  private static TestRecord<String, OutputEvent> send(TopologyHarness h, String key, InputEvent e) {
    h.send(key, e);
    return h.output.isEmpty() ? null : h.output.readRecord();
  }

  /** Sends {@code e}, which must be dead-lettered, and returns the reason. */
  private static String refused(TopologyHarness h, String key, InputEvent e) {
    h.send(key, e);
    assertTrue(h.output.isEmpty(), "no output for a refused event");
    TestRecord<byte[], byte[]> r = h.deadLetters.readRecord();
    return new String(
        r.headers().lastHeader(DeadLetterReason.HEADER).value(), StandardCharsets.UTF_8);
  }

  /** The stream's records as stored: "session" and "layer/head" -> hex of the value bytes. */
  private static Map<String, String> stream(TopologyHarness h, String key) {
    return h.stream(key);
  }

  /** Puts stream {@code key}'s records of {@code from} into {@code to}, as they are. */
  private static void copyStream(TopologyHarness from, TopologyHarness to, String key) {
    to.sessions.put(key, from.sessions.get(key));
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(from.memory, key)) {
      to.memory.put(kv.key, kv.value);
    }
  }

  private static String header(TestRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** The output without its latency, which differs between runs. */
  private static OutputEvent withoutLatency(OutputEvent o) {
    return OutputEvent.newBuilder(o).setLatencyMicros(0).build();
  }

  @Test
  void servePolicyContinuesAPreviousModelsStreamBitForBitAndNewStreamsGetTheServingModel() {
    // The reference: a deployment of model A only.
    TopologyHarness onlyA = deployment("only-a", Models.of(a));
    // The mixed deployment: B serves, A is loaded as a previous model.
    Recording metrics = new Recording();
    TopologyHarness mixed =
        deployment("mixed", Models.of(b, List.of(a), Models.UpgradePolicy.SERVE), metrics);

    // A wrote the stream's first events; its stored records move to the mixed deployment as they
    // are (as they would be after a restart with the new configuration).
    send(onlyA, "s", append(1, text(57, 1)));
    send(onlyA, "s", append(2, text(40, 2)));
    copyStream(onlyA, mixed, "s");
    assertEquals(stream(onlyA, "s"), stream(mixed, "s"));

    // The same next events on both: the same outputs and the same records, bit for bit.
    List<InputEvent> next =
        List.of(
            append(3, text(33, 3)),
            append(4, text(5, 4)), // continues from the open-segment cache
            generate(5, text(12, 5)),
            append(6, text(70, 6)),
            pinned(append(7, text(9, 7)), a)); // pinned to the model that applies it
    for (InputEvent e : next) {
      TestRecord<String, OutputEvent> ref = send(onlyA, "s", e);
      TestRecord<String, OutputEvent> got = send(mixed, "s", e);
      assertEquals(withoutLatency(ref.value()), withoutLatency(got.value()), "seq " + e.getSeq());
      assertEquals(a.fingerprint(), got.value().getModelFingerprint());
      assertNull(header(got, InfiniTopology.CONTEXT_RESET_HEADER));
      assertEquals(stream(onlyA, "s"), stream(mixed, "s"), "seq " + e.getSeq());
    }
    assertEquals(
        a.config().layers() * a.config().heads(), stream(mixed, "s").size() - 1, "A's heads");

    // Pinned to the serving model, an event of A's stream is refused: A applies it.
    Map<String, String> before = stream(mixed, "s");
    assertEquals("FINGERPRINT_MISMATCH", refused(mixed, "s", pinned(append(8, "x"), b)));
    assertEquals(before, stream(mixed, "s"));

    // A new stream gets the serving model B, with B's shapes.
    TestRecord<String, OutputEvent> fresh = send(mixed, "n", append(1, text(50, 8)));
    assertEquals(b.fingerprint(), fresh.value().getModelFingerprint());
    assertEquals(b.fingerprint(), mixed.sessions.get("n").getModelFingerprint());
    assertEquals(b.config().layers() * b.config().heads(), stream(mixed, "n").size() - 1);
    StoredHeadMemory head = mixed.memory.get(new MemoryKey("n", 2, 3));
    assertEquals(b.config().dKey(), head.getDKey());
    assertEquals(b.fingerprint(), head.getModelFingerprint());

    // A RESET moves A's stream to the serving model; it goes on under B.
    TestRecord<String, OutputEvent> reset =
        send(mixed, "s", TopologyHarness.event(8, EventKind.RESET, ""));
    assertEquals(b.fingerprint(), reset.value().getModelFingerprint());
    assertEquals(b.fingerprint(), mixed.sessions.get("s").getModelFingerprint());
    assertTrue(MemoryKey.heads(mixed.memory, "s").isEmpty(), "A's heads deleted");
    assertEquals(
        b.fingerprint(), send(mixed, "s", append(9, "after")).value().getModelFingerprint());

    // A stream of a model that is not loaded is refused, and nothing is written.
    send(mixed, "c", append(1, text(20, 9)));
    StoredSession other =
        StoredSession.newBuilder(mixed.sessions.get("c"))
            .setModelFingerprint("c".repeat(64))
            .build();
    mixed.sessions.put("c", other);
    Map<String, String> all = mixed.records();
    assertEquals("FINGERPRINT_MISMATCH", refused(mixed, "c", append(2, "y")));
    assertEquals(
        "FINGERPRINT_MISMATCH", refused(mixed, "c", TopologyHarness.event(2, EventKind.RESET, "")));
    assertEquals(all, mixed.records());

    assertEquals(5, metrics.byModel.get(a.fingerprint()));
    assertEquals(4, metrics.byModel.get(b.fingerprint()));
    assertEquals(0, metrics.contextResets);
  }

  @Test
  void resetPolicyStartsAnotherModelsStreamAfreshOnceAndSaysSo() {
    // B wrote the stream (3 layers of 4 heads); A serves (2 layers of 2 heads) under policy reset.
    TopologyHarness onlyB = deployment("only-b", Models.of(b));
    Recording metrics = new Recording();
    TopologyHarness upgraded =
        deployment("upgraded", Models.of(a, List.of(), Models.UpgradePolicy.RESET), metrics);
    send(onlyB, "s", append(1, text(90, 1)));
    send(onlyB, "s", append(2, text(25, 2)));
    copyStream(onlyB, upgraded, "s");
    Map<String, String> old = upgraded.records();

    // Events the stream does not accept leave the old state alone: no reset.
    assertEquals("DUPLICATE_SEQ", refused(upgraded, "s", append(2, "again")));
    assertEquals("SEQ_GAP", refused(upgraded, "s", append(4, "later")));
    assertEquals("FINGERPRINT_MISMATCH", refused(upgraded, "s", pinned(append(3, "old"), b)));
    assertEquals(old, upgraded.records());

    // The first applicable event drops B's state and is applied to a fresh stream under A.
    String third = text(40, 3);
    TestRecord<String, OutputEvent> out = send(upgraded, "s", append(3, third));
    assertEquals(a.fingerprint(), out.value().getModelFingerprint());
    assertEquals(b.fingerprint(), header(out, InfiniTopology.CONTEXT_RESET_HEADER));
    assertEquals(3, out.value().getSeq());
    assertEquals(1 + third.length(), out.value().getTokensTotal());
    assertEquals(3, upgraded.sessions.get("s").getLastSeq(), "the sequence goes on");

    // The same event on a new stream of the same deployment gives the same state: the old heads
    // outside A's shape are deleted, the others overwritten.
    send(upgraded, "fresh", append(1, third));
    Map<String, String> reset = stream(upgraded, "s");
    Map<String, String> fresh = stream(upgraded, "fresh");
    assertEquals(a.config().layers() * a.config().heads() + 1, reset.size());
    reset.remove("session");
    fresh.remove("session");
    assertEquals(fresh, reset);
    StoredSession s = upgraded.sessions.get("s");
    StoredSession f = upgraded.sessions.get("fresh");
    assertEquals(f.getOpenTokens(), s.getOpenTokens());
    assertEquals(f.getContextTokens(), s.getContextTokens());
    assertEquals(f.getTokensAbsorbed(), s.getTokensAbsorbed());
    assertEquals(a.fingerprint(), s.getModelFingerprint());

    // Replayed, the event is a duplicate and changes nothing; the next event is ordinary.
    Map<String, String> after = upgraded.records();
    assertEquals("DUPLICATE_SEQ", refused(upgraded, "s", append(3, third)));
    assertEquals(after, upgraded.records());
    TestRecord<String, OutputEvent> fourth = send(upgraded, "s", generate(4, "ok"));
    assertNull(header(fourth, InfiniTopology.CONTEXT_RESET_HEADER));
    assertEquals(a.fingerprint(), fourth.value().getModelFingerprint());

    assertEquals(1, metrics.contextResets);
    assertEquals(3, metrics.byModel.get(a.fingerprint()));
  }

  @Test
  void resetPolicyIsDeterministicAcrossDeployments() {
    // Two deployments given the same stored state and the same events end with the same bytes.
    List<Map<String, String>> results = new ArrayList<>();
    TopologyHarness onlyB = deployment("writer", Models.of(b));
    send(onlyB, "s", append(1, text(70, 4)));
    for (String name : List.of("one", "two")) {
      TopologyHarness h = deployment(name, Models.of(a, List.of(), Models.UpgradePolicy.RESET));
      copyStream(onlyB, h, "s");
      send(h, "s", append(2, text(33, 5)));
      send(h, "s", generate(3, "go"));
      results.add(h.records());
    }
    assertEquals(results.get(0), results.get(1));
  }

  @Test
  void deadLetterPolicyRefusesAnotherModelsStreamAsBefore() {
    TopologyHarness onlyA = deployment("only-a", Models.of(a));
    send(onlyA, "s", append(1, text(30, 1)));
    for (Models models :
        List.of(Models.of(b), Models.of(b, List.of(), Models.UpgradePolicy.DEAD_LETTER))) {
      TopologyHarness h = deployment("b-" + harnesses.size(), models);
      copyStream(onlyA, h, "s");
      Map<String, String> before = h.records();
      assertEquals("FINGERPRINT_MISMATCH", refused(h, "s", append(2, "more")));
      assertEquals("FINGERPRINT_MISMATCH", refused(h, "s", generate(2, "more")));
      assertEquals(
          "FINGERPRINT_MISMATCH", refused(h, "s", TopologyHarness.event(2, EventKind.RESET, "")));
      assertEquals(before, h.records());
      // the explicit move still works
      TestRecord<String, OutputEvent> moved =
          send(h, "s", pinned(TopologyHarness.event(2, EventKind.RESET, ""), b));
      assertEquals(b.fingerprint(), moved.value().getModelFingerprint());
    }
  }

  /** DELETE needs no model: another model's stream is deleted under every policy. */
  @Test
  void deleteRemovesAnotherModelsStreamUnderEveryPolicy() {
    TopologyHarness onlyA = deployment("only-a", Models.of(a));
    send(onlyA, "s", append(1, text(30, 1)));
    send(onlyA, "t", append(1, text(20, 2)));
    for (Models.UpgradePolicy policy : Models.UpgradePolicy.values()) {
      List<InfiniModel> previous = policy == Models.UpgradePolicy.SERVE ? List.of(a) : List.of();
      TopologyHarness h = deployment("delete-" + policy, Models.of(b, previous, policy));
      copyStream(onlyA, h, "s");
      copyStream(onlyA, h, "t");
      Map<String, String> other = stream(h, "t");
      assertEquals(
          "FINGERPRINT_MISMATCH",
          refused(h, "s", pinned(TopologyHarness.event(2, EventKind.DELETE, ""), a)),
          "a pin must name the serving model");
      TestRecord<String, OutputEvent> deleted =
          send(h, "s", TopologyHarness.event(2, EventKind.DELETE, ""));
      assertEquals(EventKind.DELETE, deleted.value().getKind(), policy.toString());
      assertEquals(0, deleted.value().getTokensTotal());
      assertEquals(Map.of(), stream(h, "s"), policy + ": nothing of the stream is left");
      assertEquals(other, stream(h, "t"), "other streams are untouched");
      TestRecord<String, OutputEvent> fresh = send(h, "s", append(1, "new"));
      assertEquals(b.fingerprint(), fresh.value().getModelFingerprint(), "a new stream");
    }
  }

  @Test
  void aModelLoadedTwiceOrPreviousModelsWithoutServeAreRefused() {
    try (InfiniModel sameAsA = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7)) {
      assertEquals(a.fingerprint(), sameAsA.fingerprint());
      IllegalArgumentException twice =
          assertThrows(
              IllegalArgumentException.class,
              () -> Models.of(b, List.of(a, sameAsA), Models.UpgradePolicy.SERVE));
      assertTrue(twice.getMessage().contains(a.fingerprint()), twice.getMessage());
      assertThrows(
          IllegalArgumentException.class,
          () -> Models.of(a, List.of(sameAsA), Models.UpgradePolicy.SERVE));
    }
    assertThrows(
        IllegalArgumentException.class, () -> Models.of(b, List.of(a), Models.UpgradePolicy.RESET));
    assertThrows(
        IllegalArgumentException.class,
        () -> Models.of(b, List.of(a), Models.UpgradePolicy.DEAD_LETTER));

    Models serve = Models.of(b, List.of(a), Models.UpgradePolicy.SERVE);
    assertEquals(Models.Disposition.SERVING, serve.disposition(b.fingerprint()));
    assertEquals(Models.Disposition.PREVIOUS, serve.disposition(a.fingerprint()));
    assertEquals(Models.Disposition.DEAD_LETTER, serve.disposition("c".repeat(64)));
    assertEquals(List.of(b, a), serve.all());
    assertNotEquals(
        Models.Disposition.RESET, Models.of(b).disposition(a.fingerprint()), "default policy");
    assertEquals(Models.UpgradePolicy.RESET, Models.UpgradePolicy.parse("reset"));
    assertEquals("dead-letter", Models.UpgradePolicy.DEAD_LETTER.configName());
  }

  /** Counts applied events by model and the context resets. */
  private static final class Recording implements ProcessorMetrics {
    final Map<String, Integer> byModel = new ConcurrentHashMap<>();
    int contextResets;

    @Override
    public void appliedBy(String fingerprint, boolean contextReset) {
      byModel.merge(fingerprint, 1, Integer::sum);
      if (contextReset) {
        contextResets++;
      }
    }
  }
}
