package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repartition step by stream id ({@link TopologySettings#repartitionInput()}): it is in the
 * topology when on and absent when off, and the same input gives the same outputs, dead letters
 * (headers included) and stores either way. TopologyTestDriver has one partition per topic, so
 * where the records land is shown by the broker test in the app module.
 */
class InputRepartitionTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final String APP = "infini-repartition-test";
  private static final TopologySettings ON =
      TopologySettings.defaults().withMaxEventTextBytes(256).withAbsorbChunkTokens(7);
  private static final TopologySettings OFF = ON.withRepartitionInput(false);

  private static InfiniModel model;

  @TempDir Path stateDir;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @Test
  void defaultIsOn() {
    assertTrue(TopologySettings.defaults().repartitionInput());
  }

  @Test
  void theRepartitionTopicIsInTheTopologyOnlyWhenOn() {
    TopologyDescription on = InfiniTopology.build(ON, model).describe();
    TopologyDescription off = InfiniTopology.build(OFF, model).describe();
    String repartition = InfiniTopology.REPARTITION_NAME + "-repartition";
    assertTrue(on.toString().contains(repartition), on::toString);
    assertTrue(on.toString().contains(ON.sessionsStore()), on::toString);
    assertEquals(2, on.subtopologies().size(), on::toString);
    assertFalse(off.toString().contains(repartition), off::toString);
    assertEquals(1, off.subtopologies().size(), off::toString);
    // the stores are in the sub-topology that reads the repartition topic, not the input
    for (TopologyDescription.Subtopology sub : on.subtopologies()) {
      String text = sub.toString();
      if (text.contains(ON.sessionsStore())) {
        assertTrue(text.contains("topics: [" + repartition + "]"), text);
        assertFalse(text.contains("[" + ON.inputTopic() + "]"), text);
      }
    }
    assertEquals(
        APP + "-" + InfiniTopology.REPARTITION_NAME + "-repartition",
        InfiniTopology.repartitionTopic(APP));
    assertEquals(
        InfiniTopology.repartitionTopic(APP), InfiniTopology.processorSourceTopic(ON, APP));
    assertEquals(ON.inputTopic(), InfiniTopology.processorSourceTopic(OFF, APP));
  }

  @Test
  void recordsFlowThroughUnchanged() {
    Run on = run(ON, stateDir.resolve("on"));
    Run off = run(OFF, stateDir.resolve("off"));
    assertEquals(off.outputs, on.outputs);
    assertEquals(off.deadLetters, on.deadLetters);
    assertEquals(off.stores, on.stores);
    // the run is not trivial: applied events for three streams, and several kinds of dead letter
    assertEquals(9, on.outputs.size(), on.outputs::toString);
    assertTrue(on.deadLetters.size() >= 6, on.deadLetters::toString);
    for (String reason :
        List.of("NULL_KEY", "INVALID_KEY", "UNDECODABLE", "DUPLICATE_SEQ", "SEQ_GAP")) {
      assertTrue(
          on.deadLetters.stream().anyMatch(d -> d.contains("infini.dlq.reason=" + reason)),
          () -> reason + " missing from " + on.deadLetters);
    }
    // a dead letter names the input record, not its copy in the repartition topic
    assertTrue(
        on.deadLetters.stream().allMatch(d -> d.contains("infini.dlq.source=" + ON.inputTopic())),
        on.deadLetters::toString);
    // the producer's own headers are kept (all but infini.dlq.*), timestamps too
    assertTrue(
        on.deadLetters.stream().anyMatch(d -> d.contains("trace-id=abc")),
        on.deadLetters::toString);
    assertFalse(
        on.deadLetters.stream().anyMatch(d -> d.contains("forged")), on.deadLetters::toString);
  }

  /** What one driver run emitted and stored, as comparable strings. */
  private record Run(List<String> outputs, List<String> deadLetters, Map<String, String> stores) {}

  private static Run run(TopologySettings settings, Path dir) {
    Properties props = StreamsProps.forModel(model.config(), settings);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
    try (TopologyTestDriver driver =
        new TopologyTestDriver(InfiniTopology.build(settings, model), props, T0)) {
      TestInputTopic<byte[], byte[]> input =
          driver.createInputTopic(
              settings.inputTopic(),
              new ByteArraySerializer(),
              new ByteArraySerializer(),
              T0,
              Duration.ofMillis(3));
      TestOutputTopic<String, OutputEvent> output =
          driver.createOutputTopic(
              settings.outputTopic(),
              InfiniTopology.KEY_SERDE.deserializer(),
              InfiniTopology.OUTPUT_SERDE.deserializer());
      TestOutputTopic<byte[], byte[]> deadLetters =
          driver.createOutputTopic(
              settings.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());

      RecordHeaders traced = new RecordHeaders();
      traced.add("trace-id", bytes("abc"));
      traced.add("infini.dlq.source", bytes("forged/0/0"));
      for (int seq = 1; seq <= 3; seq++) {
        for (String stream : List.of("alice", "bob", "carol")) {
          InputEvent event =
              seq == 3 && stream.equals("bob")
                  ? generate(seq)
                  : seq == 2 && stream.equals("carol") ? reset(seq) : append(seq, stream);
          input.pipeInput(new TestRecord<>(bytes(stream), encode(event), traced));
        }
      }
      input.pipeInput(new TestRecord<>(bytes("alice"), encode(append(2, "alice")), traced));
      input.pipeInput(new TestRecord<>(bytes("bob"), encode(append(9, "bob")), traced));
      input.pipeInput(new TestRecord<byte[], byte[]>(null, encode(append(1, "x")), traced));
      input.pipeInput(
          new TestRecord<>(new byte[] {(byte) 0xff, (byte) 0xfe}, encode(append(1, "x")), traced));
      input.pipeInput(new TestRecord<>(bytes("dave"), bytes("not avro"), traced));
      input.pipeInput(new TestRecord<byte[], byte[]>(bytes("erin"), null, traced));

      List<String> outputs = new ArrayList<>();
      for (TestRecord<String, OutputEvent> r : output.readRecordsToList()) {
        OutputEvent e = r.value();
        e.setLatencyMicros(0L); // the only field that depends on the clock
        outputs.add(r.key() + " " + e + " @" + r.timestamp() + " " + headers(r.headers()));
      }
      List<String> dead = new ArrayList<>();
      HexFormat hex = HexFormat.of();
      for (TestRecord<byte[], byte[]> r : deadLetters.readRecordsToList()) {
        dead.add(
            (r.key() == null ? "null" : hex.formatHex(r.key()))
                + " "
                + (r.value() == null ? "null" : hex.formatHex(r.value()))
                + " @"
                + r.timestamp()
                + " "
                + headers(r.headers()));
      }
      return new Run(outputs, dead, stores(driver, settings));
    }
  }

  private static String headers(Iterable<Header> headers) {
    StringBuilder sb = new StringBuilder("{");
    for (Header h : headers) {
      sb.append(h.key())
          .append('=')
          .append(h.value() == null ? "null" : new String(h.value(), StandardCharsets.UTF_8))
          .append(';');
    }
    return sb.append('}').toString();
  }

  private static Map<String, String> stores(TopologyTestDriver driver, TopologySettings settings) {
    return TopologyHarness.records(driver, settings);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] encode(InputEvent event) {
    return InfiniTopology.INPUT_SERDE.serialize("t", event);
  }

  private static InputEvent append(long seq, String stream) {
    return event(seq, EventKind.APPEND, "text " + seq + " of " + stream + " with some bytes.");
  }

  private static InputEvent generate(long seq) {
    InputEvent e = event(seq, EventKind.GENERATE, "What is it?");
    e.setGeneration(new Generation(4, 0f, 5L, PromptFormat.RAW));
    return e;
  }

  private static InputEvent reset(long seq) {
    return event(seq, EventKind.RESET, "");
  }

  private static InputEvent event(long seq, EventKind kind, String text) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(kind)
        .setText(text)
        .setGeneration(new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }
}
