package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.app.Main;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.KeyRouting;
import io.infinistreams.app.ops.OperationsServer;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.topology.SessionSnapshots;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import picocli.CommandLine;

/**
 * The operations server of a real application (embedded broker, exactly-once, the tiny model) with
 * a bearer token: every request but the probes needs it, the client commands send it, a second
 * instance relays requests to the key's owner with it, and {@code POST /sessions/{key}/snapshot}
 * turns an exported snapshot into an IMPORT on the input topic that the processor applies bit for
 * bit. Conditions are polled with deadlines, never slept on.
 */
@Timeout(300)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SnapshotImportOverHttpTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int PARTITIONS = 2;
  private static final String TOKEN = "ops-token-7f3a9c";

  @TempDir static Path dir;

  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();
  private InfiniModel model;
  private InfiniApp app;
  private Pipeline pipeline;
  private Path tokenFile;
  private AppConfig config;

  @BeforeAll
  void start() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 5);
    tokenFile = dir.resolve("ops.token");
    Files.writeString(tokenFile, TOKEN + "\n");
    config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state-1").toString())
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("instance.id", "first")
            .override("http.port", "0")
            .override("http.auth.token.file", tokenFile.toString())
            .override("surprise.enabled", "false")
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
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

  private record Reply(int status, byte[] bytes, HttpResponse<byte[]> response) {
    String body() {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    JsonNode json(ObjectMapper mapper) throws Exception {
      return mapper.readTree(bytes);
    }
  }

  private Reply send(String url, String method, byte[] body, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(60))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    if (body != null) {
      b.header("Content-Type", "application/octet-stream");
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    return new Reply(r.statusCode(), r.body(), r);
  }

  private Reply get(String url) throws Exception {
    return send(url, "GET", null, TOKEN);
  }

  private Reply post(String url, byte[] body) throws Exception {
    return send(url, "POST", body, TOKEN);
  }

  /** Sends until {@code done} holds, failing at the deadline with the last reply. */
  private Reply await(ThrowingSupplier<Reply> request, Predicate<Reply> done) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    Reply last = null;
    while (System.nanoTime() < deadline) {
      last = request.get();
      if (done.test(last)) {
        return last;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // back off between polls
    }
    fail(
        "no expected answer within "
            + WAIT
            + "; last: "
            + (last == null ? "none" : last.status() + " " + last.body()));
    return last;
  }

  private interface ThrowingSupplier<T> {
    T get() throws Exception;
  }

  private static String session(String base, String key) {
    return base + "/sessions/" + KeyRouting.encodeKey(key);
  }

  private void feedAndWait(String key, String... texts) {
    List<InputEvent> events = new ArrayList<>();
    long seq = 0;
    for (String t : texts) {
      events.add(Pipeline.append(++seq, t));
    }
    pipeline.produce(key, events);
    pipeline.awaitOutput(key, seq, WAIT, "import-test-" + System.nanoTime());
  }

  private record Run(int exit, String out, String err) {}

  private static Run cli(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  // ---- tests ----

  @Test
  @Order(1)
  void everythingButTheProbesNeedsTheToken() throws Exception {
    String base = app.operationsUrl();
    assertEquals(200, send(base + "/health/live", "GET", null, null).status());
    assertEquals(200, send(base + "/health/ready", "GET", null, null).status());
    for (String path : List.of("/metrics", "/sessions", "/sessions/x", "/sessions/x/snapshot")) {
      Reply none = send(base + path, "GET", null, null);
      assertEquals(401, none.status(), path);
      assertEquals(401, none.json(json).get("status").asInt(), none.body());
      assertEquals(401, send(base + path, "GET", null, TOKEN + "x").status(), path);
    }
    assertEquals(401, send(base + "/sessions/x/snapshot", "POST", new byte[] {1}, null).status());
    assertEquals(200, get(base + "/metrics").status());
    assertEquals(200, get(base + "/sessions").status());
  }

  @Test
  @Order(2)
  void aSnapshotPostedOverHttpIsImportedBitForBit() throws Exception {
    String base = app.operationsUrl();
    feedAndWait("source/ü", "A conversation about the harbour. ".repeat(10), "More of it.");
    byte[] exported =
        await(() -> get(session(base, "source/ü") + "/snapshot"), r -> r.status() == 200).bytes();
    SessionSnapshots.Decoded source = SessionSnapshots.decode(exported);

    Reply accepted = post(session(base, "fork/ü") + "/snapshot", exported);
    assertEquals(202, accepted.status(), accepted.body());
    JsonNode a = accepted.json(json);
    assertEquals("fork/ü", a.get("key").asText());
    assertEquals(1, a.get("seq").asLong(), "a new stream starts at 1");
    assertEquals(config.inputTopic(), a.get("topic").asText());
    assertTrue(a.get("offset").asLong() >= 0, a.toString());
    assertEquals("source/ü", a.get("snapshotOf").asText());
    assertEquals(2, a.get("snapshotLastSeq").asLong());
    assertEquals(0, a.get("warnings").size(), a.toString());

    // applied by the processor: the fork's state is the source's
    JsonNode fork =
        await(
                () -> get(session(base, "fork/ü")),
                r -> r.status() == 200 && r.body().contains("\"lastSeq\" : 1"))
            .json(json);
    assertEquals(source.session().getTokensAbsorbed(), fork.get("tokensAbsorbed").asLong());
    SessionSnapshots.Decoded again =
        SessionSnapshots.decode(
            await(() -> get(session(base, "fork/ü") + "/snapshot"), r -> r.status() == 200)
                .bytes());
    assertEquals(source.snapshot().getMemories(), again.snapshot().getMemories(), "bit for bit");

    // without seq: the next one; with a seq that is not the next one: 409 naming it
    Reply second = post(session(base, "fork/ü") + "/snapshot", exported);
    assertEquals(202, second.status(), second.body());
    assertEquals(2, second.json(json).get("seq").asLong());
    Reply conflict = post(session(base, "fork/ü") + "/snapshot?seq=2", exported);
    assertEquals(409, conflict.status(), conflict.body());
    assertEquals(3, conflict.json(json).get("expectedSeq").asLong(), conflict.body());
    Reply third = post(session(base, "fork/ü") + "/snapshot?seq=3", exported);
    assertEquals(202, third.status(), third.body());
    assertEquals(3, third.json(json).get("seq").asLong());
    await(
        () -> get(session(base, "fork/ü")),
        r -> r.status() == 200 && r.body().contains("\"lastSeq\" : 3"));

    // a rewind: the source goes on, then gets its own snapshot back under its own key
    pipeline.produce(
        "source/ü", List.of(Pipeline.append(3, "Later words that the rewind takes back. ")));
    pipeline.awaitOutput("source/ü", 3, WAIT, "import-test-" + System.nanoTime());
    Reply rewind = post(session(base, "source/ü") + "/snapshot", exported);
    assertEquals(202, rewind.status(), rewind.body());
    assertEquals(4, rewind.json(json).get("seq").asLong(), "the sequence goes on: 3 + 1");
    await(
        () -> get(session(base, "source/ü")),
        r -> r.status() == 200 && r.body().contains("\"lastSeq\" : 4"));
    SessionSnapshots.Decoded rewound =
        SessionSnapshots.decode(
            await(() -> get(session(base, "source/ü") + "/snapshot"), r -> r.status() == 200)
                .bytes());
    assertEquals(
        source.snapshot().getMemories(), rewound.snapshot().getMemories(), "rewound bit for bit");
    assertEquals(source.session().getTokensAbsorbed(), rewound.session().getTokensAbsorbed());
    assertEquals(source.session().getOpenTokens(), rewound.session().getOpenTokens());

    // refused before anything is sent
    Reply garbage = post(session(base, "fork/ü") + "/snapshot", "not a snapshot".getBytes());
    assertEquals(400, garbage.status(), garbage.body());
    assertTrue(garbage.body().contains("not an importable snapshot"), garbage.body());
    byte[] corrupt = exported.clone();
    corrupt[corrupt.length / 2] ^= 0x5a;
    assertEquals(400, post(session(base, "fork/ü") + "/snapshot", corrupt).status());
    assertEquals(400, post(session(base, "fork/ü") + "/snapshot", new byte[0]).status());
    assertEquals(400, post(session(base, "fork/ü") + "/snapshot?seq=zero", exported).status());
    Reply badPin = post(session(base, "fork/ü") + "/snapshot?pin=abc", exported);
    assertEquals(400, badPin.status(), badPin.body());
    Reply otherPin = post(session(base, "fork/ü") + "/snapshot?pin=" + "0".repeat(12), exported);
    assertEquals(400, otherPin.status(), otherPin.body());
    Reply pinned =
        post(
            session(base, "fork/ü") + "/snapshot?pin=" + model.fingerprint().substring(0, 12),
            exported);
    assertEquals(202, pinned.status(), pinned.body());
    assertEquals(4, pinned.json(json).get("seq").asLong());
    await(
        () -> get(session(base, "fork/ü")),
        r -> r.status() == 200 && r.body().contains("\"lastSeq\" : 4"));
  }

  @Test
  @Order(3)
  void theClientCommandsSendTheToken() throws Exception {
    String base = app.operationsUrl();
    feedAndWait("cli-source", "Some text for the command line. ".repeat(5));
    Path file = dir.resolve("cli.snap");
    Run denied = cli("snapshot", "export", "cli-source", file.toString(), "--ops-url", base);
    assertEquals(2, denied.exit(), denied.err());
    assertEquals(1, denied.err().lines().count(), denied.err());
    assertTrue(denied.err().contains("401"), denied.err());
    assertTrue(denied.err().contains("http.auth.token.file"), denied.err());

    Run export =
        cli(
            "snapshot",
            "export",
            "cli-source",
            file.toString(),
            "--ops-url",
            base,
            "--set",
            "http.auth.token.file=" + tokenFile);
    assertEquals(0, export.exit(), export.err());
    assertTrue(Files.size(file) > 0);

    Run fork =
        cli(
            "snapshot",
            "fork",
            "cli-source",
            "cli-fork",
            "--ops-url",
            base,
            "--bootstrap-servers",
            app.bootstrapServers(),
            "--set",
            "http.auth.token.file=" + tokenFile,
            "--timeout",
            "120");
    assertEquals(0, fork.exit(), fork.err());
    assertTrue(fork.err().contains("[stream 'cli-fork' seq 1: imported"), fork.err());
    assertTrue(!fork.err().contains("warning"), "the seq came from the server: " + fork.err());
  }

  @Test
  @Order(4)
  void aSecondInstanceRelaysToTheOwnerWithTheToken() throws Exception {
    Map<Integer, String> onPartition = new LinkedHashMap<>();
    for (int i = 0; onPartition.size() < PARTITIONS; i++) {
      String k = "routed-" + i;
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
            .override("http.auth.token.file", tokenFile.toString())
            .override("surprise.enabled", "false")
            .build();
    try (InfiniApp other = InfiniApp.start(second, model, Duration.ofMinutes(2))) {
      awaitOnePartitionEach(app.streams(), other.streams());
      String a = app.operationsUrl();
      String b = other.operationsUrl();
      Set<String> servedBy = new HashSet<>();
      byte[] snapshot = null;
      for (String k : onPartition.values()) {
        Reply fromA = await(() -> get(session(a, k)), r -> r.status() == 200);
        Reply fromB = await(() -> get(session(b, k)), r -> r.status() == 200);
        String owner =
            fromA.response().headers().firstValue(OperationsServer.SERVED_BY_HEADER).orElseThrow();
        assertEquals(
            owner,
            fromB.response().headers().firstValue(OperationsServer.SERVED_BY_HEADER).orElseThrow());
        servedBy.add(owner);
        snapshot = await(() -> get(session(b, k) + "/snapshot"), r -> r.status() == 200).bytes();
        byte[] viaOwner =
            await(() -> get(session(a, k) + "/snapshot"), r -> r.status() == 200).bytes();
        assertEquals(
            SessionSnapshots.decode(viaOwner).snapshot().getMemories(),
            SessionSnapshots.decode(snapshot).snapshot().getMemories());
      }
      assertEquals(2, servedBy.size(), "one key on each instance: " + servedBy);
      // imports through either instance number the stream from its owner's answer
      String target = onPartition.values().iterator().next();
      for (String base : List.of(a, b)) {
        long before =
            await(() -> get(session(a, target)), r -> r.status() == 200)
                .json(json)
                .get("lastSeq")
                .asLong();
        byte[] body = snapshot;
        Reply accepted =
            await(() -> post(session(base, target) + "/snapshot", body), r -> r.status() != 503);
        assertEquals(202, accepted.status(), accepted.body());
        assertEquals(before + 1, accepted.json(json).get("seq").asLong(), accepted.body());
        await(
            () -> get(session(b, target)),
            r -> r.status() == 200 && r.body().contains("\"lastSeq\" : " + (before + 1)));
      }
    }
  }

  /** Polls until both instances run and each owns one partition of the input topic. */
  private static void awaitOnePartitionEach(KafkaStreams first, KafkaStreams second) {
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
