package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.schemas.InputEvent;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
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
 *   <li>with {@code -Dinfini.recovery.restarts=N}: N times, an event is sent, the process is killed
 *       with SIGKILL, restarted, another event is sent, and the time from the restart to that
 *       event's output is measured (printed, and written to {@code target/recovery-times.txt}). The
 *       command and the results are in docs/reliability.md. {@code -Dinfini.recovery.streams=S}
 *       (default 1) first gives S streams a memory, so that a restart restores S streams' state;
 *       {@code -Dinfini.recovery.broker=separate} runs the broker in the test's JVM, so that only
 *       {@code run} dies, not the broker with it.
 * </ul>
 */
@Timeout(value = 60, unit = TimeUnit.MINUTES)
class RecoveryTimeTest {
  private static final String KEY = "recovery";

  @TempDir Path dir;

  @Test
  void aSecondRunProcessInTheSameFolderExitsWithTwoAndOneLine() throws Exception {
    RunProcess first = start(dir, "state-1", "first", null);
    try {
      first.awaitRunning(Duration.ofMinutes(3));
      long t0 = System.nanoTime();
      RunProcess second = start(dir, "state-2", "second", null);
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
  @EnabledIfSystemProperty(named = "infini.recovery.restarts", matches = "[1-9][0-9]*")
  void timeToServeAgainAfterKill9() throws Exception {
    int restarts = Integer.getInteger("infini.recovery.restarts");
    int streams = Integer.getInteger("infini.recovery.streams", 1);
    boolean separate = "separate".equals(System.getProperty("infini.recovery.broker"));
    EmbeddedBroker broker = separate ? EmbeddedBroker.start(dir.resolve("kafka")) : null;
    String external = separate ? broker.bootstrapServers() : null;
    RunProcess child = start(dir, "state", "run-0", external);
    String bootstrap = separate ? external : child.awaitBroker(Duration.ofMinutes(3));
    child.awaitRunning(Duration.ofMinutes(3)); // its topics exist
    List<Double> serve = new ArrayList<>();
    List<Double> running = new ArrayList<>();
    int corrupted = 0;
    long seq = 1;
    try (OutputReader outputs = new OutputReader(bootstrap)) {
      send(bootstrap, seq);
      outputs.await(seq, Duration.ofMinutes(3), child);
      if (streams > 1) {
        seed(bootstrap, streams - 1);
        outputs.awaitOthers(streams - 1, Duration.ofMinutes(30), child);
      }
      for (int i = 1; i <= restarts; i++) {
        send(bootstrap, ++seq); // usually still in flight when the process dies
        child.process.destroyForcibly(); // SIGKILL
        assertTrue(child.process.waitFor(60, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        child = start(dir, "state", "run-" + i, external);
        send(bootstrap, ++seq); // the producer waits for the broker to come back
        outputs.await(seq, Duration.ofMinutes(5), child);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!separate) {
          String address = child.awaitBroker(Duration.ofMinutes(1));
          assertEquals(bootstrap, address, "the restarted broker reuses its ports");
        }
        double toRunning = (child.runningAtNanos - t0) / 1e9;
        serve.add(seconds);
        running.add(toRunning);
        boolean taskCorrupted = child.stderr().contains("TaskCorruptedException");
        corrupted += taskCorrupted ? 1 : 0;
        System.err.printf(
            "restart %d: served again %.1f s after the restart (process RUNNING after %.1f s)%s%n",
            i, seconds, toRunning, taskCorrupted ? ", TaskCorruptedException logged" : "");
      }
    } finally {
      child.stop();
      if (broker != null) {
        broker.close();
      }
    }
    String format =
        String.join(
            " ",
            "%d restarts after kill -9, %d streams with state (%s broker, shipped model%s):",
            "time to serve again %s; process RUNNING after %s;",
            "TaskCorruptedException logged in %d of %d restarts");
    String summary =
        String.format(
            format,
            restarts,
            streams,
            separate ? "separate" : "embedded",
            Boolean.getBoolean("infini.recovery.baseline")
                ? ", baseline: no static membership, 45 s session"
                : "",
            stats(serve),
            stats(running),
            corrupted,
            restarts);
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
    try (KafkaProducer<String, InputEvent> producer = producer(bootstrap)) {
      producer
          .send(
              new ProducerRecord<>(
                  TopologySettings.defaults().inputTopic(),
                  KEY,
                  Pipeline.append(seq, "event " + seq + " of the recovery run. ")))
          .get(300, TimeUnit.SECONDS);
    }
  }

  /**
   * Gives {@code count} other streams a memory: one APPEND each of {@link #SEED_BYTES} bytes of
   * text, so that each has compressed segments in every head's store.
   */
  private static void seed(String bootstrap, int count) throws Exception {
    StringBuilder text = new StringBuilder();
    for (int i = 0; text.length() < SEED_BYTES; i++) {
      text.append("Line ").append(i).append(" of a stream that is restored after a crash. ");
    }
    try (KafkaProducer<String, InputEvent> producer = producer(bootstrap)) {
      List<Future<?>> sent = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    TopologySettings.defaults().inputTopic(),
                    "stream-" + i,
                    Pipeline.append(1, text.substring(0, SEED_BYTES)))));
      }
      for (Future<?> f : sent) {
        f.get(300, TimeUnit.SECONDS);
      }
    }
  }

  /** Bytes of text each seeded stream absorbs: three full segments of the shipped model. */
  private static final int SEED_BYTES = 3 * 128 + 16;

  private static KafkaProducer<String, InputEvent> producer(String bootstrap) {
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
    return new KafkaProducer<>(
        props, new StringSerializer(), InfiniTopology.INPUT_SERDE.serializer());
  }

  /** Reads the output topic (read_committed, no group) across broker restarts. */
  private static final class OutputReader implements AutoCloseable {
    private final KafkaConsumer<String, OutputEvent> consumer;
    private final Set<String> others = new HashSet<>();
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
        poll();
      }
    }

    /** Waits until {@code count} streams other than the measured one have an output. */
    void awaitOthers(int count, Duration timeout, RunProcess child) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (others.size() < count) {
        if (System.nanoTime() > deadline) {
          fail(count + " streams' outputs not seen within " + timeout + " (" + others.size() + ")");
        }
        if (!child.process.isAlive()) {
          fail("run exited with " + child.process.exitValue() + ": " + child.stderr());
        }
        poll();
      }
    }

    private void poll() {
      for (ConsumerRecord<String, OutputEvent> r : consumer.poll(Duration.ofMillis(100))) {
        if (KEY.equals(r.key())) {
          lastSeq = Math.max(lastSeq, r.value().getSeq());
        } else {
          others.add(r.key());
        }
      }
    }

    @Override
    public void close() {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /**
   * {@code infini run} with the embedded broker and its data under {@code dir}, or against the
   * broker at {@code bootstrap} if not null.
   */
  private static RunProcess start(Path dir, String stateDir, String name, String bootstrap)
      throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--set",
                bootstrap == null
                    ? "embedded.broker.dir=" + dir.resolve("kafka")
                    : "bootstrap.servers=" + bootstrap,
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
