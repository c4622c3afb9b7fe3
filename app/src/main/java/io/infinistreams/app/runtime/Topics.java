package io.infinistreams.app.runtime;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.topology.InfiniTopology;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the application's topics when they are missing; existing topics are left alone. */
public final class Topics {
  private static final Logger log = LoggerFactory.getLogger(Topics.class);

  private Topics() {}

  /** Room in a dead letter beyond the input record: the reason, detail and source headers. */
  public static final int DEAD_LETTER_MARGIN_BYTES = 64 * 1024;

  /**
   * Makes every dead letter fit: the dead-letter topic's {@code max.message.bytes} is raised (never
   * lowered) to the input topic's plus {@link #DEAD_LETTER_MARGIN_BYTES}, since a dead letter is an
   * input record plus headers. Existing dead-letter topics are raised too (only this limit
   * changes).
   *
   * @return the dead-letter topic's {@code max.message.bytes} afterwards: the producer's {@code
   *     max.request.size} must be at least this
   */
  public static int fitDeadLetters(String bootstrapServers, AppConfig config)
      throws InterruptedException {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      ConfigResource input = new ConfigResource(ConfigResource.Type.TOPIC, config.inputTopic());
      ConfigResource dlq = new ConfigResource(ConfigResource.Type.TOPIC, config.deadLetterTopic());
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(List.of(input, dlq)).all().get(60, TimeUnit.SECONDS);
      long inputMax = maxMessageBytes(configs.get(input));
      long dlqMax = maxMessageBytes(configs.get(dlq));
      long need = Math.min(Integer.MAX_VALUE, inputMax + DEAD_LETTER_MARGIN_BYTES);
      if (dlqMax >= need) {
        return (int) dlqMax;
      }
      admin
          .incrementalAlterConfigs(
              Map.of(
                  dlq,
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry(
                              TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Long.toString(need)),
                          AlterConfigOp.OpType.SET))))
          .all()
          .get(60, TimeUnit.SECONDS);
      log.info(
          "dead-letter topic {}: max.message.bytes {} -> {} (input topic {} accepts {})",
          config.deadLetterTopic(),
          dlqMax,
          need,
          config.inputTopic(),
          inputMax);
      return (int) need;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot set max.message.bytes of the dead-letter topic "
              + config.deadLetterTopic()
              + " at "
              + bootstrapServers,
          e);
    }
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
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      if (!admin.listTopics().names().get(60, TimeUnit.SECONDS).contains(topic)) {
        return;
      }
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      long current =
          maxMessageBytes(
              admin
                  .describeConfigs(List.of(resource))
                  .all()
                  .get(60, TimeUnit.SECONDS)
                  .get(resource));
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
      throw new IllegalStateException(
          "cannot set max.message.bytes of the repartition topic " + topic, e);
    }
  }

  private static long maxMessageBytes(Config config) {
    ConfigEntry entry = config == null ? null : config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
    if (entry == null || entry.value() == null) {
      return 1_048_588; // Kafka's default
    }
    return Long.parseLong(entry.value());
  }

  /** Names of the topics that were created (empty if all existed). */
  public static List<String> ensure(String bootstrapServers, AppConfig config)
      throws InterruptedException {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String name :
          List.of(config.inputTopic(), config.outputTopic(), config.deadLetterTopic())) {
        if (!existing.contains(name)) {
          missing.add(
              new NewTopic(name, config.topicPartitions(), config.topicReplicationFactor()));
        }
      }
      List<String> created = new ArrayList<>();
      for (var entry : admin.createTopics(missing).values().entrySet()) {
        try {
          entry.getValue().get(60, TimeUnit.SECONDS);
          created.add(entry.getKey());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new IllegalStateException("cannot create topic " + entry.getKey(), e.getCause());
          }
        }
      }
      return created;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot reach Kafka at " + bootstrapServers + " to check topics", e);
    }
  }
}
