package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.KeyRouting;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.TopologySettings;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streams written by two producers that partition differently: a Java client with its default
 * partitioner (murmur2 of the key bytes) and one that partitions as librdkafka's default {@code
 * consistent_random} does (CRC32 of the key bytes modulo the partition count; {@link
 * CrcPartitioner}). Each stream's events alternate between the two, seqs consecutive, on an input
 * topic of four partitions. With the repartition step (the default) every stream has one state with
 * all its events applied and nothing is dead-lettered; without it ({@code input.repartition=false})
 * the same feeding splits streams, which the dead letters show. Real embedded broker, exactly-once,
 * RocksDB, the tiny model; conditions are polled with deadlines.
 */
@Timeout(240)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ForeignPartitionerTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int PARTITIONS = 4;
  private static final int STREAMS = 40;
  private static final int EVENTS_PER_STREAM = 4;

  @TempDir static Path dir;

  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();
  private InfiniModel model;
  private InfiniApp app;

  /**
   * librdkafka's {@code consistent_random} for keyed records: CRC32 of the key bytes, unsigned,
   * modulo the partition count.
   */
  public static final class CrcPartitioner implements Partitioner {
    @Override
    public int partition(
        String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, Cluster c) {
      return crcPartition(keyBytes, c.partitionCountForTopic(topic));
    }

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
  }

  static int crcPartition(byte[] key, int partitions) {
    CRC32 crc = new CRC32();
    crc.update(key);
    return (int) (crc.getValue() % partitions);
  }

  static int murmurPartition(byte[] key, int partitions) {
    return Utils.toPositive(Utils.murmur2(key)) % partitions;
  }

  @BeforeAll
  void start() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 5);
    AppConfig config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state-on").toString())
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("http.port", "0")
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
  }

  @AfterAll
  void stop() {
    if (app != null) {
      app.close();
    }
    if (model != null) {
      model.close();
    }
  }

  private static String stream(int i) {
    return "stream-" + i;
  }

  private static String text(int stream, long seq) {
    return "event " + seq + " of stream " + stream + ", a few more bytes.";
  }

  @Test
  @Order(0)
  void theTwoPartitionersDisagreeOnMostStreams() {
    int differ = 0;
    for (int i = 0; i < STREAMS; i++) {
      byte[] key = stream(i).getBytes(StandardCharsets.UTF_8);
      if (crcPartition(key, PARTITIONS) != murmurPartition(key, PARTITIONS)) {
        differ++;
      }
    }
    assertTrue(differ >= STREAMS / 2, differ + " of " + STREAMS + " streams differ");
    // CRC32 as librdkafka computes it (the standard check value of "123456789")
    CRC32 check = new CRC32();
    check.update("123456789".getBytes(StandardCharsets.US_ASCII));
    assertEquals(0xCBF43926L, check.getValue());
  }

  @Test
  @Order(1)
  void withTheRepartitionStepEveryStreamHasOneStateWithAllItsEvents() throws Exception {
    AppConfig config = app.config();
    assertTrue(config.inputRepartition(), "on by default");
    Outcome outcome = feed(app.bootstrapServers(), config.applicationId(), app.settings());
    assertEquals(List.of(), outcome.deadLetters, "no dead letters");
    assertEquals(STREAMS * EVENTS_PER_STREAM, outcome.outputs);

    String base = app.operationsUrl();
    for (int i = 0; i < STREAMS; i++) {
      String key = stream(i);
      JsonNode s = awaitSession(base, key);
      assertEquals(EVENTS_PER_STREAM, s.get("lastSeq").asLong(), s.toString());
      long bytes = 0;
      for (long seq = 1; seq <= EVENTS_PER_STREAM; seq++) {
        bytes += text(i, seq).getBytes(StandardCharsets.UTF_8).length;
      }
      assertEquals(1 + bytes, s.get("tokensAbsorbed").asLong(), "BOS + every byte: " + s);
      assertEquals(
          murmurPartition(key.getBytes(StandardCharsets.UTF_8), PARTITIONS),
          s.get("partition").asInt(),
          "the state is in the key's murmur2 partition");
      assertEquals(outcome.lastOutput.get(key).getTokensTotal(), s.get("tokensAbsorbed").asLong());
    }
    // one state per stream: every key listed once
    JsonNode list = getJson(base, "/sessions?limit=1000");
    Set<String> keys = new HashSet<>();
    list.get("keys").forEach(k -> keys.add(k.asText()));
    assertEquals(STREAMS, list.get("keys").size(), list.toString());
    assertEquals(STREAMS, keys.size());

    // the repartition topic: as many partitions as the input, room for any input record
    String topic = InfiniTopology.repartitionTopic(config.applicationId());
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", app.bootstrapServers()))) {
      TopicDescription d =
          admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      assertEquals(PARTITIONS, d.partitions().size());
      ConfigResource repartition = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      ConfigResource input = new ConfigResource(ConfigResource.Type.TOPIC, config.inputTopic());
      var configs =
          admin.describeConfigs(List.of(repartition, input)).all().get(30, TimeUnit.SECONDS);
      long repartitionMax =
          Long.parseLong(
              configs.get(repartition).get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value());
      long inputMax =
          Long.parseLong(configs.get(input).get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG).value());
      assertTrue(repartitionMax > inputMax, repartitionMax + " vs input " + inputMax);
    }
  }

  @Test
  @Order(2)
  void withoutItTheSameFeedingSplitsStreams() throws Exception {
    AppConfig config =
        AppConfig.builder()
            .override("bootstrap.servers", app.bootstrapServers())
            .override("application.id", "infini-no-repartition")
            .override("state.dir", dir.resolve("state-off").toString())
            .override("topic.input", "off-input")
            .override("topic.output", "off-output")
            .override("topic.dead.letter", "off-dlq")
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("input.repartition", "false")
            .override("http.enabled", "false")
            .build();
    try (InfiniApp off = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
      Outcome outcome = feed(off.bootstrapServers(), config.applicationId(), off.settings());
      assertTrue(
          outcome.deadLetters.stream()
              .anyMatch(
                  r ->
                      r.equals(DeadLetterReason.SEQ_GAP.name())
                          || r.equals(DeadLetterReason.DUPLICATE_SEQ.name())),
          "no stream was split: " + outcome.deadLetters);
      assertTrue(outcome.outputs < STREAMS * EVENTS_PER_STREAM, "some events were refused");
    }
  }

  /**
   * {@code input.repartition} switched on a deployment that has state, off -> on -> off, restarting
   * the instance each time (same application id and state folder): the processor's tasks change
   * (the repartition step adds a sub-topology), their stores restore from the same changelogs, and
   * every stream goes on from exactly where it was. Producers partition by murmur2, as the switch
   * to off requires.
   */
  @Test
  @Order(3)
  void switchingTheRepartitionFlagOnALiveDeploymentKeepsEveryStream() throws Exception {
    List<String> keys = List.of("switch-a", "switch-b", "switch-c", "switch-d", "switch-e");
    Map<String, Long> bytes = new HashMap<>();
    long seq = 0;
    for (String flag : List.of("false", "true", "false")) {
      seq++;
      AppConfig config =
          AppConfig.builder()
              .override("bootstrap.servers", app.bootstrapServers())
              .override("application.id", "infini-switch")
              .override("state.dir", dir.resolve("state-switch").toString())
              .override("topic.input", "switch-input")
              .override("topic.output", "switch-output")
              .override("topic.dead.letter", "switch-dlq")
              .override("topic.partitions", Integer.toString(PARTITIONS))
              .override("input.repartition", flag)
              .override("http.enabled", "false")
              .build();
      try (InfiniApp a = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
        Pipeline p = new Pipeline(a.bootstrapServers(), a.settings(), model, "infini-switch");
        for (String key : keys) {
          String t = "with input.repartition=" + flag + ", event " + seq + " of " + key;
          bytes.merge(key, (long) t.getBytes(StandardCharsets.UTF_8).length, Long::sum);
          p.produce(key, List.of(Pipeline.append(seq, t)));
        }
        for (String key : keys) {
          List<OutputEvent> out = p.awaitOutput(key, seq, WAIT, "switch-" + System.nanoTime());
          OutputEvent last = out.get(out.size() - 1);
          assertEquals(
              1 + bytes.get(key),
              last.getTokensTotal(),
              key + " after the switch to input.repartition=" + flag);
        }
      }
    }
  }

  /**
   * The same feeding with librdkafka itself instead of its emulation: half of the events are sent
   * by {@code kcat} (librdkafka's command-line producer, its default partitioner), one process per
   * event, the other half by the Java client. Every kcat record lands in its key's CRC32 partition
   * (so {@link CrcPartitioner} is librdkafka's rule), and still every stream has one state with all
   * its events. Skipped where kcat is not installed (Debian package {@code kcat}).
   */
  @Test
  @Order(4)
  void aStreamFedByLibrdkafkaAndByJavaHasOneState() throws Exception {
    Assumptions.assumeTrue(Kcat.available(), "kcat (librdkafka's command-line client) not found");
    AppConfig config =
        AppConfig.builder()
            .override("bootstrap.servers", app.bootstrapServers())
            .override("application.id", "infini-kcat")
            .override("state.dir", dir.resolve("state-kcat").toString())
            .override("topic.input", "kcat-input")
            .override("topic.output", "kcat-output")
            .override("topic.dead.letter", "kcat-dlq")
            .override("topic.partitions", Integer.toString(PARTITIONS))
            .override("http.enabled", "false")
            .build();
    try (InfiniApp a = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
      Kcat kcat = new Kcat(a.bootstrapServers(), Files.createDirectories(dir.resolve("kcat")));
      Outcome outcome = feed(a.bootstrapServers(), a.settings(), kcat);
      assertEquals(List.of(), outcome.deadLetters, "no dead letters");
      assertEquals(STREAMS * EVENTS_PER_STREAM, outcome.outputs);
      for (int i = 0; i < STREAMS; i++) {
        long bytes = 0;
        for (long seq = 1; seq <= EVENTS_PER_STREAM; seq++) {
          bytes += text(i, seq).getBytes(StandardCharsets.UTF_8).length;
        }
        assertEquals(
            1 + bytes,
            outcome.lastOutput.get(stream(i)).getTokensTotal(),
            "one state with every event of " + stream(i));
      }
      int viaKcat = 0;
      int elsewhere = 0;
      for (ConsumerRecord<String, InputEvent> r : readAll(a.bootstrapServers(), "kcat-input")) {
        int i = Integer.parseInt(r.key().substring("stream-".length()));
        byte[] key = r.key().getBytes(StandardCharsets.UTF_8);
        boolean kcatSent = (i + r.value().getSeq()) % 2 == 0;
        int want = kcatSent ? crcPartition(key, PARTITIONS) : murmurPartition(key, PARTITIONS);
        assertEquals(want, r.partition(), r.key() + " seq " + r.value().getSeq());
        if (kcatSent) {
          viaKcat++;
          elsewhere += want != murmurPartition(key, PARTITIONS) ? 1 : 0;
        }
      }
      assertEquals(STREAMS * EVENTS_PER_STREAM / 2, viaKcat);
      assertTrue(elsewhere > viaKcat / 2, elsewhere + " of " + viaKcat + " on another partition");
    }
  }

  /** Every record of a topic (its end offsets read once, the records read up to them). */
  private static List<ConsumerRecord<String, InputEvent>> readAll(String bootstrap, String topic) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    List<ConsumerRecord<String, InputEvent>> all = new ArrayList<>();
    try (KafkaConsumer<String, InputEvent> consumer =
        new KafkaConsumer<>(
            props, new StringDeserializer(), InfiniTopology.INPUT_SERDE.deserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer
          .partitionsFor(topic)
          .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        assertTrue(System.nanoTime() < deadline, "read " + topic + " within " + WAIT);
        consumer.poll(Duration.ofMillis(200)).forEach(all::add);
      }
    }
    return all;
  }

  /** Sends one event as another client does. */
  private interface ForeignSender {
    void send(String topic, String key, InputEvent event) throws Exception;
  }

  /**
   * {@code kcat -P}: librdkafka's producer (idempotent), its default partitioner, the event's Avro
   * bytes from a file as one record; one process per event, which exits once it is delivered.
   */
  private static final class Kcat implements ForeignSender {
    private final String bootstrap;
    private final Path scratch;
    private int files;

    Kcat(String bootstrap, Path scratch) {
      this.bootstrap = bootstrap;
      this.scratch = scratch;
    }

    static boolean available() {
      try {
        Process p = new ProcessBuilder("kcat", "-V").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public void send(String topic, String key, InputEvent event) throws Exception {
      Path file = scratch.resolve("event-" + files++ + ".avro");
      Files.write(file, InfiniTopology.INPUT_SERDE.serializer().serialize(topic, event));
      Process p =
          new ProcessBuilder(
                  "kcat",
                  "-P",
                  "-b",
                  bootstrap,
                  "-t",
                  topic,
                  "-k",
                  key,
                  "-X",
                  "enable.idempotence=true",
                  file.toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kcat ends");
      assertEquals(0, p.exitValue(), "kcat: " + out);
    }
  }

  /** What came out of one feeding. */
  private record Outcome(
      int outputs, List<String> deadLetters, Map<String, OutputEvent> lastOutput) {}

  /**
   * Feeds every stream {@link #EVENTS_PER_STREAM} events in rounds (round r sends seq r of every
   * stream, through the CRC32 producer for half of the streams and murmur2 for the other half,
   * swapping each round), waiting after each round for one output or dead letter per event sent.
   */
  private Outcome feed(String bootstrap, String applicationId, TopologySettings settings)
      throws Exception {
    return feed(bootstrap, settings, null);
  }

  /**
   * As {@link #feed(String, String, TopologySettings)}, with {@code foreign} (if not null) sending
   * the events the CRC32 producer would send.
   */
  private Outcome feed(String bootstrap, TopologySettings settings, ForeignSender foreign)
      throws Exception {
    Map<String, Object> producerProps = new HashMap<>();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    Map<String, Object> crcProps = new HashMap<>(producerProps);
    crcProps.put(ProducerConfig.PARTITIONER_CLASS_CONFIG, CrcPartitioner.class.getName());
    Map<String, Object> consumerProps = new HashMap<>();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    int outputs = 0;
    List<String> deadLetters = new ArrayList<>();
    Map<String, OutputEvent> lastOutput = new LinkedHashMap<>();
    int sent = 0;
    try (KafkaProducer<String, InputEvent> murmur =
            new KafkaProducer<>(
                producerProps, new StringSerializer(), InfiniTopology.INPUT_SERDE.serializer());
        KafkaProducer<String, InputEvent> crc =
            new KafkaProducer<>(
                crcProps, new StringSerializer(), InfiniTopology.INPUT_SERDE.serializer());
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(
                consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> read = new ArrayList<>();
      for (String topic : List.of(settings.outputTopic(), settings.deadLetterTopic())) {
        consumer
            .partitionsFor(topic)
            .forEach(p -> read.add(new TopicPartition(topic, p.partition())));
      }
      consumer.assign(read);
      consumer.seekToBeginning(read);
      for (long seq = 1; seq <= EVENTS_PER_STREAM; seq++) {
        for (int i = 0; i < STREAMS; i++) {
          InputEvent event = Pipeline.append(seq, text(i, seq));
          if ((i + seq) % 2 == 1) {
            murmur.send(new ProducerRecord<>(settings.inputTopic(), stream(i), event));
          } else if (foreign != null) {
            foreign.send(settings.inputTopic(), stream(i), event);
          } else {
            crc.send(new ProducerRecord<>(settings.inputTopic(), stream(i), event));
          }
          sent++;
        }
        murmur.flush();
        crc.flush();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (outputs + deadLetters.size() < sent) {
          if (System.nanoTime() > deadline) {
            fail(
                "round "
                    + seq
                    + ": "
                    + outputs
                    + " outputs and "
                    + deadLetters.size()
                    + " dead letters for "
                    + sent
                    + " events within "
                    + WAIT);
          }
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.topic().equals(settings.outputTopic())) {
              OutputEvent e = InfiniTopology.OUTPUT_SERDE.deserialize(r.topic(), r.value());
              lastOutput.put(e.getStreamId(), e);
              outputs++;
            } else {
              Header reason = r.headers().lastHeader(DeadLetterReason.HEADER);
              deadLetters.add(
                  reason == null ? "?" : new String(reason.value(), StandardCharsets.UTF_8));
            }
          }
        }
      }
    }
    return new Outcome(outputs, deadLetters, lastOutput);
  }

  private JsonNode getJson(String base, String path) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    assertEquals(200, r.statusCode(), path + ": " + r.body());
    return json.readTree(r.body());
  }

  /** {@code GET /sessions/{key}}, polled until it answers 200 (503 during a rebalance). */
  private JsonNode awaitSession(String base, String key) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    String path = "/sessions/" + KeyRouting.encodeKey(key);
    HttpResponse<String> last = null;
    while (System.nanoTime() < deadline) {
      last =
          http.send(
              HttpRequest.newBuilder(URI.create(base + path))
                  .timeout(Duration.ofSeconds(30))
                  .build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (last.statusCode() == 200) {
        return json.readTree(last.body());
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    fail(path + " did not answer 200 within " + WAIT + "; last: " + last);
    return null;
  }
}
