package io.infinistreams.app.runtime;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.ProcessorMetrics;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

/**
 * The seam between the application's configuration and the topology core: maps {@link AppConfig}
 * onto {@link TopologySettings} and Kafka Streams properties, and builds the topology.
 */
public final class StreamsWiring {
  private StreamsWiring() {}

  /**
   * Consumer session timeout: how long a member that died without leaving (kill -9, a lost host)
   * keeps its partitions when no instance with its {@code group.instance.id} comes back. Kafka's
   * default is 45 s; heartbeats come from the consumer's own thread, so a long model call does not
   * delay them, and 15 s leaves five heartbeats of slack.
   */
  public static final int SESSION_TIMEOUT_MS = 15_000;

  /** Consumer heartbeat interval (Kafka's default), a fifth of {@link #SESSION_TIMEOUT_MS}. */
  public static final int HEARTBEAT_INTERVAL_MS = 3_000;

  /**
   * Room in a fetch beyond the largest event's text and stream id: the Avro envelope of an APPEND,
   * the record's headers and the record batch's own header.
   */
  public static final int FETCH_MARGIN_BYTES = 4 * 1024;

  /** The consumer setting that bounds how much of one partition one fetch (and poll) returns. */
  static final String FETCH_BYTES = ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG;

  /**
   * The main consumer's {@code max.partition.fetch.bytes} the application sets unless configured:
   * {@code event.max.text.bytes} + {@code stream.id.max.bytes} + {@value #FETCH_MARGIN_BYTES}, so
   * one fetch returns about one event of the largest size per partition (or that many bytes of
   * smaller ones).
   *
   * <p>Why: a stream thread polls, then processes everything that poll returned before it polls
   * again (Kafka Streams' {@code StreamThread.runOnce}: until its buffers are empty or half of
   * {@code max.poll.interval.ms} has passed), and the consumer hands out a partition's fetched
   * records before any later fetch of another partition. With Kafka's default of 1 MiB a poll may
   * bring a megabyte of one stream's feed (about 60 events of 16 KiB, over a minute of absorbing),
   * and a small event on another partition is not even fetched before all of it is processed.
   * Bounding the fetch bounds the work between two polls to about one such event per partition. A
   * record larger than this still comes through (Kafka returns at least one record batch), and the
   * restore consumer keeps Kafka's default.
   */
  public static int mainConsumerFetchBytes(AppConfig config) {
    long bytes = (long) config.eventMaxTextBytes() + config.streamIdMaxBytes() + FETCH_MARGIN_BYTES;
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }

  /**
   * The main consumer's {@code max.partition.fetch.bytes} under this configuration, as Kafka
   * Streams resolves it: a {@code main.consumer.} key before a {@code consumer.} key before an
   * unprefixed one, {@code streams.*} before {@code kafka.*}; {@link #mainConsumerFetchBytes} if
   * none is set.
   */
  public static int effectiveMainConsumerFetchBytes(AppConfig config) {
    for (String key :
        new String[] {
          StreamsConfig.mainConsumerPrefix(FETCH_BYTES),
          StreamsConfig.consumerPrefix(FETCH_BYTES),
          FETCH_BYTES
        }) {
      String v = config.streamsOverrides().get(key);
      if (v == null) {
        v = config.kafkaClientProperties().get(key);
      }
      if (v != null) {
        return Integer.parseInt(v.trim());
      }
    }
    return mainConsumerFetchBytes(config);
  }

