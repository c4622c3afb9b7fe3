package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The processor reports every applied and dead-lettered record to its {@link ProcessorMetrics}. */
class ProcessorMetricsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final TopologySettings SETTINGS = TopologySettings.defaults();

  private static InfiniModel model;

  @TempDir Path stateDir;

  /** Keeps what it is told. Called on the test thread only here. */
  private static final class Recording implements ProcessorMetrics {
    final Map<EventKind, Integer> applied = new EnumMap<>(EventKind.class);
    final Map<DeadLetterReason, Integer> deadLettered = new EnumMap<>(DeadLetterReason.class);
    final List<Long> nanos = new ArrayList<>();
    long tokens;
    long segments;

    @Override
    public void applied(EventKind kind, long tokens, long segments, long nanos) {
      applied.merge(kind, 1, Integer::sum);
      this.tokens += tokens;
      this.segments += segments;
      this.nanos.add(nanos);
    }

    @Override
    public void deadLettered(DeadLetterReason reason) {
      deadLettered.merge(reason, 1, Integer::sum);
    }
  }

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny(), 3);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  private static InputEvent event(long seq, EventKind kind, String text, int maxNewTokens) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(kind)
        .setText(text)
        .setGeneration(new Generation(maxNewTokens, 0f, 1L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  @Test
  void reportsTokensSegmentsAndDeadLetterReasons() {
    Properties props = StreamsProps.forModel(model.config(), SETTINGS);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "infini-metrics-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    Recording metrics = new Recording();
    try (TopologyTestDriver driver =
        new TopologyTestDriver(InfiniTopology.build(SETTINGS, model, metrics), props, T0)) {
      TestInputTopic<byte[], byte[]> input =
          driver.createInputTopic(
              SETTINGS.inputTopic(), new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<String, OutputEvent> output =
          driver.createOutputTopic(
              SETTINGS.outputTopic(),
              InfiniTopology.KEY_SERDE.deserializer(),
              InfiniTopology.OUTPUT_SERDE.deserializer());
      byte[] key = "s".getBytes(StandardCharsets.UTF_8);
      String text = "Grüße, ".repeat(10); // multi-byte: tokens are UTF-8 bytes
      List<InputEvent> events =
          List.of(
              event(1, EventKind.APPEND, text, 0),
              event(2, EventKind.APPEND, text, 0),
              event(2, EventKind.APPEND, text, 0), // duplicate
              event(5, EventKind.APPEND, text, 0), // gap
              event(3, EventKind.GENERATE, "Q?", 3),
              event(4, EventKind.RESET, "", 0));
      for (InputEvent e : events) {
        input.pipeInput(key, InfiniTopology.INPUT_SERDE.serialize("t", e));
      }
      input.pipeInput(key, new byte[] {1, 2, 3}); // undecodable

      List<OutputEvent> outs = output.readValuesToList();
      assertEquals(4, outs.size());
      long tokens = outs.stream().mapToLong(OutputEvent::getTokensThisEvent).sum();
      int bytes = text.getBytes(StandardCharsets.UTF_8).length;
      assertEquals(2L * bytes, outs.get(0).getTokensThisEvent() + outs.get(1).getTokensThisEvent());
      assertEquals(tokens, metrics.tokens);
      // segments written by the events up to the GENERATE: the total before the RESET
      assertEquals(outs.get(2).getSegmentsTotal(), metrics.segments);
      assertTrue(metrics.segments > 0);
      assertEquals(
          Map.of(EventKind.APPEND, 2, EventKind.GENERATE, 1, EventKind.RESET, 1), metrics.applied);
      assertEquals(
          Map.of(
              DeadLetterReason.DUPLICATE_SEQ, 1,
              DeadLetterReason.SEQ_GAP, 1,
              DeadLetterReason.UNDECODABLE, 1),
          metrics.deadLettered);
      assertTrue(metrics.nanos.stream().allMatch(n -> n > 0));
    }
  }
}
