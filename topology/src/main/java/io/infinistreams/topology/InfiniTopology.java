package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import java.util.Objects;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;

/**
 * The stream processor's topology: one source, one processor with two stores, two sinks.
 *
 * <pre>
 *   input (String stream id, InputEvent; read as raw bytes)
 *     -> infini-processor [sessions store, memory store]
 *          -> output      (String stream id, OutputEvent)
 *          -> dead letters (original key and value bytes, reason in headers)
 * </pre>
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

  static final String SOURCE = "infini-source";
  static final String PROCESSOR = "infini-processor";
  static final String OUTPUT_SINK = "infini-output-sink";
  static final String DEAD_LETTER_SINK = "infini-dead-letter-sink";

  private InfiniTopology() {}

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
    return build(settings, model, ModelCalls.of(model), metrics);
  }

  /** As {@link #build(TopologySettings, InfiniModel)}, the model called through {@code calls}. */
  static Topology build(TopologySettings settings, InfiniModel model, ModelCalls calls) {
    return build(settings, model, calls, ProcessorMetrics.NONE);
  }

  /** The model called through {@code calls}, records reported to {@code metrics}. */
  static Topology build(
      TopologySettings settings, InfiniModel model, ModelCalls calls, ProcessorMetrics metrics) {
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(calls, "calls");
    Objects.requireNonNull(metrics, "metrics");
    Topology topology = new Topology();
    topology.addSource(
        SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), settings.inputTopic());
    topology.addProcessor(
        PROCESSOR, new InfiniProcessor.Supplier(settings, model, calls, metrics), SOURCE);
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
