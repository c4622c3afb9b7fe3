package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.KeyRouting;
import io.infinistreams.app.ops.OperationsServer;
import io.infinistreams.app.ops.TestTls;
import io.infinistreams.app.ops.Tls;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two instances of the application whose operations servers speak HTTPS only ({@code http.tls.*}):
 * each answers for every key, routing a request for a key the other owns to it over HTTPS and
 * trusting its certificate through the trust store.
 */
@Timeout(300)
class TlsRoutingTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int PARTITIONS = 2;

  @TempDir Path dir;

  @Test
  void eitherInstanceAnswersForEveryKeyOverHttps() throws Exception {
    TestTls.Stores stores = TestTls.make(Files.createDirectories(dir.resolve("tls")));
    AppConfig first =
        stores
            .apply(
                AppConfig.builder()
                    .override("embedded.broker.dir", dir.resolve("kafka").toString())
                    .override("state.dir", dir.resolve("state-1").toString())
                    .override("topic.partitions", Integer.toString(PARTITIONS))
                    .override("instance.id", "first")
                    .override("http.port", "0"))
            .build();
    HttpClient http = HttpClient.newBuilder().sslContext(Tls.clientContext(first)).build();
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 5);
        InfiniApp app = InfiniApp.start(first, model, Duration.ofMinutes(2))) {
      Pipeline pipeline =
          new Pipeline(app.bootstrapServers(), app.settings(), model, first.applicationId());
      Map<Integer, String> onPartition = new LinkedHashMap<>();
      for (int i = 0; onPartition.size() < PARTITIONS; i++) {
        String k = "tls-" + i;
        int p = Utils.toPositive(Utils.murmur2(k.getBytes(StandardCharsets.UTF_8))) % PARTITIONS;
        onPartition.putIfAbsent(p, k);
      }
      for (String k : onPartition.values()) {
        pipeline.produce(k, List.of(Pipeline.append(1, "text of " + k)));
        pipeline.awaitOutput(k, 1, WAIT, "tls-test-" + k);
      }
      AppConfig second =
          stores
              .apply(
                  AppConfig.builder()
                      .override("bootstrap.servers", app.bootstrapServers())
                      .override("state.dir", dir.resolve("state-2").toString())
                      .override("topic.partitions", Integer.toString(PARTITIONS))
                      .override("instance.id", "second")
                      .override("http.port", "0"))
              .build();
      try (InfiniApp other = InfiniApp.start(second, model, Duration.ofMinutes(2))) {
        OperationsServerEndToEndTest.awaitOnePartitionEach(app.streams(), other.streams());
        String a = app.operationsUrl();
        String b = other.operationsUrl();
        assertTrue(a.startsWith("https://") && b.startsWith("https://"), a + " " + b);
        Set<String> owners = new HashSet<>();
        for (String k : onPartition.values()) {
          String path = "/sessions/" + KeyRouting.encodeKey(k);
          HttpResponse<String> fromA = await(http, a + path);
          HttpResponse<String> fromB = await(http, b + path);
          String ownerA = fromA.headers().firstValue(OperationsServer.SERVED_BY_HEADER).get();
          String ownerB = fromB.headers().firstValue(OperationsServer.SERVED_BY_HEADER).get();
          assertEquals(ownerA, ownerB, "both name the same owner of " + k);
          assertEquals(fromA.body(), fromB.body(), "the same answer for " + k);
          owners.add(ownerA);
        }
        assertEquals(2, owners.size(), "one key on each instance, so one request was routed");
      }
    }
  }

  /** GETs {@code url} until it answers 200, failing at the deadline with the last answer. */
  private static HttpResponse<String> await(HttpClient http, String url) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    HttpResponse<String> last = null;
    while (System.nanoTime() < deadline) {
      last =
          http.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (last.statusCode() == 200) {
        return last;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // back off between polls
    }
    fail(
        url
            + " did not answer 200 within "
            + WAIT
            + "; last: "
            + last.statusCode()
            + " "
            + last.body());
    return last;
  }
}
