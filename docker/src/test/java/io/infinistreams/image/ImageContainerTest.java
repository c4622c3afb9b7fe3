package io.infinistreams.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.github.dockerjava.api.DockerClient;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The image tar loaded into Docker ({@code docker load}, through the Docker client) and started as
 * {@code run} against an {@code apache/kafka} broker: it becomes ready ({@code /health/ready} 200)
 * and its own health check (java, the image's only program) agrees. Skipped where no Docker engine
 * runs.
 */
@Testcontainers(disabledWithoutDocker = true)
class ImageContainerTest {
  static final Network NETWORK = Network.newNetwork();

  @Container
  static final KafkaContainer KAFKA =
      new KafkaContainer(DockerImageName.parse("apache/kafka:4.3.1"))
          .withNetwork(NETWORK)
          .withListener("kafka:19092");

  @Test
  void loadedImageRunsAgainstABroker() throws Exception {
    String tar = System.getProperty("image.tar");
    assertNotNull(tar, "system property image.tar (set by docker/pom.xml)");
    DockerClient docker = DockerClientFactory.instance().client();
    try (InputStream in = Files.newInputStream(Path.of(tar))) {
      docker.loadImageCmd(in).exec();
    }
    String image = System.getProperty("image.name", "infini-streams") + ":latest";
    try (GenericContainer<?> app =
        new GenericContainer<>(DockerImageName.parse(image))
            .withNetwork(NETWORK)
            .dependsOn(KAFKA)
            .withEnv("INFINI_BOOTSTRAP_SERVERS", "kafka:19092")
            .withEnv("INFINI_APPLICATION_ID", "infini-image-test")
            .withEnv("INFINI_TOPIC_PARTITIONS", "1")
            .withEnv("INFINI_TOPIC_REPLICATION_FACTOR", "1")
            .withEnv("INFINI_HTTP_BIND", "0.0.0.0")
            .withExposedPorts(8480)
            .waitingFor(
                Wait.forHttp("/health/ready")
                    .forPort(8480)
                    .forStatusCode(200)
                    .withStartupTimeout(Duration.ofMinutes(5)))) {
      app.start();
      ExecResult health =
          app.execInContainer(
              "java",
              "-Xmx32m",
              "-cp",
              "/app/classes",
              HealthCheck.class.getName(),
              "http://127.0.0.1:8480/health/ready");
      assertEquals(0, health.getExitCode(), health.getStdout() + health.getStderr());
    }
  }
}
