package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.cli.CliException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedBrokerTest {

  @TempDir Path dir;

  @Test
  void transactionsWorkAndDataSurvivesARestartInTheSameDirectory() throws Exception {
    String firstBootstrap;
    try (EmbeddedBroker broker = EmbeddedBroker.start(dir)) {
      firstBootstrap = broker.bootstrapServers();
      assertEquals(dir, broker.dataDir());
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
      }
      produceTransactionally(broker.bootstrapServers(), "tx-1", "first");
      assertEquals(List.of("first"), consumeAll(broker.bootstrapServers(), "g", 1));
    }
    assertTrue(Files.exists(dir.resolve("kafka-logs").resolve("meta.properties")));

    try (EmbeddedBroker broker = EmbeddedBroker.start(dir)) {
      assertEquals(firstBootstrap, broker.bootstrapServers(), "same ports when free");
      produceTransactionally(broker.bootstrapServers(), "tx-1", "second");
      // group "g" committed after "first": it resumes there
      assertEquals(List.of("second"), consumeAll(broker.bootstrapServers(), "g", 1));
      assertEquals(List.of("first", "second"), consumeAll(broker.bootstrapServers(), "h", 2));
    }
  }

  @Test
  void theFolderIsLockedAndOwnerOnly() throws Exception {
    Path data = dir.resolve("a").resolve("kafka");
    try (EmbeddedBroker broker = EmbeddedBroker.start(data)) {
      CliException second = assertThrows(CliException.class, () -> EmbeddedBroker.start(data));
      assertTrue(
          second.getMessage().contains("is in use by another running broker"), second.getMessage());
      assertTrue(
          second.getMessage().contains(data.toAbsolutePath().toString()), second.getMessage());
      if (Files.getFileStore(data).supportsFileAttributeView(PosixFileAttributeView.class)) {
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
        assertEquals(ownerOnly, Files.getPosixFilePermissions(data), "data folder");
        assertEquals(ownerOnly, Files.getPosixFilePermissions(data.resolve("kafka-logs")));
      }
    }
    // an existing folder with open permissions is restricted on the next start
    if (Files.getFileStore(data).supportsFileAttributeView(PosixFileAttributeView.class)) {
      Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(
          data.resolve("kafka-logs"), PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    try (EmbeddedBroker again = EmbeddedBroker.start(data)) {
      // the lock was released by close(): the same folder starts again
      if (Files.getFileStore(data).supportsFileAttributeView(PosixFileAttributeView.class)) {
        assertEquals(
            PosixFilePermissions.fromString("rwx------"),
            Files.getPosixFilePermissions(data.resolve("kafka-logs")));
        assertEquals(
            PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(data));
      }
    }
  }

  private static void produceTransactionally(String bootstrap, String txId, String value) {
    Map<String, Object> props =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.TRANSACTIONAL_ID_CONFIG, txId);
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>("t", "k", value));
      producer.commitTransaction();
    }
  }

  /** Reads {@code expected} committed records (deadline 30 s) and commits the group's offsets. */
  private static List<String> consumeAll(String bootstrap, String group, int expected) {
    Map<String, Object> props =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG,
            group,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            "earliest",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            false,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed");
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(Set.of("t"));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      long next = -1;
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          values.add(r.value());
          next = r.offset() + 1;
        }
      }
      if (values.size() < expected) {
        fail("got " + values + ", expected " + expected + " records within 30 s");
      }
      consumer.commitSync(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(next)));
    }
    return values;
  }
}
