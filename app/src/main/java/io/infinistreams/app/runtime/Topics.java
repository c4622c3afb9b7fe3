package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import io.infinistreams.topology.InfiniTopology;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application's topics: creates the input, output and dead-letter topics when they are missing
 * (with {@code retention.ms} and a {@code max.message.bytes} derived from {@code
 * event.max.text.bytes}), and makes existing ones accept the largest valid record. Every admin
 * client here takes the {@code kafka.*} client settings ({@link KafkaClients}).
 */
public final class Topics {
  private static final Logger log = LoggerFactory.getLogger(Topics.class);

  private Topics() {}

  /** Kafka's default {@code max.message.bytes} (1 MiB + 12). */
  public static final int KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

  /**
   * Room in an input record beyond its text: the Avro single-object envelope (header, seq, kind,
   * generation settings, event time), the record's headers and the record batch overhead. The key
   * ({@code stream.id.max.bytes}) is added on top.
   */
  public static final int ENVELOPE_BYTES = 64 * 1024;

  /** Room in a dead letter beyond the input record: the reason, detail and source headers. */
  public static final int DEAD_LETTER_MARGIN_BYTES = 64 * 1024;

  /**
   * {@code max.message.bytes} the input topic needs so that the largest valid event fits: {@code
   * event.max.text.bytes} + {@link #ENVELOPE_BYTES} + {@code stream.id.max.bytes}, and never below
   * Kafka's default. The client commands' producers use it as {@code max.request.size}.
   */
  public static int inputMaxMessageBytes(AppConfig config) {
    long needed = (long) config.eventMaxTextBytes() + ENVELOPE_BYTES + config.streamIdMaxBytes();
    return (int) Math.min(Integer.MAX_VALUE, Math.max(KAFKA_DEFAULT_MAX_MESSAGE_BYTES, needed));
  }

  /**
   * {@code max.message.bytes} of the output topic: as the input's (an output event carries at most
   * the generated text, bounded by {@code generate.max.tokens.limit}).
   */
  public static int outputMaxMessageBytes(AppConfig config) {
    return inputMaxMessageBytes(config);
  }

  /**
   * {@code max.message.bytes} of the dead-letter topic: the input's plus {@link
   * #DEAD_LETTER_MARGIN_BYTES}, since a dead letter is an input record plus headers.
   */
  public static int deadLetterMaxMessageBytes(AppConfig config) {
    return (int)
        Math.min(Integer.MAX_VALUE, (long) inputMaxMessageBytes(config) + DEAD_LETTER_MARGIN_BYTES);
  }

