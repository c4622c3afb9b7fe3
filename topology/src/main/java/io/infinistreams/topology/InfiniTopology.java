package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;

/**
 * The stream processor's topology: one source, a repartition step by stream id, one processor with
 * two stores, two sinks.
 *
 * <pre>
 *   input (String stream id, InputEvent; read as raw bytes)
 *     -> records without a key -> dead letters (NULL_KEY)
 *     -> infini-origin (input topic/partition/offset into a header)
 *     -> repartition topic &lt;application.id&gt;-infini-input-by-key-repartition
 *          (raw bytes, partition = murmur2 of the key bytes, as many partitions as the input)
 *       -> infini-processor [sessions store, memory store]
 *            -> output      (String stream id, OutputEvent)
 *            -> dead letters (original key and value bytes, reason in headers)
 * </pre>
 *
 * <p>The repartition step brings every record to the partition that owns its key whichever
 * partitioner the producer used (a Java client's murmur2, librdkafka's CRC32 {@code
 * consistent_random}, anything else), so a stream's state is in one task. With {@link
 * TopologySettings#repartitionInput()} false the processor reads the input topic directly, and the
 * producers must partition by murmur2 of the key bytes. Under exactly-once v2 the repartition
 * topic's writes and the input offsets commit in one transaction, and the processor's reads of it
 * in another with its store and output writes. Key, value, timestamp and headers travel unchanged;
 * dead letters and outputs are the same with and without the step.
 *
 * <p>Topics and stores are named in {@link TopologySettings} (defaults below); each is listed here
 * with its serdes. The input value is read as raw bytes and decoded inside the processor, so an
 * undecodable event can be dead-lettered with its original bytes instead of failing the task.
 */
public final class InfiniTopology {
  /** Default input topic. Key {@link #KEY_SERDE}, value {@link #INPUT_SERDE}. */
  public static final String INPUT_TOPIC = TopologySettings.defaults().inputTopic();

  /** Default output topic. Key {@link #KEY_SERDE}, value {@link #OUTPUT_SERDE}. */
  public static final String OUTPUT_TOPIC = TopologySettings.defaults().outputTopic();

  /** Default dead-letter topic. Key and value: the input record's original bytes. */
  public static final String DEAD_LETTER_TOPIC = TopologySettings.defaults().deadLetterTopic();

  /** Default sessions store. Key {@link #KEY_SERDE}, value {@link #SESSION_SERDE}. */
  public static final String SESSIONS_STORE = TopologySettings.defaults().sessionsStore();

  /** Default memory store. Key {@link MemoryKey#SERDE}, value {@link #HEAD_MEMORY_SERDE}. */
  public static final String MEMORY_STORE = TopologySettings.defaults().memoryStore();

  /** Stream ids: UTF-8 strings. */
  public static final Serde<String> KEY_SERDE = Serdes.String();

  public static final AvroSerde<InputEvent> INPUT_SERDE = AvroSerdes.inputEvent();
  public static final AvroSerde<OutputEvent> OUTPUT_SERDE = AvroSerdes.outputEvent();
  public static final AvroSerde<StoredSession> SESSION_SERDE = AvroSerdes.storedSession();
  public static final AvroSerde<StoredHeadMemory> HEAD_MEMORY_SERDE = AvroSerdes.storedHeadMemory();

  /**
   * Header of an output record whose event first started its stream afresh under the serving model
   * because another model had written the stream (upgrade policy reset, {@link Models}): the
   * fingerprint (hex, UTF-8) of the model whose state was dropped. Absent on every other output.
   */
  public static final String CONTEXT_RESET_HEADER = "infini.context-reset-from";

  static final String SOURCE = "infini-source";
  static final String PROCESSOR = "infini-processor";
  static final String OUTPUT_SINK = "infini-output-sink";
  static final String DEAD_LETTER_SINK = "infini-dead-letter-sink";
  static final String SPLIT = "infini-key-";
  static final String NULL_KEY_BRANCH = "null";
  static final String KEYED_BRANCH = "present";
  static final String NULL_KEY_PROCESSOR = "infini-null-key";
  static final String NULL_KEY_DEAD_LETTER_SINK = "infini-null-key-dead-letter-sink";
  static final String ORIGIN_PROCESSOR = "infini-origin";

  /**
   * Name of the repartition step ({@link TopologySettings#repartitionInput()}); its internal topic
   * is {@link #repartitionTopic(String)}.
   */
  public static final String REPARTITION_NAME = "infini-input-by-key";

  private InfiniTopology() {}

  /**
   * The internal topic of the repartition step of application {@code applicationId}: {@code
   * <application.id>-infini-input-by-key-repartition}. Kafka Streams creates it with the input
   * topic's partition count; it holds each input record unchanged but for one header, in the
   * partition of murmur2 of its key bytes.
   */
  public static String repartitionTopic(String applicationId) {
    return applicationId + "-" + REPARTITION_NAME + "-repartition";
  }

