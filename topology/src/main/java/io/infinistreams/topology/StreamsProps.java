package io.infinistreams.topology;

import io.infinistreams.model.ModelConfig;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The Kafka Streams properties this topology depends on, derived from the model's shapes. The
 * caller adds {@code application.id}, {@code bootstrap.servers} and {@code state.dir} (which must
 * be a persistent directory: it holds every stream's memory) and may override the rest.
 *
 * <p>Record sizes: a head-memory record is about {@code 4 * (K*V + K)} bytes plus ~200 bytes of
 * fields and key; a session record about {@code 5 * (N + C)} (open and context tokens). The
 * producer's {@code max.request.size} and the changelog topics' {@code max.message.bytes} are set
 * to {@link #maxMessageBytes} so that no store write can fail with RecordTooLargeException.
 */
public final class StreamsProps {
  /** Kafka's default {@code message.max.bytes} / {@code max.request.size} (1 MiB + 12). */
  static final int KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

  /** Room for the record key, headers and batch overhead beyond the largest value. */
  static final int MARGIN_BYTES = 64 * 1024;

  /**
   * {@code max.message.bytes} of the repartition topic ({@link
   * TopologySettings#repartitionInput()}): an input topic with Kafka's default limit plus {@link
   * #MARGIN_BYTES} for the header the repartition step adds, so every record the input accepted
   * fits. An application whose input topic accepts larger records raises it (and the producer's
   * {@code max.request.size}) to match.
   */
  public static final int REPARTITION_MAX_MESSAGE_BYTES =
      KAFKA_DEFAULT_MAX_MESSAGE_BYTES + MARGIN_BYTES;

  /** Transaction timeout set for the producer (Kafka Streams' EOS default is 10 s). */
  public static final int TRANSACTION_TIMEOUT_MS = 60_000;

  /**
   * Records handed to the processor per poll, so one poll's work stays well under {@code
   * max.poll.interval.ms}.
   */
  public static final int MAX_POLL_RECORDS = 100;

  private StreamsProps() {}

  /** {@link #forModel(ModelConfig, TopologySettings)} with the default settings. */
  public static Properties forModel(ModelConfig config) {
    return forModel(config, TopologySettings.defaults());
  }

  /**
   * Properties for running {@link InfiniTopology#build}: {@code exactly_once_v2}, producer {@code
   * max.request.size} covering the largest stored record ({@link #maxRequestBytes}), a 60 s
   * transaction timeout, at most {@value #MAX_POLL_RECORDS} records per poll and, with {@link
   * TopologySettings#repartitionInput()}, {@code topic.max.message.bytes} = {@link
   * #REPARTITION_MAX_MESSAGE_BYTES} for the repartition topic Kafka Streams creates.
   */
  public static Properties forModel(ModelConfig config, TopologySettings settings) {
    Properties props = new Properties();
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
        maxRequestBytes(config, settings));
    if (settings.repartitionInput()) {
      // every internal topic; the changelogs' own max.message.bytes (set on the stores) wins
      props.put(
          StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG),
          REPARTITION_MAX_MESSAGE_BYTES);
    }
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
        TRANSACTION_TIMEOUT_MS);
    props.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), MAX_POLL_RECORDS);
    return props;
  }

  /**
   * The producer's {@code max.request.size}: {@link #maxMessageBytes}, and with {@link
   * TopologySettings#repartitionInput()} at least {@link #REPARTITION_MAX_MESSAGE_BYTES}, so a
   * record the repartition topic accepts can be written to it.
   */
  public static int maxRequestBytes(ModelConfig config, TopologySettings settings) {
    int max = maxMessageBytes(config, settings);
    return settings.repartitionInput() ? Math.max(max, REPARTITION_MAX_MESSAGE_BYTES) : max;
  }

  /** Upper bound on the encoded size of one head-memory record (value only). */
  public static int headRecordBytes(ModelConfig config) {
    // single-object header 10, 4 ints and a long as varints <= 30, M and z with length prefixes,
    // fingerprint (64 hex chars, bounded generously at 256)
    return 10 + 30 + 5 + 4 * config.dKey() * config.dValue() + 5 + 4 * config.dKey() + 5 + 256;
  }

  /** Upper bound on the encoded size of one session record (value only). */
  public static int sessionRecordBytes(ModelConfig config) {
    // header 10, version, array of <= N open tokens and array of C context tokens (count, ints of
    // <= 5 bytes each, end marker), 3 longs, fingerprint
    return 10
        + 5
        + 5
        + 5 * config.segmentLength()
        + 1
        + 5
        + 5 * config.overlap()
        + 1
        + 30
        + 5
        + 256;
  }

  /**
   * {@link #maxMessageBytes(ModelConfig, TopologySettings)} of the loaded model whose records are
   * the largest: what the changelog topics of a topology of several models need.
   */
  public static int maxMessageBytes(Models models, TopologySettings settings) {
    return maxMessageBytes(largestRecords(models, settings), settings);
  }

  /**
   * The configuration of the loaded model with the largest stored records ({@link
   * #maxMessageBytes}); pass it to {@link #forModel(ModelConfig, TopologySettings)} to run a
   * topology of several models.
   */
  public static ModelConfig largestRecords(Models models, TopologySettings settings) {
    ModelConfig largest = models.serving().config();
    for (io.infinistreams.model.InfiniModel m : models.all()) {
      if (maxMessageBytes(m.config(), settings) > maxMessageBytes(largest, settings)) {
        largest = m.config();
      }
    }
    return largest;
  }

  /**
   * {@code max.message.bytes} for the changelog topics and {@code max.request.size} for the
   * producer: the largest stored record plus its key and a margin, and never below Kafka's default.
   */
  public static int maxMessageBytes(ModelConfig config, TopologySettings settings) {
    long largest =
        Math.max(headRecordBytes(config), sessionRecordBytes(config))
            + 4L
            + settings.maxStreamIdBytes()
            + 8;
    long needed = largest + MARGIN_BYTES;
    if (needed > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("head memory too large for one Kafka record: " + needed);
    }
    return (int) Math.max(KAFKA_DEFAULT_MAX_MESSAGE_BYTES, needed);
  }
}
