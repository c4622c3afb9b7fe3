package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.ModelConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The main consumer's fetch bound ({@link StreamsWiring#mainConsumerFetchBytes}) against a real
 * broker: a stream thread processes everything one poll returned before it polls again, so with a
 * backlog of events of the largest size on one partition, each poll must bring at most one of them
 * (and a small event on another partition must come before the backlog is through). With Kafka's
 * default of 1 MiB the first poll brings the whole backlog.
 */
class MainConsumerFetchTest {

  @TempDir Path dir;

  @Test
  void aPollBringsAtMostOneLargestEventOfAPartition() throws Exception {
    AppConfig config = AppConfig.defaults();
    Properties streams =
        StreamsWiring.streamsProperties(config, ModelConfig.tiny(), "b:1", dir.resolve("st"));
    Map<String, Object> main =
        new StreamsConfig(streams).getMainConsumerConfigs("group", "client", 0);
    int backlog = 6;
    // the largest APPEND: its text, stream id and some envelope
    byte[] large = new byte[config.eventMaxTextBytes() + config.streamIdMaxBytes() + 256];
    try (EmbeddedBroker broker = EmbeddedBroker.start(dir.resolve("kafka"))) {
      String bootstrap = broker.bootstrapServers();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        admin.createTopics(List.of(new NewTopic("t", 2, (short) 1))).all().get();
      }
      Map<String, Object> pp = new HashMap<>();
      pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < backlog; i++) {
          producer.send(new ProducerRecord<>("t", 1, "feed".getBytes(), large)).get();
        }
        producer.send(new ProducerRecord<>("t", 0, "probe".getBytes(), new byte[100])).get();
      }

      Map<String, Object> cp = new HashMap<>();
      cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      for (String key :
          List.of(
              ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
              ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
              ConsumerConfig.FETCH_MAX_BYTES_CONFIG,
              ConsumerConfig.ISOLATION_LEVEL_CONFIG)) {
        if (main.containsKey(key)) {
          cp.put(key, main.get(key));
        }
      }
      TopicPartition feed = new TopicPartition("t", 1);
      TopicPartition probe = new TopicPartition("t", 0);
      int polls = 0;
      int feedRead = 0;
      int probeAfterFeedRecords = -1;
      try (KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
        consumer.assign(List.of(probe, feed));
        consumer.seekToBeginning(List.of(probe, feed));
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while ((feedRead < backlog || probeAfterFeedRecords < 0) && System.nanoTime() < deadline) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
          if (records.isEmpty()) {
            continue;
          }
          polls++;
          List<ConsumerRecord<byte[], byte[]>> fromFeed = records.records(feed);
          assertTrue(
              fromFeed.size() <= 1,
              "poll " + polls + " brought " + fromFeed.size() + " of the feed's records");
          if (!records.records(probe).isEmpty()) {
            probeAfterFeedRecords = feedRead;
          }
          feedRead += fromFeed.size();
        }
      }
      assertEquals(backlog, feedRead, "the whole backlog is read");
      assertTrue(
          probeAfterFeedRecords >= 0 && probeAfterFeedRecords <= 1,
          "the small event came after " + probeAfterFeedRecords + " of the feed's records");
    }
  }
}
