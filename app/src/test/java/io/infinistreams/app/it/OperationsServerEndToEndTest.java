package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.KeyRouting;
import io.infinistreams.app.ops.ModelCensus;
import io.infinistreams.app.ops.OperationsServer;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.MemoryKey;
import io.infinistreams.topology.SessionSnapshots;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operations server of a real application (embedded KRaft broker, exactly-once, RocksDB, the
 * tiny model): metrics count what was fed, health follows the streams state, the session API reads
 * the stores, and a second instance of the application answers for keys the first one owns by
 * proxying. Conditions are polled with deadlines, never slept on.
 */
@Timeout(300)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperationsServerEndToEndTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int PARTITIONS = 2;

  /** A key that needs encoding: a slash, a space, a non-ASCII letter. */
  private static final String KEY = "team/ana ü";

  @TempDir static Path dir;

  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();
  private InfiniModel model;
  private InfiniApp app;
  private Pipeline pipeline;
  private final Map<String, Long> lastSeq = new LinkedHashMap<>();
  private long bytesFed;
  private long segmentsWritten;
  private String applicationId;

  @BeforeAll
  void start() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 5);
    AppConfig config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state-1").toString())
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("instance.id", "first")
            .override("http.port", "0")
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
    applicationId = config.applicationId();
    pipeline = new Pipeline(app.bootstrapServers(), app.settings(), model, config.applicationId());
  }

  @AfterAll
  void stop() {
    if (app != null) {
      app.close();
    }
    if (model != null) {
      model.close();
    }
  }

  // ---- HTTP helpers ----

  private record Reply(int status, String body, HttpResponse<String> response) {
    JsonNode json(ObjectMapper mapper) throws Exception {
      return mapper.readTree(body);
    }
  }

  private Reply get(String baseUrl, String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    return new Reply(r.statusCode(), r.body(), r);
  }

  /** The raw response to a GET of {@code path} sent as is (java.net.URI refuses bad escapes). */
  private static String rawGet(String baseUrl, String path) throws Exception {
    URI base = URI.create(baseUrl);
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET "
                  + path
                  + " HTTP/1.1\r\nHost: "
                  + base.getAuthority()
                  + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** GETs {@code path} until {@code done} holds, failing at the deadline with the last reply. */
  private Reply await(String baseUrl, String path, Predicate<Reply> done) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    Reply last = null;
    while (System.nanoTime() < deadline) {
      last = get(baseUrl, path);
      if (done.test(last)) {
        return last;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // back off between polls
    }
    fail(
        path
            + " did not reach the expected answer within "
            + WAIT
            + "; last: "
            + (last == null ? "none" : last.status() + " " + last.body()));
    return last;
  }

  /** The value of the Prometheus sample {@code name{labels}} (labels as written), or null. */
  private static Double sample(String metrics, String series) {
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(series) + " ([-+0-9.eE]+|NaN)$").matcher(metrics);
    return m.find() ? Double.valueOf(m.group(1)) : null;
  }

  private static boolean sampleIs(String metrics, String series, double value) {
    Double v = sample(metrics, series);
    return v != null && v == value;
  }

  private void feed(String key, List<InputEvent> events) {
    pipeline.produce(key, events);
  }

  private void feedAndWait(String key, String... texts) {
    long seq = lastSeq.getOrDefault(key, 0L);
    List<InputEvent> events = new ArrayList<>();
    for (String t : texts) {
      events.add(Pipeline.append(++seq, t));
      bytesFed += t.getBytes(StandardCharsets.UTF_8).length;
    }
    feed(key, events);
    List<OutputEvent> out = pipeline.awaitOutput(key, seq, WAIT, "ops-test-" + System.nanoTime());
    OutputEvent lastOut = out.get(out.size() - 1);
    long segmentsBefore = lastSeq.containsKey(key) ? segmentsOf.getOrDefault(key, 0L) : 0L;
    segmentsWritten += lastOut.getSegmentsTotal() - segmentsBefore;
    segmentsOf.put(key, lastOut.getSegmentsTotal());
    lastSeq.put(key, seq);
  }

  private final Map<String, Long> segmentsOf = new LinkedHashMap<>();

  // ---- tests ----

  @Test
  @Order(1)
  void healthIsUpAndReadyWhenRunning() throws Exception {
    String base = app.operationsUrl();
    assertTrue(base.startsWith("http://127.0.0.1:"), base);
    Reply ready = await(base, "/health/ready", r -> r.status() == 200);
    assertEquals("RUNNING", ready.json(json).get("state").asText());
    assertEquals("UP", ready.json(json).get("status").asText());
    assertTrue(ready.response().headers().firstValue("Content-Type").orElse("").contains("json"));
    Reply live = get(base, "/health/live");
    assertEquals(200, live.status());
    assertEquals("UP", live.json(json).get("status").asText());
  }

  @Test
  @Order(2)
  void metricsCountWhatWasFedAndRefused() throws Exception {
    String base = app.operationsUrl();
    String text = "Grüße aus Köln, the pass key is 12345. ";
    feedAndWait(KEY, text.repeat(3), text.repeat(5), "short");
    // a duplicate of seq 2 and a gap: both dead-lettered, counted by reason. A scrape reads the
    // counters one after another while the processor runs, so one scrape may show the dead letters
    // counted and not yet the seq refusals read before them: wait for a scrape that shows both.
    feed(KEY, List.of(Pipeline.append(2, "again"), Pipeline.append(9, "too far")));
    Reply metrics =
        await(
            base,
            "/metrics",
            r ->
                sampleIs(r.body(), "infini_dead_letters_total{reason=\"DUPLICATE_SEQ\"}", 1)
                    && sampleIs(r.body(), "infini_dead_letters_total{reason=\"SEQ_GAP\"}", 1)
                    && sampleIs(r.body(), "infini_seq_refused_total{kind=\"duplicate\"}", 1)
                    && sampleIs(r.body(), "infini_seq_refused_total{kind=\"gap\"}", 1));
    String m = metrics.body();
    assertTrue(
        metrics.response().headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
        metrics.response().headers().toString());
    assertEquals((double) bytesFed, sample(m, "infini_tokens_absorbed_total"), m);
    assertEquals((double) segmentsWritten, sample(m, "infini_segments_compressed_total"));
    assertTrue(segmentsWritten > 0);
    assertEquals(3.0, sample(m, "infini_events_applied_total{kind=\"APPEND\"}"));
    assertEquals(0.0, sample(m, "infini_events_applied_total{kind=\"GENERATE\"}"));
    assertEquals(3.0, sample(m, "infini_event_latency_seconds_count{kind=\"APPEND\"}"));
    assertNotNull(sample(m, "infini_event_latency_seconds_bucket{kind=\"GENERATE\",le=\"+Inf\"}"));
    assertEquals(1.0, sample(m, "infini_seq_refused_total{kind=\"duplicate\"}"));
    assertEquals(1.0, sample(m, "infini_seq_refused_total{kind=\"gap\"}"));
    assertEquals(0.0, sample(m, "infini_dead_letters_total{reason=\"UNDECODABLE\"}"));
    // JVM and Kafka Streams metrics are there too
    assertTrue(m.contains("\njvm_memory_used_bytes{"), "JVM memory");
    assertTrue(m.contains("\njvm_gc_"), "GC");
    assertTrue(m.contains("\njvm_threads_live_threads"), "threads");
    assertTrue(m.contains("\njvm_classes_loaded_classes"), "class loader");
    assertTrue(m.contains("\nsystem_cpu_count"), "processor");
    assertTrue(m.contains("\nkafka_stream_"), "Kafka Streams metrics");
    assertTrue(
        m.contains("\ninfini_model_info{fingerprint=\"" + model.fingerprint().substring(0, 12)));
    // the stores' gauges: the stream is hosted here, and the stores hold bytes once flushed
    Reply hosted =
        await(
            base,
            "/metrics",
            r -> {
              Double v = sample(r.body(), "infini_sessions_hosted");
              return v != null && v >= 1;
            });
    assertNotNull(sample(hosted.body(), "infini_state_bytes{store=\"infini-memory\"}"));
    // the memories written and the model's gates, per layer and head, not per stream
    String short12 = model.fingerprint().substring(0, 12);
    for (int l = 0; l < model.config().layers(); l++) {
      float[] gates = model.weights().layer(l).gate().toFloatArray();
      for (int h = 0; h < model.config().heads(); h++) {
        String lh = "head=\"" + h + "\",layer=\"" + l + "\"";
        Double writes = sample(m, "infini_memory_norm_count{" + lh + "}");
        assertNotNull(writes, "memory norm of " + lh + ": " + m);
        assertTrue(writes >= 1, lh + " written by every event that compressed a segment");
        assertTrue(sample(m, "infini_memory_norm_max{" + lh + "}") > 0, lh);
        assertEquals(
            (double) segmentsWritten,
            sample(m, "infini_write_strength_count{" + lh + "}"),
            lh + ": one write strength per compressed segment");
        double strength = sample(m, "infini_write_strength_max{" + lh + "}");
        assertTrue(strength > 0 && strength < 1, lh + " write strength " + strength);
        double gate = 1.0 / (1.0 + Math.exp(-gates[h]));
        assertEquals(
            gate,
            sample(m, "infini_model_gate{fingerprint=\"" + short12 + "\"," + lh + "}"),
            1e-6,
            lh);
      }
    }
    // no series is tagged with a stream id
    assertFalse(m.contains("team/ana"), "a stream id leaked into a metric");
  }

  @Test
  @Order(3)
  void sessionApiReadsTheStores() throws Exception {
    String base = app.operationsUrl();
    feedAndWait("bob", "hello");
    Reply one = await(base, "/sessions/" + KeyRouting.encodeKey(KEY), r -> r.status() == 200);
    JsonNode s = one.json(json);
    assertEquals(KEY, s.get("key").asText());
    assertEquals(3, s.get("lastSeq").asLong(), one.body());
    // the context: BOS and every byte of the three applied events
    long keyBytes = bytesFed - "hello".length();
    assertEquals(1 + keyBytes, s.get("tokensAbsorbed").asLong());
    assertEquals(segmentsOf.get(KEY), s.get("segmentsCompressed").asLong());
    assertEquals(model.fingerprint(), s.get("modelFingerprint").asText());
    assertTrue(s.get("servingModel").asBoolean());
    assertEquals("serving", s.get("modelDisposition").asText());
    ModelConfig c = model.config();
    JsonNode memory = s.get("memory");
    assertEquals(c.layers() * c.heads(), memory.size());
    for (JsonNode head : memory) {
      assertEquals(segmentsOf.get(KEY), head.get("updates").asLong());
      assertTrue(head.get("normM").asDouble() > 0, head.toString());
      assertTrue(head.get("normZ").asDouble() > 0, head.toString());
    }
    String self = s.get("servedBy").asText();
    assertEquals(
        self, one.response().headers().firstValue(OperationsServer.SERVED_BY_HEADER).get());

    // the raw UTF-8 percent-encoded by another encoder (lower-case hex, '+' kept literal)
    Reply lower = get(base, "/sessions/team%2fana%20%c3%bc");
    assertEquals(200, lower.status(), lower.body());

    Reply list = await(base, "/sessions", r -> r.status() == 200 && r.body().contains("bob"));
    JsonNode l = list.json(json);
    Set<String> keys = new HashSet<>();
    l.get("keys").forEach(k -> keys.add(k.asText()));
    assertEquals(Set.of(KEY, "bob"), keys);
    assertEquals(2, l.get("count").asInt());
    assertTrue(l.get("next").isNull());
    assertEquals(PARTITIONS, l.get("partitions").size());

    // pages of one key: two pages, then none
    JsonNode p1 = get(base, "/sessions?limit=1").json(json);
    assertEquals(1, p1.get("keys").size());
    String cursor = p1.get("next").asText();
    JsonNode p2 = get(base, "/sessions?limit=1&after=" + KeyRouting.encodeKey(cursor)).json(json);
    assertEquals(1, p2.get("keys").size());
    assertNotEquals(p1.get("keys").get(0).asText(), p2.get("keys").get(0).asText());
    JsonNode p3 =
        get(base, "/sessions?limit=1&after=" + KeyRouting.encodeKey(p2.get("keys").get(0).asText()))
            .json(json);
    assertEquals(0, p3.get("keys").size());

    // errors: JSON bodies with the right status
    Reply unknown = get(base, "/sessions/nobody-here");
    assertEquals(404, unknown.status(), unknown.body());
    assertTrue(unknown.json(json).get("error").asText().contains("nobody-here"));
    String badEncoding = rawGet(base, "/sessions/bad%zz");
    assertTrue(badEncoding.startsWith("HTTP/1.1 400"), badEncoding);
    assertTrue(badEncoding.contains("\"error\""), badEncoding);
    Reply badUtf8 = get(base, "/sessions/%ff%fe");
    assertEquals(400, badUtf8.status(), badUtf8.body());
    Reply badLimit = get(base, "/sessions?limit=0");
    assertEquals(400, badLimit.status(), badLimit.body());
    assertTrue(badLimit.json(json).get("error").asText().contains("limit"));
    Reply noRoute = get(base, "/nothing");
    assertEquals(404, noRoute.status());
  }

  /**
   * A second instance of the application joins: each owns one partition, and either instance
   * answers for every key, relaying the owner's answer for keys it does not own.
   */
  @Test
  @Order(4)
  void eitherInstanceAnswersForEveryKey() throws Exception {
    // a key on each partition (the default partitioner: murmur2 of the key bytes)
    Map<Integer, String> onPartition = new LinkedHashMap<>();
    for (int i = 0; onPartition.size() < PARTITIONS; i++) {
      String k = "route-" + i;
      int p = Utils.toPositive(Utils.murmur2(k.getBytes(StandardCharsets.UTF_8))) % PARTITIONS;
      onPartition.putIfAbsent(p, k);
    }
    for (String k : onPartition.values()) {
      feedAndWait(k, "text of " + k);
    }
    AppConfig second =
        AppConfig.builder()
            .override("bootstrap.servers", app.bootstrapServers())
            .override("state.dir", dir.resolve("state-2").toString())
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("instance.id", "second")
            .override("http.port", "0")
            .build();
    try (InfiniApp other = InfiniApp.start(second, model, Duration.ofMinutes(2))) {
      awaitOnePartitionEach(app.streams(), other.streams());
      String a = app.operationsUrl();
      String b = other.operationsUrl();
      await(a, "/health/ready", r -> r.status() == 200);
      await(b, "/health/ready", r -> r.status() == 200);
      Set<String> servedBy = new HashSet<>();
      for (String k : onPartition.values()) {
        String path = "/sessions/" + KeyRouting.encodeKey(k);
        Reply fromA = await(a, path, r -> r.status() == 200);
        Reply fromB = await(b, path, r -> r.status() == 200);
        String ownerA =
            fromA.response().headers().firstValue(OperationsServer.SERVED_BY_HEADER).get();
        String ownerB =
            fromB.response().headers().firstValue(OperationsServer.SERVED_BY_HEADER).get();
        assertEquals(ownerA, ownerB, "both name the same owner of " + k);
        assertEquals(fromA.json(json), fromB.json(json), "same answer for " + k);
        assertEquals(lastSeq.get(k), fromA.json(json).get("lastSeq").asLong());
        servedBy.add(ownerA);
      }
      assertEquals(2, servedBy.size(), "one key on each instance: " + servedBy);
      // an unknown key is 404 whichever instance is asked (the owner says so, relayed)
      assertEquals(404, get(a, "/sessions/nobody-" + 1).status());
      assertEquals(404, get(b, "/sessions/nobody-" + 1).status());
      // each instance lists only its own keys
      JsonNode listA = get(a, "/sessions").json(json);
      JsonNode listB = get(b, "/sessions").json(json);
      assertEquals(1, listA.get("partitions").size());
      assertEquals(1, listB.get("partitions").size());
      assertEquals(1, listA.get("otherInstances").size(), listA.toString());
    }
  }

  @Test
  @Order(5)
  void aSnapshotExportedOverHttpImportsAsAForkBitForBit() throws Exception {
    String base = app.operationsUrl();
    feedAndWait("snap-source", "The first part of a conversation. ".repeat(12), "More of it.");
    HttpResponse<byte[]> exported = awaitSnapshot(base, "snap-source");
    assertEquals(
        OperationsServer.SNAPSHOT_MEDIA_TYPE,
        exported.headers().firstValue("Content-Type").orElse(""));
    SessionSnapshots.Decoded source = SessionSnapshots.decode(exported.body());
    assertEquals("snap-source", source.snapshot().getStreamId());
    assertEquals(model.config().layers() * model.config().heads(), source.memories().size());

    InputEvent importEvent =
        InputEvent.newBuilder()
            .setSeq(1)
            .setKind(EventKind.IMPORT)
            .setSnapshot(ByteBuffer.wrap(exported.body()))
            .setEventTime(Pipeline.T0)
            .build();
    feed("snap-fork", List.of(importEvent));
    List<OutputEvent> out =
        pipeline.awaitOutput("snap-fork", 1, WAIT, "ops-test-" + System.nanoTime());
    assertEquals(EventKind.IMPORT, out.get(out.size() - 1).getKind());
    lastSeq.put("snap-fork", 1L);

    HttpResponse<byte[]> again = awaitSnapshot(base, "snap-fork");
    SessionSnapshots.Decoded fork = SessionSnapshots.decode(again.body());
    assertEquals(source.snapshot().getMemories(), fork.snapshot().getMemories(), "bit for bit");
    assertEquals(source.session().getOpenTokens(), fork.session().getOpenTokens());
    assertEquals(source.session().getTokensAbsorbed(), fork.session().getTokensAbsorbed());
    assertEquals(1, fork.session().getLastSeq());
    // (the second instance of the previous test may still own the key's partition in the
    // metadata until the group has rebalanced: 502 from the relay until then)
    await(base, "/sessions/nobody-at-all/snapshot", r -> r.status() == 404);
  }

  @Test
  @Order(6)
  void theModelCensusCountsTheHostedStreamsOfEachModel() throws Exception {
    // Every stream fed so far was written by this model; the census counts each once.
    String base = app.operationsUrl();
    Reply listed = await(base, "/sessions?limit=1000", r -> r.status() == 200);
    int hosted = listed.json(json).get("keys").size();
    Map<String, Long> census = ModelCensus.count(app.streams(), app.settings());
    assertEquals(Map.of(model.fingerprint(), (long) hosted), census);
    String line = ModelCensus.describe(census, model.fingerprint());
    assertTrue(line.contains(model.fingerprint().substring(0, 12) + " (serving) " + hosted), line);
    String mixed =
        ModelCensus.describe(
            Map.of(model.fingerprint(), 3L, "ab".repeat(32), 2L), model.fingerprint());
    assertTrue(mixed.contains("the 2 written by another model are refused"), mixed);
  }

  @Test
  @Order(7)
  void aDeleteOverHttpRemovesTheStreamWithTombstonesInBothChangelogs() throws Exception {
    String base = app.operationsUrl();
    String key = "doomed/ü";
    String path = "/sessions/" + KeyRouting.encodeKey(key);
    feedAndWait(key, "A stream that will be deleted. ".repeat(12), "Its last words.");
    long last = lastSeq.get(key);

    Reply conflict = send(base, path + "?seq=" + (last + 5), "DELETE");
    assertEquals(409, conflict.status(), conflict.body());
    assertEquals(last + 1, conflict.json(json).get("expectedSeq").asLong());

    Reply accepted = send(base, path, "DELETE");
    assertEquals(202, accepted.status(), accepted.body());
    assertEquals(last + 1, accepted.json(json).get("seq").asLong());
    List<OutputEvent> out =
        pipeline.awaitOutput(key, last + 1, WAIT, "ops-test-" + System.nanoTime());
    assertEquals(EventKind.DELETE, out.get(out.size() - 1).getKind());
    await(base, path, r -> r.status() == 404);

    // Tombstones: the session and every (layer, head) record of the stream, committed.
    String prefix = applicationId + "-";
    List<byte[]> sessionTombstones =
        tombstones(prefix + app.settings().sessionsStore() + "-changelog");
    assertEquals(
        1,
        sessionTombstones.stream()
            .filter(k -> java.util.Arrays.equals(k, key.getBytes(StandardCharsets.UTF_8)))
            .count(),
        "one tombstone of the session");
    Map<String, Integer> headTombstones = new LinkedHashMap<>();
    for (byte[] k : tombstones(prefix + app.settings().memoryStore() + "-changelog")) {
      MemoryKey mk = MemoryKey.fromBytes(k);
      if (mk.streamId().equals(key)) {
        headTombstones.merge(mk.layer() + "/" + mk.head(), 1, Integer::sum);
      }
    }
    assertEquals(
        model.config().layers() * model.config().heads(), headTombstones.size(), "every head");
    assertTrue(headTombstones.values().stream().allMatch(n -> n == 1), headTombstones.toString());

    // The key starts a new stream at seq 1.
    lastSeq.remove(key);
    feedAndWait(key, "Born again.");
    Reply session = await(base, path, r -> r.status() == 200);
    assertEquals(1, session.json(json).get("lastSeq").asLong(), session.body());
  }

  private Reply send(String baseUrl, String path, String method) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(baseUrl + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(60))
                .build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    return new Reply(r.statusCode(), r.body(), r);
  }

  private List<byte[]> tombstones(String topic) {
    return Pipeline.tombstones(app.bootstrapServers(), topic, WAIT);
  }

  /** GETs the snapshot of {@code key} until it is 200 (a rebalance answers 502/503 meanwhile). */
  private HttpResponse<byte[]> awaitSnapshot(String base, String key) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    HttpResponse<byte[]> r;
    do {
      r =
          http.send(
              HttpRequest.newBuilder(URI.create(base + "/sessions/" + key + "/snapshot"))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() == 200) {
        return r;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // back off between polls
    } while (System.nanoTime() < deadline);
    fail("snapshot of " + key + " not served within " + WAIT + ": " + r.statusCode());
    return r;
  }

  /** Polls until both instances run and each owns one partition of the input topic. */
  static void awaitOnePartitionEach(KafkaStreams first, KafkaStreams second) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    String seen = "";
    while (System.nanoTime() < deadline) {
      if (first.state() == KafkaStreams.State.RUNNING
          && second.state() == KafkaStreams.State.RUNNING) {
        List<Integer> counts = new ArrayList<>();
        for (StreamsMetadata m : first.metadataForAllStreamsClients()) {
          counts.add(m.topicPartitions().size());
        }
        seen = counts.toString();
        if (counts.size() == 2 && counts.stream().allMatch(n -> n > 0)) {
          return;
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    fail("the two instances did not split the partitions within " + WAIT + "; saw " + seen);
  }
}
