package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.MemoryKey;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Test harness around a real broker: creates the topics, produces input events, runs the topology
 * in a {@link KafkaStreams} instance, waits for output by polling with deadlines (never by
 * sleeping), and reads the stores back through interactive queries.
 */
final class Pipeline {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private final String bootstrap;
  private final TopologySettings settings;
  private final InfiniModel model;
  private final String applicationId;

  Pipeline(String bootstrap, TopologySettings settings, InfiniModel model, String applicationId) {
    this.bootstrap = bootstrap;
    this.settings = settings;
    this.model = model;
    this.applicationId = applicationId;
  }

  void createTopics(int inputPartitions) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(settings.inputTopic(), inputPartitions, (short) 1),
                  new NewTopic(settings.outputTopic(), inputPartitions, (short) 1),
                  new NewTopic(settings.deadLetterTopic(), 1, (short) 1)))
          .all()
          .get();
    }
  }

  static InputEvent append(long seq, String text) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(EventKind.APPEND)
        .setText(text)
        .setGeneration(new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  void produce(String key, List<InputEvent> events) {
    Map<String, Object> props =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            true,
            ProducerConfig.LINGER_MS_CONFIG,
            5);
    try (KafkaProducer<String, InputEvent> producer =
        new KafkaProducer<>(
            props, new StringSerializer(), InfiniTopology.INPUT_SERDE.serializer())) {
      // Record timestamps are the producer's clock. They used to be T0 + i: records ~11 months
      // old breach the topics' default 7-day retention, so the broker's first retention check
      // (30 s after it starts, then every 5 minutes) deleted input and output not yet read, and
      // a test that reached that moment waited for output that no longer existed. The event
      // time inside the payload stays T0.
      for (InputEvent e : events) {
        producer.send(new ProducerRecord<>(settings.inputTopic(), key, e));
      }
      producer.flush();
    }
  }

  /**
   * A started KafkaStreams. When a memory-store partition with records in its changelog has been
   * restored, its record count is added to {@code restored} and {@code memoryRestored} counts down.
   */
  KafkaStreams start(Path stateDir, AtomicLong restored, CountDownLatch memoryRestored) {
    Properties props = StreamsProps.forModel(model.config(), settings);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    KafkaStreams streams = new KafkaStreams(InfiniTopology.build(settings, model), props);
    streams.setGlobalStateRestoreListener(
        new StateRestoreListener() {
          @Override
          public void onRestoreStart(TopicPartition tp, String store, long start, long end) {}

          @Override
          public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) {}

          @Override
          public void onRestoreEnd(TopicPartition tp, String store, long total) {
            // partitions with an empty changelog also end a (trivial) restore: count only real ones
            if (store.equals(settings.memoryStore()) && total > 0) {
              restored.addAndGet(total);
              memoryRestored.countDown();
            }
          }
        });
    streams.start();
    return streams;
  }

  static void stop(KafkaStreams streams) {
    streams.close(
        CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(60)));
  }

  /**
   * Output events (read_committed) until one with {@code lastSeq} arrives, or fails at the
   * deadline.
   */
  List<OutputEvent> awaitOutput(String key, long lastSeq, Duration timeout, String group) {
    Map<String, Object> props =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG,
            group,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            "earliest",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed");
    List<OutputEvent> seen = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    try (KafkaConsumer<String, OutputEvent> consumer =
        new KafkaConsumer<>(
            props, new StringDeserializer(), InfiniTopology.OUTPUT_SERDE.deserializer())) {
      consumer.subscribe(Set.of(settings.outputTopic()));
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, OutputEvent> r : consumer.poll(Duration.ofMillis(250))) {
          if (r.key().equals(key)) {
            seen.add(r.value());
            if (r.value().getSeq() == lastSeq) {
              return seen;
            }
          }
        }
      }
      // say where the records are: a log start offset past 0 means retention deleted some
      List<TopicPartition> parts = new ArrayList<>();
      for (String topic : List.of(settings.inputTopic(), settings.outputTopic())) {
        consumer
            .partitionsFor(topic)
            .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      }
      fail(
          "output seq "
              + lastSeq
              + " not seen within "
              + timeout
              + "; saw "
              + seen.size()
              + "; log start offsets "
              + consumer.beginningOffsets(parts)
              + ", end offsets "
              + consumer.endOffsets(parts));
    }
    return seen;
  }

  static boolean await(CountDownLatch latch, Duration timeout) throws InterruptedException {
    return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Asserts that the stores hold, bit for bit, every head memory of {@code expected}. */
  void assertMemoryEquals(KafkaStreams streams, String key, List<HeadMemory> expected) {
    ModelConfig c = model.config();
    List<StoredHeadMemory> heads =
        query(
            streams,
            Duration.ofMinutes(2),
            () -> {
              ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> memory =
                  streams.store(
                      StoreQueryParameters.fromNameAndType(
                          settings.memoryStore(),
                          QueryableStoreTypes.<MemoryKey, StoredHeadMemory>keyValueStore()));
              List<StoredHeadMemory> all = new ArrayList<>();
              for (int layer = 0; layer < c.layers(); layer++) {
                for (int head = 0; head < c.heads(); head++) {
                  all.add(memory.get(new MemoryKey(key, layer, head)));
                }
              }
              return all;
            });
    for (int i = 0; i < heads.size(); i++) {
      StoredHeadMemory stored = heads.get(i);
      String which = "layer " + i / c.heads() + " head " + i % c.heads();
      assertNotNull(stored, "memory of " + which);
      HeadMemory want = expected.get(i);
      assertEquals(want.updates(), stored.getUpdates());
      assertEquals(ByteBuffer.wrap(floatBytes(want.m())), stored.getM(), "M of " + which);
      assertEquals(ByteBuffer.wrap(floatBytes(want.z())), stored.getZ(), "z of " + which);
    }
  }

  /**
   * Runs an interactive query, asking again while the store is not queryable (tasks restoring or
   * rebalancing); fails at the deadline. Retries the read, never the assertion.
   */
  static <T> T query(KafkaStreams streams, Duration timeout, Supplier<T> read) {
    long deadline = System.nanoTime() + timeout.toNanos();
    InvalidStateStoreException last = null;
    while (System.nanoTime() < deadline) {
      try {
        return read.get();
      } catch (InvalidStateStoreException e) {
        last = e;
        // back off briefly so this loop does not take a core from the restoring stream thread
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
    }
    throw new AssertionError("store not queryable within " + timeout, last);
  }

  /** Both changelog topics carry the {@code max.message.bytes} derived from the model. */
  void assertChangelogLimits() throws Exception {
    String expected = Integer.toString(StreamsProps.maxMessageBytes(model.config(), settings));
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      for (String store : List.of(settings.sessionsStore(), settings.memoryStore())) {
        ConfigResource topic =
            new ConfigResource(
                ConfigResource.Type.TOPIC, applicationId + "-" + store + "-changelog");
        Config config = admin.describeConfigs(List.of(topic)).all().get().get(topic);
        assertEquals(expected, config.get("max.message.bytes").value(), topic.name());
      }
    }
  }

  StoredSession session(KafkaStreams streams, String key) {
    return query(
        streams,
        Duration.ofMinutes(2),
        () ->
            streams
                .store(
                    StoreQueryParameters.fromNameAndType(
                        settings.sessionsStore(),
                        QueryableStoreTypes.<String, StoredSession>keyValueStore()))
                .get(key));
  }

  /** The little-endian bytes of floats, as the head records store them. */
  static byte[] floatBytes(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      buf.putInt(Float.floatToRawIntBits(v));
    }
    return buf.array();
  }

  /** Deletes a folder and everything in it; nothing if it does not exist. */
  static void deleteRecursively(Path root) throws IOException {
    if (Files.notExists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /**
   * Every committed record of {@code topic}, all partitions from the beginning to the end offsets
   * of when the call started, given to {@code each} (raw bytes, read_committed).
   */
  static void readToEnd(
      String bootstrap,
      String topic,
      Duration timeout,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                8 << 20),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topic, timeout)
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          fail(topic + " not read to its end within " + timeout);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(each);
      }
    }
  }

  /** The keys of the tombstones (committed records with a null value) in {@code topic}. */
  static List<byte[]> tombstones(String bootstrap, String topic, Duration timeout) {
    List<byte[]> found = new ArrayList<>();
    readToEnd(
        bootstrap,
        topic,
        timeout,
        r -> {
          if (r.value() == null) {
            found.add(r.key());
          }
        });
    return found;
  }
}
