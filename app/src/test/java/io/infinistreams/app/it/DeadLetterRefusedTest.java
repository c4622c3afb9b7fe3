package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.app.runtime.InfiniProductionExceptionHandler;
import io.infinistreams.app.runtime.StreamsWiring;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.TopologySettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Why {@code Topics.fitLimits} raises the dead-letter topic's limit: with a dead-letter topic
 * deliberately smaller than the input, under exactly-once, the refused dead letter is logged and
 * counted by the production exception handler, but its RESUME cannot save the transaction: the
 * producer aborts it, the other records of that transaction (outputs, changelog writes) fail with
 * the same error, the handler answers FAIL for those (an output is never dropped), and the instance
 * stops. Pins the behaviour docs/reliability.md describes.
 */
@Timeout(300)
class DeadLetterRefusedTest {
  @TempDir Path dir;

  @Test
  void underExactlyOnceARefusedDeadLetterFailsItsTransaction() throws Exception {
    TopologySettings settings =
        TopologySettings.defaults().withTopics("small-input", "small-output", "small-dlq");
    AppConfig config =
        AppConfig.builder()
            .override("topic.input", settings.inputTopic())
            .override("topic.output", settings.outputTopic())
            .override("topic.dead.letter", settings.deadLetterTopic())
            .override("application.id", "dlq-refused")
            .build();
    try (EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("kafka"));
        InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 3)) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(settings.inputTopic(), 1, (short) 1),
                    new NewTopic(settings.outputTopic(), 1, (short) 1),
                    new NewTopic(settings.deadLetterTopic(), 1, (short) 1)
                        .configs(Map.of("max.message.bytes", "2000"))))
            .all()
            .get();
      }
      Properties props =
          StreamsWiring.streamsProperties(
              config, model.config(), broker.bootstrapServers(), dir.resolve("state"));
      long refusedBefore = InfiniProductionExceptionHandler.deadLettersRefused();
      KafkaStreams streams = new KafkaStreams(InfiniTopology.build(settings, model), props);
      CountDownLatch stopped = new CountDownLatch(1);
      streams.setUncaughtExceptionHandler(e -> StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
      streams.setStateListener(
          (now, before) -> {
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.PENDING_ERROR) {
              stopped.countDown();
            }
          });
      streams.start();
      try {
        byte[] garbage = new byte[5000];
        Arrays.fill(garbage, (byte) 'x');
        try (KafkaProducer<byte[], byte[]> producer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new ByteArraySerializer(),
                new ByteArraySerializer())) {
          producer
              .send(
                  new ProducerRecord<>(
                      settings.inputTopic(), "k".getBytes(StandardCharsets.UTF_8), garbage))
              .get(60, TimeUnit.SECONDS);
        }
        assertTrue(stopped.await(2, TimeUnit.MINUTES), "state " + streams.state());
        assertTrue(
            InfiniProductionExceptionHandler.deadLettersRefused() > refusedBefore,
            "the handler saw the refused dead letter");
      } finally {
        streams.close(Duration.ofSeconds(30));
      }
    }
  }
}
