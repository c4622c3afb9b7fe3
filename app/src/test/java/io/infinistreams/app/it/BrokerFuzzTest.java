package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.FuzzCases;
import io.infinistreams.topology.FuzzCases.Case;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.MemoryKey;
import io.infinistreams.topology.TopologySettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The processor's fuzz records ({@link FuzzCases}: mostly undecodable, mutated, oversized,
 * mis-keyed or mis-sequenced, with good events for a few streams among them) sent as raw bytes
 * through a real broker to the application as {@code run} starts it (embedded broker, two
 * partitions, the repartition step, exactly-once). Every bad record comes back in the dead-letter
 * topic exactly once, key and value byte for byte, with its reason; every good one has exactly one
 * output, in order per stream; the application keeps running; and the stores, read back from their
 * changelog topics, hold exactly what the good records alone leave under TopologyTestDriver.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class BrokerFuzzTest {
  private static final long SEED = 20261206L;
  private static final int RECORDS = 10_000;
  private static final Duration WAIT = Duration.ofMinutes(5);

  @TempDir Path dir;

  @Test
  void everyRecordHasExactlyOneOutcomeThroughTheBrokerAndRejectedOnesLeaveNoTrace()
      throws Exception {
    List<Case> cases = FuzzCases.cases(SEED, RECORDS);
    TopologySettings fuzz = FuzzCases.SETTINGS;
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 11)) {
      FuzzCases.Stores reference = FuzzCases.reference(model, cases, dir.resolve("reference"));
      AppConfig config =
          AppConfig.builder()
              .override("embedded.broker.dir", dir.resolve("kafka").toString())
              .override("state.dir", dir.resolve("state").toString())
              .override("topic.partitions", "2")
              .override("http.enabled", "false")
              .override("event.max.text.bytes", Integer.toString(fuzz.maxEventTextBytes()))
              .override("absorb.chunk.tokens", Integer.toString(fuzz.absorbChunkTokens()))
              .override("generate.max.tokens.limit", Integer.toString(fuzz.maxNewTokensLimit()))
              .override("stream.id.max.bytes", Integer.toString(fuzz.maxStreamIdBytes()))
              .build();
      try (InfiniApp app = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
        String bootstrap = app.bootstrapServers();
        send(bootstrap, app.settings().inputTopic(), cases);

        Map<String, Integer> wantDead = new HashMap<>();
        Map<String, List<Long>> wantSeqs = new TreeMap<>();
        for (Case c : cases) {
          if (c.good()) {
            wantSeqs.computeIfAbsent(c.streamId(), k -> new ArrayList<>()).add(c.seq());
          } else {
            wantDead.merge(
                deadLetter(c.key(), c.value(), c.fault().reason.name()), 1, Integer::sum);
          }
        }
        int good = (int) cases.stream().filter(Case::good).count();
        Map<String, List<Long>> gotSeqs = new TreeMap<>();
        Map<String, Integer> gotDead = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> outputs = consumer(bootstrap);
            KafkaConsumer<byte[], byte[]> deadLetters = consumer(bootstrap)) {
          seekToBeginning(outputs, app.settings().outputTopic());
          seekToBeginning(deadLetters, app.settings().deadLetterTopic());
          long deadline = System.nanoTime() + WAIT.toNanos();
          int outs = 0;
          int deads = 0;
          while (outs < good || deads < cases.size() - good) {
            if (System.nanoTime() > deadline) {
              fail(outs + " of " + good + " outputs, " + deads + " dead letters within " + WAIT);
            }
            if (app.streams().state() != KafkaStreams.State.RUNNING
                && app.streams().state() != KafkaStreams.State.REBALANCING) {
              fail("the application stopped: " + app.streams().state());
            }
            for (ConsumerRecord<byte[], byte[]> r : outputs.poll(Duration.ofMillis(100))) {
              OutputEvent o =
                  InfiniTopology.OUTPUT_SERDE.deserializer().deserialize("t", r.value());
              gotSeqs.computeIfAbsent(o.getStreamId(), k -> new ArrayList<>()).add(o.getSeq());
              outs++;
            }
            for (ConsumerRecord<byte[], byte[]> r : deadLetters.poll(Duration.ofMillis(100))) {
              Header reason = r.headers().lastHeader(DeadLetterReason.HEADER);
              gotDead.merge(
                  deadLetter(
                      r.key(),
                      r.value(),
                      reason == null ? "?" : new String(reason.value(), StandardCharsets.UTF_8)),
                  1,
                  Integer::sum);
              deads++;
            }
          }
          // nothing beyond: one more poll of each finds no further record
          assertEquals(0, outputs.poll(Duration.ofSeconds(1)).count(), "extra outputs");
          assertEquals(0, deadLetters.poll(Duration.ofSeconds(1)).count(), "extra dead letters");
        }
        assertEquals(wantSeqs, gotSeqs, "one output per good record, in order per stream");
        assertEquals(wantDead, gotDead, "each bad record dead-lettered once, byte for byte");

        String prefix = config.applicationId() + "-";
        Map<String, StoredSession> sessions = new TreeMap<>();
        latest(bootstrap, prefix + app.settings().sessionsStore() + "-changelog")
            .forEach(
                (k, v) ->
                    sessions.put(
                        new String(HexFormat.of().parseHex(k), StandardCharsets.UTF_8),
                        withoutClock(
                            InfiniTopology.SESSION_SERDE.deserializer().deserialize("t", v))));
        Map<String, StoredSession> wantSessions = new TreeMap<>();
        reference.sessions().forEach((k, v) -> wantSessions.put(k, withoutClock(v)));
        assertEquals(wantSessions, sessions, "sessions as the good records alone leave them");
        for (String key : FuzzCases.BAD_ONLY_KEYS) {
          assertTrue(!sessions.containsKey(key), key + " got a session");
        }
        Map<String, String> memory = new TreeMap<>();
        latest(bootstrap, prefix + app.settings().memoryStore() + "-changelog")
            .forEach((k, v) -> memory.put(k, HexFormat.of().formatHex(v)));
        Map<String, String> wantMemory = new TreeMap<>();
        reference
            .memory()
            .forEach(
                (k, v) ->
                    wantMemory.put(
                        HexFormat.of().formatHex(MemoryKey.SERDE.serializer().serialize("t", k)),
                        HexFormat.of()
                            .formatHex(InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", v))));
        assertEquals(wantMemory, memory, "head memories bit for bit");
        assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
      }
    }
  }

  private static void send(String bootstrap, String topic, List<Case> cases) throws Exception {
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ProducerConfig.LINGER_MS_CONFIG,
                5),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (Case c : cases) {
        sent.add(producer.send(new ProducerRecord<>(topic, c.key(), c.value())));
      }
      for (Future<RecordMetadata> f : sent) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
  }

  private static String deadLetter(byte[] key, byte[] value, String reason) {
    HexFormat hex = HexFormat.of();
    return (key == null ? "null" : hex.formatHex(key))
        + "|"
        + (value == null ? "null" : hex.formatHex(value))
        + "|"
        + reason;
  }

  private static StoredSession withoutClock(StoredSession s) {
    return StoredSession.newBuilder(s).setLastAppliedMillis(0L).build();
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    return new KafkaConsumer<>(
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed",
            ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
            8 << 20),
        new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  private static void seekToBeginning(KafkaConsumer<byte[], byte[]> consumer, String topic) {
    List<TopicPartition> parts = new ArrayList<>();
    consumer
        .partitionsFor(topic, WAIT)
        .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
  }

  /**
   * The latest committed value of every key of a changelog topic (hex of the key bytes), without
   * the keys whose latest record is a tombstone: the store's content.
   */
  private static Map<String, byte[]> latest(String bootstrap, String topic) {
    Map<String, byte[]> values = new LinkedHashMap<>();
    Pipeline.readToEnd(
        bootstrap,
        topic,
        WAIT,
        r -> {
          String key = HexFormat.of().formatHex(r.key());
          if (r.value() == null) {
            values.remove(key);
          } else {
            values.put(key, r.value());
          }
        });
    return values;
  }
}