  /**
   * Whether the configuration sets the main consumer's {@code max.partition.fetch.bytes} itself, in
   * any form Kafka Streams hands to it: {@code streams.main.consumer.}, {@code streams.consumer.}
   * or unprefixed {@code streams.} keys, or a {@code kafka.} key.
   */
  static boolean fetchBytesConfigured(AppConfig config) {
    for (String key :
        new String[] {
          FETCH_BYTES,
          StreamsConfig.consumerPrefix(FETCH_BYTES),
          StreamsConfig.mainConsumerPrefix(FETCH_BYTES)
        }) {
      if (config.streamsOverrides().containsKey(key)
          || config.kafkaClientProperties().containsKey(key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The static group member id of this instance: {@code <application.id>-<instance.id or host
   * name>-<8 hex digits of the SHA-256 of the absolute state.dir>}, with every character Kafka does
   * not allow replaced by {@code _}. Stable across restarts of the same instance; two instances on
   * one host differ by their state folders. Kafka Streams appends the stream thread's index.
   */
  public static String groupInstanceId(AppConfig config, Path stateDir) {
    String instance = config.instanceId().isEmpty() ? hostName() : config.instanceId();
    String dir = stateDir.toAbsolutePath().normalize().toString();
    String hash;
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(dir.getBytes(StandardCharsets.UTF_8));
      hash = HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    String app = config.applicationId();
    if (app.length() > 120) {
      app = app.substring(0, 120);
    }
    if (instance.length() > 64) {
      instance = instance.substring(0, 64);
    }
    return (app + "-" + instance + "-" + hash).replaceAll("[^A-Za-z0-9._-]", "_");
  }

  private static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  public static TopologySettings topologySettings(AppConfig config) {
    TopologySettings d = TopologySettings.defaults();
    return new TopologySettings(
        config.inputTopic(),
        config.outputTopic(),
        config.deadLetterTopic(),
        d.sessionsStore(),
        d.memoryStore(),
        config.eventMaxTextBytes(),
        config.absorbChunkTokens(),
        config.generateMaxTokensLimit(),
        config.streamIdMaxBytes(),
        config.surpriseEnabled(),
        d.stopAtEos(),
        config.inputRepartition(),
        config.surpriseCacheBytes(),
        config.sessionTtlMs(),
        config.eventMaxCrashes());
  }

  public static Topology topology(TopologySettings settings, InfiniModel model) {
    return InfiniTopology.build(settings, model);
  }

  /** The topology, its processor reporting to {@code metrics}. */
  public static Topology topology(
      TopologySettings settings, InfiniModel model, ProcessorMetrics metrics) {
    return InfiniTopology.build(settings, model, metrics);
  }

  /**
   * Kafka Streams properties, later entries winning: what the topology derives from the model
   * ({@link StreamsProps#forModel}), then the {@code kafka.*} client settings (unprefixed, so Kafka
   * Streams hands them to every client it creates: main, restore and global consumers, producer,
   * admin), then the configuration's keys, then {@code streams.*} overrides (which therefore win
   * over {@code kafka.*} on a conflict).
   */
  public static Properties streamsProperties(
      AppConfig config, ModelConfig model, String bootstrapServers, Path stateDir) {
    return streamsProperties(config, model, bootstrapServers, stateDir, 0);
  }

  /**
   * As {@link #streamsProperties(AppConfig, ModelConfig, String, Path)}, with the producer's {@code
   * max.request.size} raised to at least {@code minRequestBytes} (the dead-letter topic's {@code
   * max.message.bytes}, so that the dead letter of any input record fits), and with {@code
   * input.repartition} the repartition topic's {@code max.message.bytes} ({@code
   * topic.max.message.bytes}, which the changelogs' own setting overrides) raised to it as well: a
   * record in the repartition topic is the input record plus one header.
   *
   * <p>Also sets what recovery after a crash depends on: static group membership ({@code
   * group.instance.id} from {@link #groupInstanceId}), a session timeout of {@value
   * #SESSION_TIMEOUT_MS} ms, and the production exception handler ({@link
   * InfiniProductionExceptionHandler}); and, unless configured, the main consumer's {@code
   * max.partition.fetch.bytes} ({@link #mainConsumerFetchBytes}), which bounds how long a small
   * event on one partition waits behind a long feed on another.
   *
   * @throws ConfigException if a {@code streams.processing.guarantee} override asks for anything
   *     but {@code exactly_once_v2}
   */
  public static Properties streamsProperties(
      AppConfig config,
      ModelConfig model,
      String bootstrapServers,
      Path stateDir,
      int minRequestBytes) {
    String guarantee = config.streamsOverrides().get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
    if (guarantee != null && !guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2)) {
      throw new ConfigException(
          "streams.processing.guarantee="
              + guarantee
              + " is not supported: one event writes several store records and an output, which"
              + " only exactly_once_v2 commits atomically");
    }
    Properties p = StreamsProps.forModel(model, topologySettings(config));
    p.putAll(config.kafkaClientProperties());
    String maxRequest = StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    Object derived = p.get(maxRequest);
    int current = derived == null ? 0 : Integer.parseInt(derived.toString());
    if (minRequestBytes > current) {
      p.put(maxRequest, minRequestBytes);
    }
    String internalMax = StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
    Object repartitionMax = p.get(internalMax);
    if (repartitionMax != null && minRequestBytes > Integer.parseInt(repartitionMax.toString())) {
      // the repartition topic takes any record the input takes, as the dead-letter topic does
      p.put(internalMax, minRequestBytes);
    }
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, config.processingGuarantee());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.numStreamThreads());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.topicReplicationFactor());
    // There is no global store; enabling the handler there only silences a start-up warning.
    p.put("processing.exception.handler.global.enabled", true);
    // Recovery after a crash: the restarted instance rejoins under the same static member id, so
    // the coordinator hands its partitions back without waiting out the dead member's session.
    p.put(
        StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
        groupInstanceId(config, stateDir));
    p.put(
        StreamsConfig.mainConsumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG),
        SESSION_TIMEOUT_MS);
    p.put(
        StreamsConfig.mainConsumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG),
        HEARTBEAT_INTERVAL_MS);
    p.put(
        StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG,
        InfiniProductionExceptionHandler.class.getName());
    p.put(InfiniProductionExceptionHandler.DEAD_LETTER_TOPIC_CONFIG, config.deadLetterTopic());
    // Fair service across partitions: bound what one poll brings, unless configured (a main
    // consumer default would otherwise win over a consumer. or unprefixed setting).
    if (!fetchBytesConfigured(config)) {
      p.put(StreamsConfig.mainConsumerPrefix(FETCH_BYTES), mainConsumerFetchBytes(config));
    }
    p.putAll(config.streamsOverrides());
    return p;
  }
}
