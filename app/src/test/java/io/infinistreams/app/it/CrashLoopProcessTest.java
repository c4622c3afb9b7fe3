package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.TopologySettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record during which {@code infini run} dies, again and again (SIGKILL while the record is being
 * applied, as a native crash would kill it), against a broker that stays up: after {@code
 * event.max.crashes} deaths the restarted process dead-letters the record as CRASH_LOOP instead of
 * dying on it once more, the other streams go on, and the poisoned stream's seq is still expected.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class CrashLoopProcessTest {
  private static final int MAX_CRASHES = 2;

  @TempDir Path dir;

  @Test
  void aRecordThatKillsTheProcessIsDeadLetteredAfterTheConfiguredCrashes() throws Exception {
    TopologySettings topics = TopologySettings.defaults();
    try (EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("kafka"))) {
      String bootstrap = broker.bootstrapServers();
      RunProcess child = start(bootstrap, "run-0");
      child.awaitRunning(Duration.ofMinutes(3));
      try (KafkaProducer<String, InputEvent> producer = producer(bootstrap);
          Reader reader = new Reader(bootstrap, topics)) {
        // Long enough to be in flight for seconds: ~200K tokens.
        String poison =
            "A long document that is being applied when the process dies. ".repeat(3200);
        producer
            .send(record(topics, "poison", Pipeline.append(1, poison)))
            .get(60, TimeUnit.SECONDS);
        producer
            .send(record(topics, "other", Pipeline.append(1, "after it")))
            .get(60, TimeUnit.SECONDS);
        for (int crash = 1; crash <= MAX_CRASHES; crash++) {
          awaitAttempts(crash, child);
          child.kill();
          child = start(bootstrap, "run-" + crash);
        }
        TestDeadLetter dead = reader.awaitDeadLetter(Duration.ofMinutes(3), child);
        assertEquals("poison", dead.key);
        assertEquals(DeadLetterReason.CRASH_LOOP.name(), dead.headers.get(DeadLetterReason.HEADER));
        assertEquals(
            topics.inputTopic() + "/0/0", dead.headers.get(DeadLetterReason.SOURCE_HEADER));
        assertTrue(
            dead.headers.get(DeadLetterReason.DETAIL_HEADER).contains(MAX_CRASHES + " time(s)"),
            dead.headers.toString());
        assertEquals(1, reader.awaitOutput("other", 1, Duration.ofMinutes(3), child).getSeq());
        assertTrue(child.process.isAlive(), "the process lives on past the record");
        assertTrue(
            child.stderr().contains("CRASH_LOOP") || child.stderr().contains("not applied again"),
            "the dead letter is logged");

        // Nothing of the record was applied: the stream still expects seq 1.
        producer
            .send(record(topics, "poison", Pipeline.append(1, "short")))
            .get(60, TimeUnit.SECONDS);
        OutputEvent first = reader.awaitOutput("poison", 1, Duration.ofMinutes(3), child);
        assertEquals(0, first.getSegmentsTotal(), "the stream starts from nothing");
        assertTrue(first.getTokensTotal() < 10, "the stream starts from nothing: " + first);
        assertEquals(1, reader.outputsOf("poison").size(), "the record never gave an output");
      } finally {
        child.stop();
      }
    }
  }

  /** Waits until the run's attempt journal shows the poison record begun {@code n} times. */
  private void awaitAttempts(int n, RunProcess child) {
    Awaitility.await("attempt " + n + " in the journal")
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              if (!child.process.isAlive()) {
                fail("run exited with " + child.process.exitValue() + ": " + child.stderr());
              }
              return journalLines().stream()
                  .map(line -> line.split("\t"))
                  .anyMatch(f -> f.length >= 4 && f[3].equals(Integer.toString(n)));
            });
  }

  private List<String> journalLines() throws IOException {
    Path root = dir.resolve("state").resolve("infini-attempts");
    List<String> lines = new ArrayList<>();
    if (Files.isDirectory(root)) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          try {
            lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
          } catch (IOException e) {
            // being rewritten: read it on the next pass
          }
        }
      }
    }
    return lines;
  }

  private RunProcess start(String bootstrap, String name) throws IOException {
    return RunProcess.start(
        dir,
        name,
        List.of(
            "--set",
            "bootstrap.servers=" + bootstrap,
            "--state-dir",
            dir.resolve("state").toString(),
            "--set",
            "topic.partitions=1",
            "--set",
            "http.port=0",
            "--set",
            "event.max.text.bytes=262144",
            "--set",
            "event.max.crashes=" + MAX_CRASHES));
  }

  private static ProducerRecord<String, InputEvent> record(
      TopologySettings topics, String key, InputEvent event) {
    return new ProducerRecord<>(topics.inputTopic(), key, event);
  }

  private static KafkaProducer<String, InputEvent> producer(String bootstrap) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            1 << 20),
        new StringSerializer(),
        InfiniTopology.INPUT_SERDE.serializer());
  }

  private record TestDeadLetter(String key, Map<String, String> headers) {}

  /** Reads the output and dead-letter topics (read_committed, no group). */
  private static final class Reader implements AutoCloseable {
    private final KafkaConsumer<String, OutputEvent> outputs;
    private final KafkaConsumer<String, byte[]> deadLetters;
    private final Map<String, List<OutputEvent>> byStream = new HashMap<>();

    Reader(String bootstrap, TopologySettings topics) {
      Map<String, Object> props =
          Map.of(
              ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
              bootstrap,
              ConsumerConfig.ISOLATION_LEVEL_CONFIG,
              "read_committed",
              ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
              false);
      outputs =
          new KafkaConsumer<>(
              props, new StringDeserializer(), InfiniTopology.OUTPUT_SERDE.deserializer());
      deadLetters =
          new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
      outputs.assign(List.of(new TopicPartition(topics.outputTopic(), 0)));
      outputs.seekToBeginning(outputs.assignment());
      deadLetters.assign(List.of(new TopicPartition(topics.deadLetterTopic(), 0)));
      deadLetters.seekToBeginning(deadLetters.assignment());
    }

    OutputEvent awaitOutput(String key, long seq, Duration timeout, RunProcess child) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        for (OutputEvent e : outputsOf(key)) {
          if (e.getSeq() == seq) {
            return e;
          }
        }
        check(deadline, child, "output " + key + "/" + seq);
        for (ConsumerRecord<String, OutputEvent> r : outputs.poll(Duration.ofMillis(200))) {
          byStream.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
        }
      }
    }

    List<OutputEvent> outputsOf(String key) {
      return byStream.getOrDefault(key, List.of());
    }

    TestDeadLetter awaitDeadLetter(Duration timeout, RunProcess child) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        for (ConsumerRecord<String, byte[]> r : deadLetters.poll(Duration.ofMillis(200))) {
          Map<String, String> headers = new HashMap<>();
          for (Header h : r.headers()) {
            headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
          }
          return new TestDeadLetter(r.key(), headers);
        }
        check(deadline, child, "a dead letter");
      }
    }

    private static void check(long deadline, RunProcess child, String what) {
      if (!child.process.isAlive()) {
        fail("run exited with " + child.process.exitValue() + ": " + child.stderr());
      }
      if (System.nanoTime() > deadline) {
        fail(what + " not seen in time: " + child.stderr());
      }
    }

    @Override
    public void close() {
      outputs.close(Duration.ofSeconds(5));
      deadLetters.close(Duration.ofSeconds(5));
    }
  }
}
