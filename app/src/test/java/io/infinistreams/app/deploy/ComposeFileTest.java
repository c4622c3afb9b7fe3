package io.infinistreams.app.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The compose deployment (docker/docker-compose.yml, docker/prometheus.yml) read as Docker Compose
 * reads it, anchors and merge keys resolved, without Docker: every published port is on the host's
 * loopback; two instances of one application whose environment is a valid configuration of this
 * version, each with its own instance id, operations port, advertised address and state volume,
 * each health-checked on its own port; Prometheus scrapes exactly those addresses; the instances
 * reach the broker on its containers-only listener. (Running it needs Docker; this checks that it
 * says what the docs say.)
 */
class ComposeFileTest {
  private static final Path DOCKER = Path.of("..", "docker");
  private static final String IMAGE = "infini-streams:latest";

  @Test
  void theComposeFileDescribesTwoValidInstancesOnLoopbackScrapedByPrometheus() throws IOException {
    Map<String, Object> compose = load(DOCKER.resolve("docker-compose.yml"));
    Map<String, Object> services = map(compose.get("services"));

    for (Map.Entry<String, Object> s : services.entrySet()) {
      for (Object port : list(map(s.getValue()).get("ports"))) {
        assertTrue(
            port.toString().startsWith("127.0.0.1:"),
            s.getKey() + " publishes " + port + " beyond the host's loopback");
      }
    }

    Map<String, Object> kafka = map(services.get("kafka"));
    Map<String, Object> kafkaEnv = map(kafka.get("environment"));
    String advertised = kafkaEnv.get("KAFKA_ADVERTISED_LISTENERS").toString();

    Set<String> instanceIds = new TreeSet<>();
    Set<String> addresses = new TreeSet<>();
    Set<String> volumes = new TreeSet<>();
    Set<String> applicationIds = new TreeSet<>();
    for (Map.Entry<String, Object> s : services.entrySet()) {
      Map<String, Object> service = map(s.getValue());
      if (!IMAGE.equals(service.get("image"))) {
        continue;
      }
      Map<String, String> env = new TreeMap<>();
      map(service.get("environment")).forEach((k, v) -> env.put(k, v.toString()));
      AppConfig config = AppConfig.builder().environment(env).build(); // refuses unknown keys
      String name = s.getKey();
      instanceIds.add(config.instanceId());
      applicationIds.add(config.applicationId());
      addresses.add(config.httpAdvertisedAddress());
      assertEquals(name + ":" + config.httpPort(), config.httpAdvertisedAddress(), name);
      assertEquals(name, service.get("hostname"), name);
      assertEquals("0.0.0.0", config.httpBind(), name + ": reachable by Prometheus and its peer");
      assertTrue(
          advertised.contains("PLAINTEXT://" + config.bootstrapServers()),
          name + " reaches the broker at " + config.bootstrapServers() + ": " + advertised);
      assertEquals(
          List.of("127.0.0.1:" + config.httpPort() + ":" + config.httpPort()),
          list(service.get("ports")),
          name);
      List<Object> check = list(map(service.get("healthcheck")).get("test"));
      assertTrue(check.contains("io.infinistreams.image.HealthCheck"), name + ": " + check);
      assertTrue(
          check.contains("http://127.0.0.1:" + config.httpPort() + "/health/ready"),
          name + " is checked on its own port: " + check);
      for (Object v : list(service.get("volumes"))) {
        if (v.toString().endsWith(":/data")) {
          volumes.add(v.toString());
        }
      }
      assertEquals(List.of("run"), list(service.get("command")), name);
    }
    assertEquals(2, instanceIds.size(), "two instances with their own instance.id");
    assertEquals(1, applicationIds.size(), "one application: the partitions are shared");
    assertEquals(2, volumes.size(), "each instance its own state volume: " + volumes);
    assertTrue(advertised.contains("HOST://127.0.0.1:"), advertised);

    Map<String, Object> prometheus = load(DOCKER.resolve("prometheus.yml"));
    Set<String> targets = new TreeSet<>();
    for (Object job : list(prometheus.get("scrape_configs"))) {
      assertEquals("/metrics", map(job).get("metrics_path"));
      for (Object sc : list(map(job).get("static_configs"))) {
        list(map(sc).get("targets")).forEach(t -> targets.add(t.toString()));
      }
    }
    assertEquals(addresses, targets, "Prometheus scrapes both instances and nothing else");
  }

  private static Map<String, Object> load(Path file) throws IOException {
    try (Reader in = Files.newBufferedReader(file)) {
      return map(new Yaml().load(in));
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    assertTrue(o instanceof Map, "a mapping: " + o);
    return (Map<String, Object>) o;
  }

  private static List<Object> list(Object o) {
    if (o == null) {
      return List.of();
    }
    assertTrue(o instanceof List, "a sequence: " + o);
    return new ArrayList<>((List<?>) o);
  }
}