  /** The configuration {@code run} creates a topic with: retention and record size. */
  static Map<String, String> topicConfig(AppConfig config, String topic) {
    Map<String, String> c = new LinkedHashMap<>();
    if (topic.equals(config.deadLetterTopic())) {
      c.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.topicDeadLetterRetentionMs()));
      c.put(
          TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
          Integer.toString(deadLetterMaxMessageBytes(config)));
    } else {
      c.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(config.topicRetentionMs()));
      int max =
          topic.equals(config.inputTopic())
              ? inputMaxMessageBytes(config)
              : outputMaxMessageBytes(config);
      c.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(max));
    }
    return c;
  }

  /**
   * Makes every valid record fit the existing topics: an input, output or dead-letter topic whose
   * {@code max.message.bytes} is below what {@code event.max.text.bytes} needs ({@link
   * #inputMaxMessageBytes} and friends) is raised to it (never lowered) when {@code
   * topic.alter.limits} allows, else start-up stops with an error naming the topic and the limit.
   * The dead-letter topic is also raised to the input topic's actual limit plus {@link
   * #DEAD_LETTER_MARGIN_BYTES}, so that the dead letter of any record the input accepted fits.
   *
   * @return the dead-letter topic's {@code max.message.bytes} afterwards: the producer's {@code
   *     max.request.size} must be at least this
   * @throws CliException if a topic is too small and may not (or cannot) be raised
   */
  public static int fitLimits(String bootstrapServers, AppConfig config)
      throws InterruptedException {
    try (Admin admin = KafkaClients.admin(config, bootstrapServers, "infini-topics")) {
      ConfigResource input = resource(config.inputTopic());
      ConfigResource output = resource(config.outputTopic());
      ConfigResource dlq = resource(config.deadLetterTopic());
      Map<ConfigResource, Config> configs = describeConfigs(admin, List.of(input, output, dlq));
      long inputMax =
          raise(
              admin,
              config,
              input,
              maxMessageBytes(configs.get(input)),
              inputMaxMessageBytes(config));
      raise(
          admin,
          config,
          output,
          maxMessageBytes(configs.get(output)),
          outputMaxMessageBytes(config));
      long dlqNeed =
          Math.max(
              deadLetterMaxMessageBytes(config),
              Math.min(Integer.MAX_VALUE, inputMax + DEAD_LETTER_MARGIN_BYTES));
      return (int) raise(admin, config, dlq, maxMessageBytes(configs.get(dlq)), dlqNeed);
    } catch (ExecutionException | TimeoutException e) {
      throw new CliException(
          "cannot read the configuration of the topics "
              + List.of(config.inputTopic(), config.outputTopic(), config.deadLetterTopic())
              + " at "
              + bootstrapServers
              + ": "
              + KafkaClients.oneLine(e instanceof ExecutionException ? e.getCause() : e));
    }
  }

  /**
   * The topics' configurations. A topic created a moment ago may not be known yet to the broker
   * that answers (its metadata is still propagating): asked again, with a short back-off, for up to
   * a minute in all.
   */
  private static Map<ConfigResource, Config> describeConfigs(
      Admin admin, List<ConfigResource> topics)
      throws ExecutionException, TimeoutException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        return admin.describeConfigs(topics).all().get(60, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || System.nanoTime() - deadline > 0) {
          throw e;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // back off before asking again
      }
    }
  }

  /** {@code current}, or {@code need} after raising the topic's limit to it. */
  private static long raise(
      Admin admin, AppConfig config, ConfigResource topic, long current, long need)
      throws InterruptedException, TimeoutException {
    if (current >= need) {
      return current;
    }
    String what =
        "topic "
            + topic.name()
            + " accepts records of at most "
            + current
            + " bytes (max.message.bytes), but "
            + ConfigKeys.EVENT_MAX_TEXT_BYTES
            + "="
            + config.eventMaxTextBytes()
            + " needs "
            + need;
    if (!config.topicAlterLimits()) {
      throw new CliException(
          what
              + ": raise it (kafka-configs.sh --alter --entity-type topics --entity-name "
              + topic.name()
              + " --add-config max.message.bytes="
              + need
              + "), or let `run` do it with "
              + ConfigKeys.TOPIC_ALTER_LIMITS
              + "=true");
    }
    try {
      admin
          .incrementalAlterConfigs(
              Map.of(
                  topic,
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry(
                              TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Long.toString(need)),
                          AlterConfigOp.OpType.SET))))
          .all()
          .get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new CliException(
          what
              + ", and raising it failed: "
              + KafkaClients.oneLine(e.getCause())
              + " (the application needs the AlterConfigs permission on it, or raise it by hand)");
    }
    log.info("topic {}: max.message.bytes {} -> {}", topic.name(), current, need);
    return need;
  }

  private static ConfigResource resource(String topic) {
    return new ConfigResource(ConfigResource.Type.TOPIC, topic);
  }

  /**
   * Raises (never lowers) the {@code max.message.bytes} of an existing repartition topic ({@code
   * input.repartition}) to {@code maxBytes}, the limit Kafka Streams is given for it when it
   * creates it: a topic created earlier, before the input topic accepted larger records, is brought
   * up to date. A missing topic is left to Kafka Streams.
   */
  public static void fitRepartition(String bootstrapServers, AppConfig config, int maxBytes)
      throws InterruptedException {
    String topic = InfiniTopology.repartitionTopic(config.applicationId());
    try (Admin admin = KafkaClients.admin(config, bootstrapServers, "infini-topics")) {
      if (!admin.listTopics().names().get(60, TimeUnit.SECONDS).contains(topic)) {
        return;
      }
      ConfigResource resource = resource(topic);
      long current = maxMessageBytes(describeConfigs(admin, List.of(resource)).get(resource));
      if (current >= maxBytes) {
        return;
      }
      admin
          .incrementalAlterConfigs(
              Map.of(
                  resource,
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry(
                              TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxBytes)),
                          AlterConfigOp.OpType.SET))))
          .all()
          .get(60, TimeUnit.SECONDS);
      log.info("repartition topic {}: max.message.bytes {} -> {}", topic, current, maxBytes);
    } catch (ExecutionException | TimeoutException e) {
      throw new CliException(
          "cannot set max.message.bytes of the repartition topic "
              + topic
              + ": "
              + KafkaClients.oneLine(e instanceof ExecutionException ? e.getCause() : e));
    }
  }

  private static long maxMessageBytes(Config config) {
    ConfigEntry entry = config == null ? null : config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
    if (entry == null || entry.value() == null) {
      return KAFKA_DEFAULT_MAX_MESSAGE_BYTES;
    }
    return Long.parseLong(entry.value());
  }

  /**
   * Creates the missing input, output and dead-letter topics ({@code topic.partitions}, {@code
   * topic.replication.factor}, {@code retention.ms} and {@code max.message.bytes} as {@link
   * #topicConfig} says); existing topics are left as they are.
   *
   * @return names of the topics that were created (empty if all existed)
   */
  public static List<String> ensure(String bootstrapServers, AppConfig config)
      throws InterruptedException {
    try (Admin admin = KafkaClients.admin(config, bootstrapServers, "infini-topics")) {
      Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String name :
          List.of(config.inputTopic(), config.outputTopic(), config.deadLetterTopic())) {
        if (!existing.contains(name)) {
          missing.add(
              new NewTopic(name, config.topicPartitions(), config.topicReplicationFactor())
                  .configs(topicConfig(config, name)));
        }
      }
      List<String> created = new ArrayList<>();
      for (var entry : admin.createTopics(missing).values().entrySet()) {
        try {
          entry.getValue().get(60, TimeUnit.SECONDS);
          created.add(entry.getKey());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new CliException(
                "cannot create topic "
                    + entry.getKey()
                    + ": "
                    + KafkaClients.oneLine(e.getCause()));
          }
        }
      }
      return created;
    } catch (ExecutionException | TimeoutException e) {
      throw new CliException(
          "cannot list the topics at "
              + bootstrapServers
              + ": "
              + KafkaClients.oneLine(e instanceof ExecutionException ? e.getCause() : e));
    }
  }
}
