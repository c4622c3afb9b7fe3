package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.ModelConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The {@code kafka.*} client settings reach the properties of every client the application builds,
 * and their secrets are never printed.
 */
class KafkaClientSettingsTest {

  private static final String JAAS =
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\""
          + " password=\"alice-secret\";";

  private static AppConfig secured() {
    return AppConfig.builder()
        .environment(Map.of("INFINI_KAFKA_SASL_MECHANISM", "PLAIN"))
        .override("kafka.security.protocol", "SASL_SSL")
        .override("kafka.sasl.jaas.config", JAAS)
        .override("kafka.ssl.truststore.location", "/etc/kafka/truststore.jks")
        .override("kafka.ssl.truststore.password", "trust-me")
        .build();
  }

  private static void assertSecured(Map<?, ?> props, String client) {
    assertEquals("SASL_SSL", props.get("security.protocol"), client);
    assertEquals("PLAIN", props.get("sasl.mechanism"), client);
    assertEquals(JAAS, props.get("sasl.jaas.config"), client);
    assertEquals("/etc/kafka/truststore.jks", props.get("ssl.truststore.location"), client);
    assertEquals("trust-me", props.get("ssl.truststore.password"), client);
  }

  @Test
  void kafkaKeysComeFromEverySourceWithThePrefixRemoved() {
    AppConfig c = secured();
    assertEquals("PLAIN", c.kafkaClientProperties().get("sasl.mechanism"));
    assertEquals("env INFINI_KAFKA_SASL_MECHANISM", c.origins().get("kafka.sasl.mechanism"));
    assertEquals(Map.of(), c.streamsOverrides());
    assertEquals(Map.of(), AppConfig.defaults().kafkaClientProperties());
  }

  @Test
  void settingsTheApplicationOwnsAreRejectedUnderThePrefix() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().override("kafka.bootstrap.servers", "b:1").build());
    assertTrue(e.getMessage().contains("use the key bootstrap.servers"), e.getMessage());
    assertThrows(
        ConfigException.class,
        () -> AppConfig.builder().override("kafka.isolation.level", "read_uncommitted").build());
    assertThrows(ConfigException.class, () -> AppConfig.builder().override("kafka.", "x").build());
  }

  @Test
  void kafkaStreamsGetsThemForAllItsClientsAndStreamsKeysWin() {
    AppConfig c =
        AppConfig.builder()
            .override("kafka.security.protocol", "SASL_SSL")
            .override("kafka.sasl.jaas.config", JAAS)
            .override("kafka.sasl.mechanism", "PLAIN")
            .override("kafka.ssl.truststore.location", "/etc/kafka/truststore.jks")
            .override("kafka.ssl.truststore.password", "trust-me")
            .override("kafka.request.timeout.ms", "11000")
            .override("streams.request.timeout.ms", "22000")
            .build();
    Properties p = StreamsWiring.streamsProperties(c, ModelConfig.tiny(), "b:1", Path.of("st"));
    assertSecured(p, "kafka streams");
    assertEquals("22000", p.get("request.timeout.ms"), "streams.* wins over kafka.*");
    // Unprefixed: Kafka Streams hands them to each of its clients. Check it does.
    StreamsConfig streams = new StreamsConfig(p);
    assertSecured(streams.getMainConsumerConfigs("g", "c", 0), "main consumer");
    assertSecured(streams.getRestoreConsumerConfigs("c"), "restore consumer");
    assertSecured(streams.getGlobalConsumerConfigs("c"), "global consumer");
    assertSecured(streams.getProducerConfigs("c"), "producer");
    assertSecured(streams.getAdminConfigs("c"), "admin");
  }

  @Test
  void theClientCommandsAndTopicAdministrationGetThem() {
    AppConfig c = secured().with("event.max.text.bytes", "1048576");
    Properties admin = KafkaClients.properties(c, "b:1");
    assertSecured(admin, "admin");
    assertEquals("b:1", admin.get("bootstrap.servers"));
    Properties producer = StreamClient.producerProperties(c, "b:1", "alice");
    assertSecured(producer, "client producer");
    assertEquals(true, producer.get(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG));
    assertEquals(
        Topics.inputMaxMessageBytes(c), producer.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG));
  }

  @Test
  void topicsAreCreatedWithRetentionAndALimitTheLargestEventFits() {
    AppConfig defaults = AppConfig.defaults();
    Map<String, String> input = Topics.topicConfig(defaults, defaults.inputTopic());
    assertEquals("604800000", input.get("retention.ms"));
    assertEquals("1048588", input.get("max.message.bytes"), "Kafka's default when it suffices");
    Map<String, String> dlq = Topics.topicConfig(defaults, defaults.deadLetterTopic());
    assertEquals("2592000000", dlq.get("retention.ms"));
    assertEquals(
        Integer.toString(1_048_588 + Topics.DEAD_LETTER_MARGIN_BYTES),
        dlq.get("max.message.bytes"));

    AppConfig big =
        AppConfig.builder()
            .override("event.max.text.bytes", "1048576")
            .override("topic.retention.ms", "-1")
            .build();
    int inputMax = Topics.inputMaxMessageBytes(big);
    assertEquals(1_048_576 + Topics.ENVELOPE_BYTES + 256, inputMax);
    Map<String, String> bigInput = Topics.topicConfig(big, big.inputTopic());
    assertEquals("-1", bigInput.get("retention.ms"));
    assertEquals(Integer.toString(inputMax), bigInput.get("max.message.bytes"));
    assertEquals(
        Integer.toString(inputMax),
        Topics.topicConfig(big, big.outputTopic()).get("max.message.bytes"));
    assertEquals(inputMax + Topics.DEAD_LETTER_MARGIN_BYTES, Topics.deadLetterMaxMessageBytes(big));
  }

  @Test
  void secretsAreNotPrinted() {
    AppConfig c = secured();
    String text = c.toString();
    assertFalse(text.contains("alice-secret"), text);
    assertFalse(text.contains("trust-me"), text);
    assertTrue(text.contains("kafka.security.protocol=SASL_SSL"), text);

    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(new StringWriter()));
    int exit =
        cl.execute(
            "config",
            "show",
            "--set",
            "kafka.security.protocol=SASL_SSL",
            "--set",
            "kafka.sasl.jaas.config=" + JAAS,
            "--set",
            "kafka.ssl.keystore.password=key-pass",
            "--set",
            "streams.ssl.key.password=key-pass-2");
    assertEquals(0, exit);
    String shown = out.toString();
    assertTrue(shown.contains("kafka.security.protocol"), shown);
    assertTrue(shown.contains("SASL_SSL"), shown);
    assertTrue(shown.contains("kafka.sasl.jaas.config"), shown);
    assertTrue(shown.contains("[hidden]"), shown);
    assertFalse(shown.contains("alice-secret"), shown);
    assertFalse(shown.contains("key-pass"), shown);
  }
}
