package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class StreamsWiringTest {

  @Test
  void configurationMapsOntoTheTopologySettings() {
    AppConfig c =
        AppConfig.builder()
            .override("topic.input", "in")
            .override("topic.output", "out")
            .override("topic.dead.letter", "dlq")
            .override("event.max.text.bytes", "1000")
            .override("surprise.enabled", "false")
            .override("generate.max.tokens.limit", "7")
            .override("absorb.chunk.tokens", "99")
            .override("stream.id.max.bytes", "12")
            .build();
    TopologySettings s = StreamsWiring.topologySettings(c);
    assertEquals("in", s.inputTopic());
    assertEquals("out", s.outputTopic());
    assertEquals("dlq", s.deadLetterTopic());
    assertEquals(1000, s.maxEventTextBytes());
    assertEquals(false, s.computeSurprise());
    assertEquals(7, s.maxNewTokensLimit());
    assertEquals(99, s.absorbChunkTokens());
    assertEquals(12, s.maxStreamIdBytes());
    assertEquals(TopologySettings.defaults().sessionsStore(), s.sessionsStore());
    assertTrue(s.repartitionInput(), "on by default");
    assertFalse(
        StreamsWiring.topologySettings(
                AppConfig.builder().override("input.repartition", "false").build())
            .repartitionInput());
  }

  @Test
  void theRepartitionTopicTakesAnyRecordTheInputTakes() {
    ModelConfig model = ModelConfig.tiny();
    // the dead-letter topic's limit: an input topic accepting 5 MB, plus the dead-letter margin
    int dlq = 5_000_000 + Topics.DEAD_LETTER_MARGIN_BYTES;
    Properties on =
        StreamsWiring.streamsProperties(AppConfig.defaults(), model, "b:1", Path.of("st"), dlq);
    assertEquals(dlq, on.get("topic.max.message.bytes"));
    assertEquals(dlq, on.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)));
    Properties off =
        StreamsWiring.streamsProperties(
            AppConfig.builder().override("input.repartition", "false").build(),
            model,
            "b:1",
            Path.of("st"),
            dlq);
    assertFalse(off.containsKey("topic.max.message.bytes"));
  }

  @Test
  void derivedThenConfiguredThenStreamsOverrides() {
    ModelConfig model = ModelConfig.tiny();
    AppConfig c =
        AppConfig.builder()
            .override("application.id", "app")
            .override("num.stream.threads", "2")
            .override("streams.commit.interval.ms", "5000")
            .override("streams.producer.linger.ms", "20")
            .build();
    Properties p = StreamsWiring.streamsProperties(c, model, "broker:9092", Path.of("st"));
    assertEquals("app", p.get(StreamsConfig.APPLICATION_ID_CONFIG));
    assertEquals("broker:9092", p.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
    assertEquals(Path.of("st").toAbsolutePath().toString(), p.get(StreamsConfig.STATE_DIR_CONFIG));
    assertEquals("exactly_once_v2", p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
    assertEquals(2, p.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG));
    assertEquals(
        "5000",
        p.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG),
        "streams.* wins over the configured commit.interval.ms");
    assertEquals("20", p.get("producer.linger.ms"));
    assertEquals(
        StreamsProps.maxRequestBytes(model, StreamsWiring.topologySettings(c)),
        p.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)),
        "the record-size bound derived from the model is kept");
  }

  @Test
  void aStreamsOverrideOfTheGuaranteeIsRejected() {
    AppConfig c =
        AppConfig.builder().override("streams.processing.guarantee", "at_least_once").build();
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                StreamsWiring.streamsProperties(
                    c, ModelConfig.tiny(), "broker:9092", Path.of("st")));
    assertTrue(e.getMessage().contains("exactly_once_v2"), e.getMessage());
    AppConfig same =
        AppConfig.builder().override("streams.processing.guarantee", "exactly_once_v2").build();
    StreamsWiring.streamsProperties(same, ModelConfig.tiny(), "broker:9092", Path.of("st"));
  }

  @Test
  void staticMembershipShortSessionAndTheProductionHandlerAreSet() {
    AppConfig c =
        AppConfig.builder()
            .override("application.id", "my app")
            .override("instance.id", "node-7")
            .build();
    Properties p =
        StreamsWiring.streamsProperties(c, ModelConfig.tiny(), "b:1", Path.of("st"), 5_000_000);
    String id = (String) p.get("main.consumer.group.instance.id");
    assertTrue(id.matches("my_app-node-7-[0-9a-f]{8}"), id);
    assertEquals(id, StreamsWiring.groupInstanceId(c, Path.of("st")), "stable");
    assertNotEquals(id, StreamsWiring.groupInstanceId(c, Path.of("other")), "another state folder");
    assertEquals(StreamsWiring.SESSION_TIMEOUT_MS, p.get("main.consumer.session.timeout.ms"));
    assertEquals(
        InfiniProductionExceptionHandler.class.getName(),
        p.get(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG));
    assertEquals("infini-dlq", p.get(InfiniProductionExceptionHandler.DEAD_LETTER_TOPIC_CONFIG));
    assertEquals(
        5_000_000,
        p.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)),
        "raised to the dead-letter topic's limit");
    String host = StreamsWiring.groupInstanceId(AppConfig.defaults(), Path.of("st"));
    assertTrue(host.startsWith("infini-streams-") && host.length() > 24, host);
  }

  /** What the main and the restore consumer of a stream thread get from these properties. */
  private static Object fetchBytes(Properties p, boolean main) {
    StreamsConfig config = new StreamsConfig(p);
    Map<String, Object> consumer =
        main
            ? config.getMainConsumerConfigs("group", "client", 0)
            : config.getRestoreConsumerConfigs("client");
    Object v = consumer.get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG);
    return v == null ? null : Integer.valueOf(v.toString());
  }

  private static Properties props(AppConfig c) {
    return StreamsWiring.streamsProperties(c, ModelConfig.tiny(), "b:1", Path.of("st"));
  }

  @Test
  void theMainConsumerFetchesAboutOneLargestEventPerPartition() {
    // about one largest event per fetch and partition, so the work between two polls is bounded
    int expected =
        16_384 + AppConfig.defaults().streamIdMaxBytes() + StreamsWiring.FETCH_MARGIN_BYTES;
    assertEquals(expected, StreamsWiring.mainConsumerFetchBytes(AppConfig.defaults()));
    Properties p = props(AppConfig.defaults());
    assertEquals(expected, fetchBytes(p, true));
    assertNull(fetchBytes(p, false), "the restore consumer keeps Kafka's default");
    AppConfig larger = AppConfig.builder().override("event.max.text.bytes", "1048576").build();
    assertEquals(
        1_048_576 + larger.streamIdMaxBytes() + StreamsWiring.FETCH_MARGIN_BYTES,
        fetchBytes(props(larger), true),
        "follows event.max.text.bytes");
  }

  @Test
  void aConfiguredFetchSizeWinsInEveryForm() {
    for (String key :
        new String[] {
          "streams.main.consumer.max.partition.fetch.bytes",
          "streams.consumer.max.partition.fetch.bytes",
          "streams.max.partition.fetch.bytes",
          "kafka.max.partition.fetch.bytes"
        }) {
      Properties p = props(AppConfig.builder().override(key, "777777").build());
      assertEquals(777_777, fetchBytes(p, true), key);
    }
  }
}
