package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.MemoryKey;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The time-to-live against the embedded broker: a stream idle for {@code session.ttl.ms} is removed
 * with tombstones for its session and every head in the changelog topics, counted by {@code
 * infini_sessions_expired_total}, while a stream kept busy stays; the removed key then starts a new
 * stream at seq 1.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SessionTtlBrokerTest {
  private static final Duration WAIT = Duration.ofMinutes(2);
  private static final long TTL_MS = 3_000;

  @TempDir Path dir;

  @Test
  void anIdleStreamIsRemovedWithTombstonesAndABusyOneStays() throws Exception {
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 5)) {
      AppConfig config =
          AppConfig.builder()
              .override("embedded.broker.dir", dir.resolve("kafka").toString())
              .override("state.dir", dir.resolve("state").toString())
              .override("topic.partitions", "1")
              .override("http.port", "0")
              .override("session.ttl.ms", Long.toString(TTL_MS))
              .build();
      try (InfiniApp app = InfiniApp.start(config, model, WAIT)) {
        Pipeline pipeline =
            new Pipeline(app.bootstrapServers(), app.settings(), model, config.applicationId());
        String text = "A stream that writes memory before it goes quiet. ".repeat(4);
        pipeline.produce("idle", List.of(Pipeline.append(1, text)));
        pipeline.produce("busy", List.of(Pipeline.append(1, text)));
        pipeline.awaitOutput("idle", 1, WAIT, "ttl-" + System.nanoTime());
        pipeline.awaitOutput("busy", 1, WAIT, "ttl-" + System.nanoTime());
        HttpClient http = HttpClient.newHttpClient();
        String base = app.operationsUrl();

        // Keep "busy" active (an event at least every TTL / 3) until "idle" is gone.
        long seq = 1;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (status(http, base + "/sessions/idle") != 404) {
          assertTrue(System.nanoTime() < deadline, "idle stream not removed within " + WAIT);
          pipeline.produce("busy", List.of(Pipeline.append(++seq, "still here. ")));
          pipeline.awaitOutput("busy", seq, WAIT, "ttl-" + System.nanoTime());
        }
        assertEquals(200, status(http, base + "/sessions/busy"), "a busy stream is kept");

        String prefix = config.applicationId() + "-";
        List<byte[]> sessionTombstones = tombstones(app, prefix + "infini-sessions-changelog");
        assertEquals(1, count(sessionTombstones, "idle".getBytes(StandardCharsets.UTF_8)));
        assertEquals(0, count(sessionTombstones, "busy".getBytes(StandardCharsets.UTF_8)));
        Set<String> heads = new HashSet<>();
        for (byte[] k : tombstones(app, prefix + "infini-memory-changelog")) {
          MemoryKey key = MemoryKey.fromBytes(k);
          assertEquals("idle", key.streamId(), "only the idle stream's heads are removed");
          assertTrue(heads.add(key.layer() + "/" + key.head()), "one tombstone per head");
        }
        assertEquals(model.config().layers() * model.config().heads(), heads.size());
        Awaitility.await("the expiry metric").atMost(WAIT).until(() -> expired(http, base) >= 1);
        assertEquals(1.0, expired(http, base), "one stream expired");

        // The removed key starts a new stream at seq 1.
        pipeline.produce("idle", List.of(Pipeline.append(1, "Back again.")));
        assertEquals(1, pipeline.awaitOutput("idle", 1, WAIT, "ttl-" + System.nanoTime()).size());
      }
    }
  }

  private static int status(HttpClient http, String url) throws Exception {
    return http.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private static double expired(HttpClient http, String base) throws Exception {
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Matcher m =
        Pattern.compile("(?m)^infini_sessions_expired_total ([-+0-9.eE]+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  private static List<byte[]> tombstones(InfiniApp app, String topic) {
    return Pipeline.tombstones(app.bootstrapServers(), topic, WAIT);
  }

  private static long count(List<byte[]> keys, byte[] key) {
    return keys.stream().filter(k -> Arrays.equals(k, key)).count();
  }
}
