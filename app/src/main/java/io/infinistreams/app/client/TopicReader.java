package io.infinistreams.app.client;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.KafkaClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads every partition of one topic in raw bytes, for {@code infini tail}: a consumer with the
 * {@code kafka.*} settings ({@link KafkaClients}), {@code isolation.level=read_committed}, assigned
 * to the partitions (no consumer group, nothing committed), starting at their beginnings or their
 * ends.
 *
 * <p>The end offsets are taken when the reader is created. {@link #read} without {@code follow}
 * stops once every partition has been read up to them; with {@code follow} it keeps reading until
 * its handler says stop. Records come in order within a partition, not across partitions.
 *
 * <p>Lifecycle: create, use from one thread, close.
 */
public final class TopicReader implements AutoCloseable {

  private static final Duration POLL = Duration.ofMillis(200);

  /** Without {@code follow}: how long reading may make no progress before it fails. */
  private static final Duration STALL = Duration.ofSeconds(60);

  /** How long the brokers may take to describe the topic. */
  static final Duration DESCRIBE_TIMEOUT = Duration.ofSeconds(10);

  private final String topic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<TopicPartition> partitions = new ArrayList<>();
  private final Map<TopicPartition, Long> ends;

  /**
   * A reader of {@code topic}, which must exist; positioned at the beginning of every partition
   * ({@code fromBeginning}) or at its end.
   *
   * @throws CliException if the topic does not exist, at once (the brokers' answer, not a wait for
   *     metadata), or the brokers do not describe it within {@link #DESCRIBE_TIMEOUT}
   */
  public TopicReader(
      AppConfig config, String bootstrapServers, String topic, boolean fromBeginning) {
    this.topic = topic;
    partitions.addAll(partitionsOf(config, bootstrapServers, topic));
    Properties c = KafkaClients.properties(config, bootstrapServers);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "infini-tail-" + topic);
    this.consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    try {
      consumer.assign(partitions);
      this.ends = new HashMap<>(consumer.endOffsets(partitions));
      if (fromBeginning) {
        consumer.seekToBeginning(partitions);
      } else {
        consumer.seekToEnd(partitions);
      }
      partitions.forEach(consumer::position); // resolve the start now
    } catch (RuntimeException e) {
      consumer.close(Duration.ZERO);
      throw e;
    }
  }

  /** The partitions of {@code topic} in order, as the brokers describe it to an admin client. */
  private static List<TopicPartition> partitionsOf(
      AppConfig config, String bootstrapServers, String topic) {
    int ms = (int) DESCRIBE_TIMEOUT.toMillis();
    Admin admin = KafkaClients.admin(config, bootstrapServers, "infini-tail-" + topic);
    try {
      TopicDescription d =
          admin
              .describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(ms))
              .topicNameValues()
              .get(topic)
              .get(ms + 2000L, TimeUnit.MILLISECONDS);
      List<TopicPartition> found = new ArrayList<>();
      for (TopicPartitionInfo p : d.partitions()) {
        found.add(new TopicPartition(topic, p.partition()));
      }
      found.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
      return found;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof UnknownTopicOrPartitionException) {
        throw new CliException(
            "topic "
                + topic
                + " does not exist at "
                + bootstrapServers
                + ": `infini run` creates the application's topics (check --topic and the "
                + "topic.* keys)");
      }
      if (cause instanceof InvalidTopicException) {
        throw new CliException("'" + topic + "' is not a valid topic name");
      }
      throw new CliException("cannot describe topic " + topic + ": " + KafkaClients.oneLine(cause));
    } catch (TimeoutException e) {
      throw new CliException(
          "the brokers at "
              + bootstrapServers
              + " did not describe topic "
              + topic
              + " within "
              + DESCRIBE_TIMEOUT.toSeconds()
              + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted while describing topic " + topic);
    } finally {
      admin.close(Duration.ZERO);
    }
  }

  /** The topic read. */
  public String topic() {
    return topic;
  }

  /**
   * Hands each record read to {@code handler}, which returns false to stop. Without {@code follow},
   * returns once every partition is read up to the end offsets taken at creation (records appended
   * since are not handed over); with it, reads on until the handler stops it or the thread is
   * interrupted.
   *
   * @throws CliException if, without {@code follow}, no progress is made for 60 s
   */
  public void read(boolean follow, Predicate<ConsumerRecord<byte[], byte[]>> handler) {
    long lastProgress = System.nanoTime();
    while (!Thread.currentThread().isInterrupted()) {
      if (!follow && reachedEnds()) {
        return;
      }
      ConsumerRecords<byte[], byte[]> batch = consumer.poll(POLL);
      if (!batch.isEmpty()) {
        lastProgress = System.nanoTime();
      } else if (!follow && System.nanoTime() - lastProgress > STALL.toNanos()) {
        throw new CliException(
            "reading " + topic + " made no progress for " + STALL.toSeconds() + " s");
      }
      for (ConsumerRecord<byte[], byte[]> r : batch) {
        if (!follow && r.offset() >= ends.get(new TopicPartition(r.topic(), r.partition()))) {
          continue;
        }
        if (!handler.test(r)) {
          return;
        }
      }
    }
  }

  private boolean reachedEnds() {
    for (TopicPartition tp : partitions) {
      if (consumer.position(tp) < ends.get(tp)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    consumer.close(Duration.ofSeconds(5));
  }
}
