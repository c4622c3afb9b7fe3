package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
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
  }

  @Test
  void derivedThenConfiguredThenStreamsOverrides() {
    ModelConfig model = ModelConfig.tiny();
    AppConfig c =
        AppConfig.builder()
            .override("application.id", "app")
            .override("processing.guarantee", "at_least_once")
            .override("num.stream.threads", "2")
            .override("streams.commit.interval.ms", "5000")
            .override("streams.producer.linger.ms", "20")
            .build();
    Properties p = StreamsWiring.streamsProperties(c, model, "broker:9092", Path.of("st"));
    assertEquals("app", p.get(StreamsConfig.APPLICATION_ID_CONFIG));
    assertEquals("broker:9092", p.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
    assertEquals(Path.of("st").toAbsolutePath().toString(), p.get(StreamsConfig.STATE_DIR_CONFIG));
    assertEquals(
        "at_least_once",
        p.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG),
        "the configured guarantee wins over the derived exactly_once_v2");
    assertEquals(2, p.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG));
    assertEquals(
        "5000",
        p.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG),
        "streams.* wins over the configured commit.interval.ms");
    assertEquals("20", p.get("producer.linger.ms"));
    assertEquals(
        StreamsProps.maxMessageBytes(model, StreamsWiring.topologySettings(c)),
        p.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)),
        "the record-size bound derived from the model is kept");
  }
}
