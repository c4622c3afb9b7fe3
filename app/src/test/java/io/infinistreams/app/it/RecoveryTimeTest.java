package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.TopologySettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code infini run} as a separate process (a child JVM with the test class path), with the
 * embedded broker and the shipped model:
 *
 * <ul>
 *   <li>a second {@code run} in the same folder exits at once with status 2 and one line;
 *   <li>with {@code -Dinfini.recovery.sessions=N}: N times, an event is sent, the process is killed
 *       with SIGKILL, restarted, another event is sent, and the time from the restart to that
 *       event's output is measured (printed, and written to {@code target/recovery-times.txt}). The
 *       command and the results are in docs/reliability.md.
 * </ul>
 */
@Timeout(value = 60, unit = TimeUnit.MINUTES)
class RecoveryTimeTest {
  private static final String KEY = "recovery";

  @TempDir Path dir;

  @Test
  void aSecondRunProcessInTheSameFolderExitsWithTwoAndOneLine() throws Exception {
    RunProcess first = start(dir, "state-1", "first");
    try {
      first.awaitRunning(Duration.ofMinutes(3));
      long t0 = System.nanoTime();
      RunProcess second = start(dir, "state-2", "second");
      assertTrue(second.process.waitFor(120, TimeUnit.SECONDS), "the second run exits");
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals(2, second.process.exitValue(), second.stderr());
      List<String> infiniLines =
          second.stderr().lines().filter(l -> l.startsWith("infini: ")).toList();
      assertEquals(1, infiniLines.size(), second.stderr());
      assertTrue(
          infiniLines.get(0).contains("is in use by another running broker"), second.stderr());
      assertTrue(
          second.stderr().lines().noneMatch(l -> l.startsWith("\tat ")),
          "no stack trace: " + second.stderr());
      System.err.printf("second run exited 2 after %.1f s (JVM start and model load)%n", seconds);
      assertTrue(first.process.isAlive(), "the first run goes on");
    } finally {
      first.stop();
    }
  }

  @Test
  @EnabledIfSystemProperty(named = "infini.recovery.sessions", matches = "[1-9][0-9]*")
  void timeToServeAgainAfterKill9() throws Exception {
    int sessions = Integer.getInteger("infini.recovery.sessions");
    RunProcess child = start(dir, "state", "run-0");
    String bootstrap = child.awaitBroker(Duration.ofMinutes(3));
    List<Double> serve = new ArrayList<>();
    List<Double> running = new ArrayList<>();
    int corrupted = 0;
    long seq = 1;
    try (OutputReader outputs = new OutputReader(bootstrap)) {
      send(bootstrap, seq);
      outputs.await(seq, Duration.ofMinutes(3), child);
      for (int i = 1; i <= sessions; i++) {
        send(bootstrap, ++seq); // usually still in flight when the process dies
        child.process.destroyForcibly(); // SIGKILL
        assertTrue(child.process.waitFor(60, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        child = start(dir, "state", "run-" + i);
        send(bootstrap, ++seq); // the producer waits for the broker to come back
        outputs.await(seq, Duration.ofMinutes(5), child);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String address = child.awaitBroker(Duration.ofMinutes(1));
        assertEquals(bootstrap, address, "the restarted broker reuses its ports");
        double toRunning = (child.runningAtNanos - t0) / 1e9;
        serve.add(seconds);
        running.add(toRunning);
        boolean taskCorrupted = child.stderr().contains("TaskCorruptedException");
        corrupted += taskCorrupted ? 1 : 0;
        System.err.printf(
            "session %d: served again %.1f s after the restart (process RUNNING after %.1f s)%s%n",
            i, seconds, toRunning, taskCorrupted ? ", TaskCorruptedException logged" : "");
      }
    } finally {
      child.stop();
    }
    String format =
        String.join(
            " ",
            "%d sessions of kill -9 and restart (embedded broker, shipped model%s):",
            "time to serve again %s; process RUNNING after %s;",
            "TaskCorruptedException logged in %d of %d restarts");
    String summary =
        String.format(
            format,
            sessions,
            Boolean.getBoolean("infini.recovery.baseline")
                ? ", baseline: no static membership, 45 s session"
                : "",
            stats(serve),
            stats(running),
            corrupted,
            sessions);
    System.err.println(summary);
    Files.writeString(
        Path.of(
            "target",
            Boolean.getBoolean("infini.recovery.baseline")
                ? "recovery-times-baseline.txt"
                : "recovery-times.txt"),
        String.join("\n", summary, "serve: " + serve, "running: " + running, ""),
        StandardCharsets.UTF_8);
  }

  private static String stats(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    double mean = sorted.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    return String.format(
        "min %.1f s, median %.1f s, mean %.1f s, max %.1f s",
        sorted.get(0), sorted.get(sorted.size() / 2), mean, sorted.get(sorted.size() - 1));
  }

  private static void send(String bootstrap, long seq) throws Exception {
    Map<String, Object> props =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.MAX_BLOCK_MS_CONFIG,
            300_000,
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
            300_000,
            ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
            10_000);
    try (KafkaProducer<String, io.infinistreams.schemas.InputEvent> producer =
        new KafkaProducer<>(
            props, new StringSerializer(), InfiniTopology.INPUT_SERDE.serializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  TopologySettings.defaults().inputTopic(),
                  KEY,
                  Pipeline.append(seq, "event " + seq + " of the recovery run. ")))
          .get(300, TimeUnit.SECONDS);
    }
  }

  /** Reads the output topic (read_committed, no group) across broker restarts. */
  private static final class OutputReader implements AutoCloseable {
    private final KafkaConsumer<String, OutputEvent> consumer;
    private long lastSeq;

    OutputReader(String bootstrap) {
      consumer =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  bootstrap,
                  ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                  "read_committed",
                  ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                  "earliest",
                  ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                  false),
              new StringDeserializer(),
              InfiniTopology.OUTPUT_SERDE.deserializer());
      String topic = TopologySettings.defaults().outputTopic();
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topic, Duration.ofMinutes(1))
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
    }

    void await(long seq, Duration timeout, RunProcess child) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (lastSeq < seq) {
        if (System.nanoTime() > deadline) {
          fail("output seq " + seq + " not seen within " + timeout + " (last " + lastSeq + ")");
        }
        if (!child.process.isAlive()) {
          fail("run exited with " + child.process.exitValue() + ": " + child.stderr());
        }
        for (ConsumerRecord<String, OutputEvent> r : consumer.poll(Duration.ofMillis(100))) {
          if (KEY.equals(r.key())) {
            lastSeq = Math.max(lastSeq, r.value().getSeq());
          }
        }
      }
    }

    @Override
    public void close() {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /** {@code infini run} with the embedded broker and its data under {@code dir}. */
  private static RunProcess start(Path dir, String stateDir, String name) throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--set",
                "embedded.broker.dir=" + dir.resolve("kafka"),
                "--state-dir",
                dir.resolve(stateDir).toString(),
                "--set",
                "topic.partitions=1",
                "--set",
                "http.port=0"));
    if (Boolean.getBoolean("infini.recovery.baseline")) {
      // the previous behaviour: every start is a new member, and the dead one keeps its
      // partitions until its session (Kafka's default 45 s) expires
      args.addAll(
          List.of(
              "--set",
              "streams.main.consumer.group.instance.id=baseline-" + System.nanoTime(),
              "--set",
              "streams.main.consumer.session.timeout.ms=45000"));
    }
    return RunProcess.start(dir, name, args);
  }
}