  /**
   * The topic the processor (and so each stream's state) is partitioned by: the repartition topic
   * with {@link TopologySettings#repartitionInput()}, else the input topic. A stream's state is in
   * the task of that topic's partition of its key (murmur2 of the key bytes).
   */
  public static String processorSourceTopic(TopologySettings settings, String applicationId) {
    return settings.repartitionInput() ? repartitionTopic(applicationId) : settings.inputTopic();
  }

  /**
   * The topology for {@code model}. Run it with the properties of {@link
   * StreamsProps#forModel(io.infinistreams.model.ModelConfig, TopologySettings)} (the changelog
   * topics' {@code max.message.bytes} set here and the producer's {@code max.request.size} set
   * there are derived from the same record size). The model is shared by all stream threads and
   * must stay open while the topology runs.
   */
  public static Topology build(TopologySettings settings, InfiniModel model) {
    return build(settings, model, ProcessorMetrics.NONE);
  }

  /**
   * As {@link #build(TopologySettings, InfiniModel)}, reporting every applied and dead-lettered
   * record to {@code metrics} (shared by all stream threads: it must be thread-safe).
   */
  public static Topology build(
      TopologySettings settings, InfiniModel model, ProcessorMetrics metrics) {
    Objects.requireNonNull(model, "model");
    return build(settings, Models.of(model), metrics);
  }

  /**
   * The topology for several models: {@link Models#serving()} starts new streams, each stream is
   * continued (or reset, or refused) as {@link Models#policy()} says. Every model is shared by all
   * stream threads and must stay open while the topology runs; the changelogs' {@code
   * max.message.bytes} covers the largest records of any of them (run it with the properties of
   * {@link StreamsProps#forModel} for {@link StreamsProps#largestRecords}).
   */
  public static Topology build(TopologySettings settings, Models models, ProcessorMetrics metrics) {
    Objects.requireNonNull(models, "models");
    Map<String, ModelCalls> calls = new LinkedHashMap<>();
    for (InfiniModel m : models.all()) {
      calls.put(m.fingerprint(), ModelCalls.of(m));
    }
    return build(settings, models, calls, metrics);
  }

  /** As {@link #build(TopologySettings, InfiniModel)}, the model called through {@code calls}. */
  static Topology build(TopologySettings settings, InfiniModel model, ModelCalls calls) {
    return build(settings, model, calls, ProcessorMetrics.NONE);
  }

  /** The model called through {@code calls}, records reported to {@code metrics}. */
  static Topology build(
      TopologySettings settings, InfiniModel model, ModelCalls calls, ProcessorMetrics metrics) {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(calls, "calls");
    return build(settings, Models.of(model), Map.of(model.fingerprint(), calls), metrics);
  }

  /** Each model called through its entry of {@code calls}, records reported to {@code metrics}. */
  static Topology build(
      TopologySettings settings,
      Models models,
      Map<String, ModelCalls> calls,
      ProcessorMetrics metrics) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(models, "models");
    Objects.requireNonNull(calls, "calls");
    Objects.requireNonNull(metrics, "metrics");
    for (InfiniModel m : models.all()) {
      if (!calls.containsKey(m.fingerprint())) {
        throw new IllegalArgumentException("no model calls for model " + m.fingerprint());
      }
    }
    InfiniProcessor.Supplier processor =
        new InfiniProcessor.Supplier(settings, models, calls, metrics);
    Topology topology;
    if (settings.repartitionInput()) {
      StreamsBuilder builder = new StreamsBuilder();
      Map<String, KStream<byte[], byte[]>> byKey =
          builder.stream(
                  settings.inputTopic(),
                  Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(SOURCE))
              .split(Named.as(SPLIT))
              .branch((key, value) -> key == null, Branched.as(NULL_KEY_BRANCH))
              .defaultBranch(Branched.as(KEYED_BRANCH));
      byKey
          .get(SPLIT + NULL_KEY_BRANCH)
          .process(
              () -> new InputRouting.NullKeyDeadLetters(metrics), Named.as(NULL_KEY_PROCESSOR));
      byKey
          .get(SPLIT + KEYED_BRANCH)
          .processValues(InputRouting.OriginStamp::new, Named.as(ORIGIN_PROCESSOR))
          .repartition(
              Repartitioned.<byte[], byte[]>as(REPARTITION_NAME)
                  .withKeySerde(Serdes.ByteArray())
                  .withValueSerde(Serdes.ByteArray()))
          .process(processor, Named.as(PROCESSOR));
      topology = builder.build();
      topology.addSink(
          NULL_KEY_DEAD_LETTER_SINK,
          settings.deadLetterTopic(),
          new ByteArraySerializer(),
          new ByteArraySerializer(),
          NULL_KEY_PROCESSOR);
    } else {
      topology = new Topology();
      topology.addSource(
          SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), settings.inputTopic());
      topology.addProcessor(PROCESSOR, processor, SOURCE);
    }
    topology.addSink(
        OUTPUT_SINK,
        settings.outputTopic(),
        KEY_SERDE.serializer(),
        OUTPUT_SERDE.serializer(),
        PROCESSOR);
    topology.addSink(
        DEAD_LETTER_SINK,
        settings.deadLetterTopic(),
        new ByteArraySerializer(),
        new ByteArraySerializer(),
        PROCESSOR);
    return topology;
  }
}
