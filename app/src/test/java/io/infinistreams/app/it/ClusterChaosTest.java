package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.SessionSnapshots;
import io.infinistreams.topology.TopologySettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@code infini run} processes (child JVMs, a tiny random model) share the partitions of one
 * broker, which runs in the test's JVM. Streams are fed round by round; after every round one
 * instance is killed with SIGKILL while its events are in flight and started again (once with its
 * state folder deleted, so it restores from the changelogs), and once the broker itself is stopped
 * and started again instead. At the end: every event has exactly one output, in order, nothing is
 * dead-lettered, and every stream's memory, read through the operations API of any instance (routed
 * to the owner), equals one in-process absorb of the stream's whole text, bit for bit.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class ClusterChaosTest {
  private static final int INSTANCES = 3;

  /** Streams fed: 12 in the default test run; {@code -Dinfini.chaos.streams=N} for more. */
  private static final int STREAMS = Integer.getInteger("infini.chaos.streams", 12);

  private static final int ROUNDS = 9;
  private static final int PARTITIONS = 6;
  private static final long MODEL_SEED = 31;
  private static final Duration START = Duration.ofMinutes(6);
  private static final Duration DRAIN = Duration.ofMinutes(5);
  private static final String[] WORDS = {
    "the", "river", "runs", "to", "sea", "and", "a", "log", "line", "said", "error", "at", "noon",
    "Maria", "asked", "for", "her", "code", "which", "is", "k7-Qm2x", "42", "kitchen", "moved"
  };

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  @Test
  void killedInstancesAndARestartedBrokerLoseNothingAndSplitNothing() throws Exception {
    Path brokerDir = dir.resolve("kafka");
    EmbeddedBroker broker = EmbeddedBroker.start(brokerDir);
    String bootstrap = broker.bootstrapServers();
    RunProcess[] runs = new RunProcess[INSTANCES];
    Map<String, StringBuilder> texts = new LinkedHashMap<>();
    for (int k = 0; k < STREAMS; k++) {
      texts.put("chaos-" + k, new StringBuilder());
    }
    Random random = new Random(7);
    int kills = 0;
    try {
      for (int i = 0; i < INSTANCES; i++) { // one after another: the first creates the topics
        runs[i] = start(bootstrap, i);
        runs[i].awaitRunning(START);
      }
      try (KafkaProducer<String, InputEvent> producer = producer(bootstrap)) {
        for (int round = 1; round <= ROUNDS; round++) {
          List<Future<RecordMetadata>> sent = new ArrayList<>();
          for (Map.Entry<String, StringBuilder> e : texts.entrySet()) {
            String piece = piece(random);
            e.getValue().append(piece);
            sent.add(
                producer.send(
                    new ProducerRecord<>(
                        TopologySettings.defaults().inputTopic(),
                        e.getKey(),
                        Pipeline.append(round, piece))));
          }
          producer.flush();
          for (Future<RecordMetadata> f : sent) {
            f.get(); // delivered (flush returned): throws if the broker refused it
          }
          if (round == ROUNDS / 2) { // the broker goes away under the three instances
            broker.close();
            broker = EmbeddedBroker.start(brokerDir);
            assertEquals(bootstrap, broker.bootstrapServers(), "the broker keeps its port");
            continue;
          }
          int victim = round % INSTANCES; // its events of this round are still in flight
          runs[victim].kill();
          kills++;
          if (round == 2) { // a lost disk: the instance restores its stores from the changelogs
            Pipeline.deleteRecursively(dir.resolve("state-" + victim));
          }
          long t0 = System.nanoTime();
          runs[victim] = start(bootstrap, victim);
          runs[victim].awaitRunning(START);
          System.err.printf(
              "round %d: instance %d killed%s, RUNNING again after %.1f s%n",
              round,
              victim,
              round == 2 ? " and its state folder deleted" : "",
              (System.nanoTime() - t0) / 1e9);
        }
      }
      Map<String, List<Long>> outputs = awaitOutputs(bootstrap, runs);
      for (String key : texts.keySet()) {
        List<Long> seqs = outputs.get(key);
        assertEquals(ROUNDS, seqs.size(), key + ": one output per event, none twice: " + seqs);
        for (int i = 0; i < ROUNDS; i++) {
          assertEquals(i + 1L, seqs.get(i), key + ": outputs in order: " + seqs);
        }
      }
      assertEquals(0, deadLetters(bootstrap), "dead letters");

      String api = runs[0].awaitOperations(START);
      assertNotNull(api, "the operations server runs");
      HttpClient http = HttpClient.newHttpClient();
      try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), MODEL_SEED)) {
        for (Map.Entry<String, StringBuilder> e : texts.entrySet()) {
          StreamState want =
              model
                  .absorb(model.newState(), ByteTokenizer.encode(e.getValue().toString()), false)
                  .state();
          SessionSnapshots.Decoded got = SessionSnapshots.decode(snapshot(http, api, e.getKey()));
          assertEquals(ROUNDS, got.session().getLastSeq(), e.getKey());
          assertEquals(want.tokensAbsorbed(), got.session().getTokensAbsorbed(), e.getKey());
          assertEquals(model.fingerprint(), got.session().getModelFingerprint(), e.getKey());
          assertMemoryEquals(e.getKey(), want.memories(), got.memories());
        }
      }
      System.err.printf(
          "ClusterChaosTest: %d streams x %d events over %d instances, %d kill -9, 1 broker"
              + " restart: every output once, no dead letter, every memory bit for bit%n",
          STREAMS, ROUNDS, INSTANCES, kills);
    } finally {
      for (RunProcess r : runs) {
        if (r != null) {
          r.stop();
        }
      }
      broker.close();
    }
  }

  private RunProcess start(String bootstrap, int instance) throws Exception {
    return RunProcess.start(
        dir,
        "instance-" + instance + "-" + System.nanoTime(),
        List.of(
            "--set",
            "bootstrap.servers=" + bootstrap,
            "--state-dir",
            dir.resolve("state-" + instance).toString(),
            "--set",
            "instance.id=chaos-" + instance,
            "--set",
            "model.random=tiny",
            "--set",
            "model.seed=" + MODEL_SEED,
            "--set",
            "topic.partitions=" + PARTITIONS,
            "--set",
            "http.port=0"));
  }

  /** 20-300 bytes of words, ASCII (one token a byte). */
  private static String piece(Random random) {
    int bytes = 20 + random.nextInt(281);
    StringBuilder b = new StringBuilder();
    while (b.length() < bytes) {
      b.append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(9) == 0 ? ". " : " ");
    }
    return b.toString();
  }

  private static KafkaProducer<String, InputEvent> producer(String bootstrap) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            true,
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
            300_000,
            ProducerConfig.MAX_BLOCK_MS_CONFIG,
            300_000,
            ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
            10_000),
        new StringSerializer(),
        InfiniTopology.INPUT_SERDE.serializer());
  }

  /**
   * Reads the output topic (read_committed) from the beginning until every stream has {@link
   * #ROUNDS} outputs or {@link #DRAIN} passes, failing at once if an instance died; then reads on
   * for one more empty poll so that an extra output would be seen.
   */
  private static Map<String, List<Long>> awaitOutputs(String bootstrap, RunProcess[] runs) {
    Map<String, List<Long>> seqs = new HashMap<>();
    try (KafkaConsumer<String, OutputEvent> consumer =
        new KafkaConsumer<>(
            readCommitted(bootstrap),
            new StringDeserializer(),
            InfiniTopology.OUTPUT_SERDE.deserializer())) {
      assignFromStart(consumer, TopologySettings.defaults().outputTopic());
      long deadline = System.nanoTime() + DRAIN.toNanos();
      boolean quiet = false;
      while (!quiet) {
        if (System.nanoTime() > deadline) {
          fail("outputs within " + DRAIN + ": " + seqs);
        }
        for (RunProcess r : runs) {
          if (!r.process.isAlive()) {
            fail("an instance exited with " + r.process.exitValue() + ": " + r.stderr());
          }
        }
        var records = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<String, OutputEvent> r : records) {
          seqs.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value().getSeq());
        }
        boolean complete =
            seqs.size() == STREAMS && seqs.values().stream().allMatch(s -> s.size() >= ROUNDS);
        quiet = complete && records.isEmpty();
      }
    }
    return seqs;
  }

  /** How many committed records the dead-letter topic holds. */
  private static long deadLetters(String bootstrap) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            readCommitted(bootstrap), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts =
          assignFromStart(consumer, TopologySettings.defaults().deadLetterTopic());
      long n = 0;
      for (long end : consumer.endOffsets(parts).values()) {
        n += end;
      }
      return n; // the topic is never compacted or truncated here: its end offsets count records
    }
  }

  private static Map<String, Object> readCommitted(String bootstrap) {
    return Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrap,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
        "read_committed",
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
        "earliest",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
        false);
  }

  private static List<TopicPartition> assignFromStart(KafkaConsumer<?, ?> consumer, String topic) {
    List<TopicPartition> parts = new ArrayList<>();
    consumer
        .partitionsFor(topic, Duration.ofMinutes(1))
        .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return parts;
  }

  /** GETs a stream's snapshot until it is 200 (a rebalance answers 502/503 meanwhile). */
  private static byte[] snapshot(HttpClient http, String api, String key) throws Exception {
    long deadline = System.nanoTime() + START.toNanos();
    HttpResponse<byte[]> r;
    do {
      r =
          http.send(
              HttpRequest.newBuilder(URI.create(api + "/sessions/" + key + "/snapshot"))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() == 200) {
        return r.body();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // back off between polls
    } while (System.nanoTime() < deadline);
    throw new AssertionError("snapshot of " + key + ": HTTP " + r.statusCode());
  }

  private static void assertMemoryEquals(
      String key, List<HeadMemory> want, List<StoredHeadMemory> got) {
    assertEquals(want.size(), got.size(), key + ": head records");
    for (int i = 0; i < want.size(); i++) {
      String which = key + " head record " + i;
      assertEquals(want.get(i).updates(), got.get(i).getUpdates(), which);
      assertEquals(
          ByteBuffer.wrap(Pipeline.floatBytes(want.get(i).m())),
          got.get(i).getM(),
          "M of " + which);
      assertEquals(
          ByteBuffer.wrap(Pipeline.floatBytes(want.get(i).z())),
          got.get(i).getZ(),
          "z of " + which);
    }
  }
}
