package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * A topology under TopologyTestDriver with its topics and stores at hand, for the processor's
 * tests: input as raw bytes, output and dead letters as records, both stores, and a byte-level
 * listing of everything stored.
 */
final class TopologyHarness implements AutoCloseable {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final String APPLICATION_ID = "infini-test";

  final TopologySettings settings;
  final TopologyTestDriver driver;
  final TestInputTopic<byte[], byte[]> input;
  final TestOutputTopic<String, OutputEvent> output;
  final TestOutputTopic<byte[], byte[]> deadLetters;
  final KeyValueStore<String, StoredSession> sessions;
  final KeyValueStore<MemoryKey, StoredHeadMemory> memory;

  /** Wall clock and first record time T0, records 1 ms apart. */
  TopologyHarness(
      TopologySettings settings, InfiniModel model, ProcessorMetrics metrics, Path stateDir) {
    this(settings, Models.of(model), metrics, stateDir);
  }

  /** A topology of several models. */
  TopologyHarness(
      TopologySettings settings, Models models, ProcessorMetrics metrics, Path stateDir) {
    this(
        settings,
        InfiniTopology.build(settings, models, metrics),
        props(
            StreamsProps.forModel(StreamsProps.largestRecords(models, settings), settings),
            stateDir));
  }

  /** One model whose calls go through {@code calls} (e.g. {@link FaultyModelCalls}). */
  TopologyHarness(TopologySettings settings, InfiniModel model, ModelCalls calls, Path stateDir) {
    this(
        settings,
        InfiniTopology.build(settings, model, calls),
        props(StreamsProps.forModel(model.config(), settings), stateDir));
  }

  /** Application id {@value #APPLICATION_ID}, state in {@code stateDir}. */
  private static Properties props(Properties props, Path stateDir) {
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    return props;
  }

  private TopologyHarness(TopologySettings settings, Topology topology, Properties props) {
    this.settings = settings;
    driver = new TopologyTestDriver(topology, props, T0);
    input =
        driver.createInputTopic(
            settings.inputTopic(),
            new ByteArraySerializer(),
            new ByteArraySerializer(),
            T0,
            Duration.ofMillis(1));
    output =
        driver.createOutputTopic(
            settings.outputTopic(),
            InfiniTopology.KEY_SERDE.deserializer(),
            InfiniTopology.OUTPUT_SERDE.deserializer());
    deadLetters =
        driver.createOutputTopic(
            settings.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    sessions = driver.getKeyValueStore(settings.sessionsStore());
    memory = driver.getKeyValueStore(settings.memoryStore());
  }

  /** An event of {@code kind} with default generation settings. */
  static InputEvent event(long seq, EventKind kind, String text) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(kind)
        .setText(text)
        .setGeneration(new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  void send(String key, InputEvent event) {
    input.pipeInput(
        key.getBytes(StandardCharsets.UTF_8), InfiniTopology.INPUT_SERDE.serialize("t", event));
  }

  /** Stream {@code key}'s records as stored: "session" and "layer/head" -> hex of the value. */
  Map<String, String> stream(String key) {
    Map<String, String> out = new TreeMap<>();
    HexFormat hex = HexFormat.of();
    StoredSession s = sessions.get(key);
    if (s != null) {
      out.put("session", hex.formatHex(InfiniTopology.SESSION_SERDE.serialize("t", s)));
    }
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(memory, key)) {
      out.put(
          kv.key.layer() + "/" + kv.key.head(),
          hex.formatHex(InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", kv.value)));
    }
    return out;
  }

  /**
   * Store {@code name} of {@code driver} below its serdes (the caching layer's bytes): what a test
   * uses to put a record that does not decode, as a newer version or damage would leave it.
   */
  @SuppressWarnings("unchecked")
  static KeyValueStore<Bytes, byte[]> rawStore(TopologyTestDriver driver, String name) {
    return (KeyValueStore<Bytes, byte[]>)
        ((WrappedStateStore<?, ?, ?>) driver.getKeyValueStore(name)).wrapped();
  }

  /** Every entry of store {@code name}, as hex(key bytes) -> hex(value bytes), nothing decoded. */
  static Map<String, String> rawRecords(TopologyTestDriver driver, String name) {
    Map<String, String> all = new TreeMap<>();
    HexFormat hex = HexFormat.of();
    try (KeyValueIterator<Bytes, byte[]> it = rawStore(driver, name).all()) {
      it.forEachRemaining(kv -> all.put(hex.formatHex(kv.key.get()), hex.formatHex(kv.value)));
    }
    return all;
  }

  /** Every store entry as hex(key) -> hex(value bytes), both stores. */
  Map<String, String> records() {
    return records(driver, settings);
  }

  /**
   * Every entry of the two stores of {@code driver}'s topology: "s:" + stream id or "m:" +
   * hex(memory key) -> hex(value bytes).
   */
  static Map<String, String> records(TopologyTestDriver driver, TopologySettings settings) {
    KeyValueStore<String, StoredSession> sessions =
        driver.getKeyValueStore(settings.sessionsStore());
    KeyValueStore<MemoryKey, StoredHeadMemory> memory =
        driver.getKeyValueStore(settings.memoryStore());
    Map<String, String> all = new TreeMap<>();
    HexFormat hex = HexFormat.of();
    try (KeyValueIterator<String, StoredSession> it = sessions.all()) {
      it.forEachRemaining(
          kv ->
              all.put(
                  "s:" + kv.key,
                  hex.formatHex(InfiniTopology.SESSION_SERDE.serialize("t", kv.value))));
    }
    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it = memory.all()) {
      it.forEachRemaining(
          kv ->
              all.put(
                  "m:" + hex.formatHex(kv.key.toBytes()),
                  hex.formatHex(InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", kv.value))));
    }
    return all;
  }

  @Override
  public void close() {
    driver.close();
  }
}
