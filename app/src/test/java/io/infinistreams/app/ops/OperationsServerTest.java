package io.infinistreams.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.TopologySettings;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The server on its own, before a streams instance is attached, and its start-up errors. */
class OperationsServerTest {
  private static final String FINGERPRINT = "0123456789abcdef";

  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> get(String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static AppConfig anyPort() {
    return AppConfig.builder().override("http.port", "0").build();
  }

  @Test
  void beforeTheProcessorStartsItIsAliveButNotReady() throws Exception {
    try (InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT);
        OperationsServer server =
            OperationsServer.start(anyPort(), metrics, TopologySettings.defaults(), FINGERPRINT)) {
      String url = server.url();
      assertEquals("http://127.0.0.1:" + server.port(), url);
      assertEquals("127.0.0.1:" + server.port(), server.applicationServer());
      HttpResponse<String> live = get(url + "/health/live");
      assertEquals(200, live.statusCode());
      assertTrue(live.body().contains("\"STARTING\""), live.body());
      HttpResponse<String> ready = get(url + "/health/ready");
      assertEquals(503, ready.statusCode());
      assertTrue(ready.body().contains("\"DOWN\""), ready.body());
      HttpResponse<String> sessions = get(url + "/sessions");
      assertEquals(503, sessions.statusCode());
      assertEquals("1", sessions.headers().firstValue("Retry-After").orElse(""));
      assertTrue(sessions.body().contains("\"error\""), sessions.body());
      // the processor's meters are there, at zero, before any record
      metrics.applied(EventKind.APPEND, 300, 2, 1_000_000);
      metrics.deadLettered(DeadLetterReason.DUPLICATE_SEQ);
      String m = get(url + "/metrics").body();
      assertTrue(m.contains("\ninfini_tokens_absorbed_total 300.0\n"), m);
      assertTrue(m.contains("\ninfini_segments_compressed_total 2.0\n"), m);
      assertTrue(m.contains("\ninfini_dead_letters_total{reason=\"DUPLICATE_SEQ\"} 1.0\n"), m);
      assertTrue(m.contains("\ninfini_dead_letters_total{reason=\"SEQ_GAP\"} 0.0\n"), m);
      assertTrue(m.contains("\ninfini_seq_refused_total{kind=\"duplicate\"} 1.0\n"), m);
      assertTrue(
          m.contains("\ninfini_event_latency_seconds_bucket{kind=\"APPEND\",le=\"0.001\"} 1\n"), m);
    }
  }

  private HttpResponse<String> get(String url, String authorization) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void withATokenEverythingButTheProbesNeedsIt() throws Exception {
    Path file = Files.createTempFile("infini-token", ".txt");
    try (InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT)) {
      Files.writeString(file, "  t0ken-of-the-ops-server\n");
      AppConfig config =
          AppConfig.builder()
              .override("http.port", "0")
              .override("http.auth.token.file", file.toString())
              .build();
      try (OperationsServer server =
          OperationsServer.start(config, metrics, TopologySettings.defaults(), FINGERPRINT)) {
        String url = server.url();
        assertEquals(200, get(url + "/health/live", null).statusCode());
        assertEquals(503, get(url + "/health/ready", null).statusCode()); // not ready, not 401
        for (String path :
            List.of("/metrics", "/sessions", "/sessions/a", "/sessions/a/snapshot")) {
          HttpResponse<String> none = get(url + path, null);
          assertEquals(401, none.statusCode(), path);
          assertTrue(none.body().contains("\"error\""), none.body());
          assertEquals(
              "Bearer realm=\"infini-streams\"",
              none.headers().firstValue("WWW-Authenticate").orElse(""));
          assertEquals(401, get(url + path, "Bearer t0ken-of-the-ops-server-").statusCode());
          assertEquals(401, get(url + path, "Basic t0ken-of-the-ops-server").statusCode());
        }
        assertEquals(200, get(url + "/metrics", "Bearer t0ken-of-the-ops-server").statusCode());
        // past the token: the answer of a server without a processor yet
        assertEquals(503, get(url + "/sessions", "bearer t0ken-of-the-ops-server").statusCode());
        assertEquals(404, get(url + "/nothing", "Bearer t0ken-of-the-ops-server").statusCode());
      }
      try (OperationsServer open =
          OperationsServer.start(
              config.with("http.auth.metrics", "false"),
              metrics,
              TopologySettings.defaults(),
              FINGERPRINT)) {
        assertEquals(200, get(open.url() + "/metrics", null).statusCode());
        assertEquals(401, get(open.url() + "/sessions", null).statusCode());
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void loopbackAddresses() {
    assertTrue(OperationsServer.isLoopback("127.0.0.1"));
    assertTrue(OperationsServer.isLoopback("localhost"));
    assertTrue(OperationsServer.isLoopback("::1"));
    assertTrue(OperationsServer.isLoopback("[::1]"));
    assertFalse(OperationsServer.isLoopback("0.0.0.0"));
    assertFalse(OperationsServer.isLoopback("10.0.0.7"));
  }

  @Test
  void aPortInUseFailsWithTheKeysToChange() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT)) {
      AppConfig config =
          AppConfig.builder().override("http.port", Integer.toString(taken.getLocalPort())).build();
      CliException e =
          assertThrows(
              CliException.class,
              () ->
                  OperationsServer.start(
                      config, metrics, TopologySettings.defaults(), FINGERPRINT));
      assertTrue(e.getMessage().contains("http.port"), e.getMessage());
      assertTrue(e.getMessage().contains("http.enabled=false"), e.getMessage());
    }
  }
}
