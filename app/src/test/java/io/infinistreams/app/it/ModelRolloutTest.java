package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.ModelCensus;
import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.TopologySettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model rollout against a real broker, as an operator does it: the application runs model A, then
 * restarts with model B serving and A loaded as the previous model (policy {@code serve}), then
 * with B alone under policy {@code reset}, then under {@code dead-letter}. Streams A wrote continue
 * under A, are started afresh under B with the reset header, or are refused until a RESET pinned to
 * B moves them; new streams get B; the census at each start counts the streams by model.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ModelRolloutTest {
  private static final Duration WAIT = Duration.ofMinutes(3);

  @TempDir Path dir;

  private record Out(OutputEvent event, String resetFrom) {}

  @Test
  void streamsFollowTheUpgradePolicyAcrossRestarts() throws Exception {
    try (EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("kafka"));
        InfiniModel a = InfiniModel.create(ModelConfig.tiny(), 1);
        InfiniModel b = InfiniModel.create(ModelConfig.tiny(), 2)) {
      assertNotEquals(a.fingerprint(), b.fingerprint());
      String bootstrap = broker.bootstrapServers();
      AppConfig config =
          AppConfig.builder()
              .override("bootstrap.servers", bootstrap)
              .override("state.dir", dir.resolve("state").toString())
              .override("topic.partitions", "2")
              .override("http.enabled", "false")
              .build();
      TopologySettings settings = TopologySettings.defaults();
      Pipeline pipeline = new Pipeline(bootstrap, settings, a, config.applicationId());
      String text = "A stream long enough to write memory. ".repeat(8);

      // 1. Model A writes three streams.
      try (InfiniApp app = InfiniApp.start(config, a, WAIT);
          Outputs outputs = new Outputs(bootstrap, settings)) {
        for (String key : List.of("kept", "reset", "refused")) {
          pipeline.produce(key, List.of(Pipeline.append(1, text)));
          assertEquals(a.fingerprint(), outputs.await(key, 1).event().getModelFingerprint());
        }
        assertEquals(Map.of(a.fingerprint(), 3L), ModelCensus.count(app.streams(), app.settings()));
      }

      // 2. B serves, A continues the streams it wrote (serve); a new stream gets B.
      try (InfiniApp app =
              InfiniApp.start(config, Models.of(b, List.of(a), Models.UpgradePolicy.SERVE), WAIT);
          Outputs outputs = new Outputs(bootstrap, settings)) {
        assertEquals(Map.of(a.fingerprint(), 3L), ModelCensus.count(app.streams(), app.settings()));
        pipeline.produce("kept", List.of(Pipeline.append(2, "More under A.")));
        Out kept = outputs.await("kept", 2);
        assertEquals(a.fingerprint(), kept.event().getModelFingerprint());
        assertNull(kept.resetFrom());
        pipeline.produce("fresh", List.of(Pipeline.append(1, text)));
        assertEquals(b.fingerprint(), outputs.await("fresh", 1).event().getModelFingerprint());
      }

      // 3. B alone under reset: A's stream starts afresh under B, and says so.
      try (InfiniApp app =
              InfiniApp.start(config, Models.of(b, List.of(), Models.UpgradePolicy.RESET), WAIT);
          Outputs outputs = new Outputs(bootstrap, settings)) {
        pipeline.produce("reset", List.of(Pipeline.append(2, "Under B now.")));
        Out reset = outputs.await("reset", 2);
        assertEquals(b.fingerprint(), reset.event().getModelFingerprint());
        assertEquals(a.fingerprint(), reset.resetFrom());
        assertEquals(
            1 + "Under B now.".length(),
            reset.event().getTokensTotal(),
            "a fresh stream: its BOS and this event");
        assertEquals(
            Map.of(a.fingerprint(), 2L, b.fingerprint(), 2L),
            ModelCensus.count(app.streams(), app.settings()));
      }

      // 4. B alone under dead-letter: A's stream is refused until a RESET pinned to B moves it.
      try (InfiniApp app =
              InfiniApp.start(
                  config, Models.of(b, List.of(), Models.UpgradePolicy.DEAD_LETTER), WAIT);
          Outputs outputs = new Outputs(bootstrap, settings)) {
        pipeline.produce("refused", List.of(Pipeline.append(2, "Refused.")));
        assertEquals(
            DeadLetterReason.FINGERPRINT_MISMATCH.name(), outputs.awaitDeadLetter("refused"));
        InputEvent pinnedReset =
            InputEvent.newBuilder(Pipeline.append(2, ""))
                .setKind(EventKind.RESET)
                .setModelFingerprint(b.fingerprint().substring(0, 12))
                .build();
        pipeline.produce("refused", List.of(pinnedReset));
        Out moved = outputs.await("refused", 2);
        assertEquals(EventKind.RESET, moved.event().getKind());
        assertEquals(b.fingerprint(), moved.event().getModelFingerprint());
        assertEquals(
            Map.of(a.fingerprint(), 1L, b.fingerprint(), 3L),
            ModelCensus.count(app.streams(), app.settings()));
      }
    }
  }

  /** The output and dead-letter topics from their beginning (read_committed, no group). */
  private static final class Outputs implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> outputs;
    private final KafkaConsumer<String, byte[]> deadLetters;
    private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();
    private final List<ConsumerRecord<String, byte[]>> dead = new ArrayList<>();

    Outputs(String bootstrap, TopologySettings settings) {
      outputs = consumer(bootstrap, settings.outputTopic());
      deadLetters = consumer(bootstrap, settings.deadLetterTopic());
    }

    private static KafkaConsumer<String, byte[]> consumer(String bootstrap, String topic) {
      KafkaConsumer<String, byte[]> c =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  bootstrap,
                  ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                  "read_committed"),
              new StringDeserializer(),
              new ByteArrayDeserializer());
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topic, WAIT)
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      c.assign(parts);
      c.seekToBeginning(parts);
      return c;
    }

    Out await(String key, long seq) {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (true) {
        for (ConsumerRecord<String, byte[]> r : seen) {
          OutputEvent e = InfiniTopology.OUTPUT_SERDE.deserializer().deserialize("t", r.value());
          if (r.key().equals(key) && e.getSeq() == seq) {
            Header h = r.headers().lastHeader(InfiniTopology.CONTEXT_RESET_HEADER);
            return new Out(e, h == null ? null : new String(h.value(), StandardCharsets.UTF_8));
          }
        }
        if (System.nanoTime() > deadline) {
          fail("no output " + key + "/" + seq + " within " + WAIT);
        }
        outputs.poll(Duration.ofMillis(200)).forEach(seen::add);
      }
    }

    /** The reason of the first dead letter of {@code key}. */
    String awaitDeadLetter(String key) {
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (true) {
        for (ConsumerRecord<String, byte[]> r : dead) {
          if (key.equals(r.key())) {
            return new String(
                r.headers().lastHeader(DeadLetterReason.HEADER).value(), StandardCharsets.UTF_8);
          }
        }
        if (System.nanoTime() > deadline) {
          fail("no dead letter of " + key + " within " + WAIT);
        }
        deadLetters.poll(Duration.ofMillis(200)).forEach(dead::add);
      }
    }

    @Override
    public void close() {
      outputs.close(Duration.ofSeconds(5));
      deadLetters.close(Duration.ofSeconds(5));
    }
  }
}
