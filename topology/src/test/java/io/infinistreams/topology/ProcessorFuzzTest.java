package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.FuzzCases.Case;
import io.infinistreams.topology.FuzzCases.Fault;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The processor under a fixed-seed stream of mostly bad input (undecodable, truncated or mutated
 * values, bad keys, oversized text, absurd generation settings, wrong sequence numbers) mixed with
 * good events for a few streams. Every record has exactly one outcome: each bad one exactly one
 * dead letter with its reason, each good one exactly one output; nothing escapes the processor; and
 * the stores end byte-identical to a second driver fed the good records alone, so no rejected
 * record left a trace.
 */
@Timeout(300)
class ProcessorFuzzTest {
  private static final long SEED = 20260101L;
  private static final int RECORDS = 10_000;
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final TopologySettings SETTINGS = FuzzCases.SETTINGS;

  private static InfiniModel model;

  @TempDir Path fuzzDir;
  @TempDir Path referenceDir;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 11);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** A driver over the real topology and the tiny model, with its own state folder. */
  private static final class Driver implements AutoCloseable {
    final TopologyTestDriver driver;
    final TestInputTopic<byte[], byte[]> input;
    final TestOutputTopic<String, OutputEvent> output;
    final TestOutputTopic<byte[], byte[]> deadLetters;

    Driver(Path stateDir) {
      Properties props = StreamsProps.forModel(model.config(), SETTINGS);
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, "infini-fuzz");
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
      props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
      driver = new TopologyTestDriver(InfiniTopology.build(SETTINGS, model), props, T0);
      input =
          driver.createInputTopic(
              SETTINGS.inputTopic(),
              new ByteArraySerializer(),
              new ByteArraySerializer(),
              T0,
              Duration.ofMillis(1));
      output =
          driver.createOutputTopic(
              SETTINGS.outputTopic(),
              InfiniTopology.KEY_SERDE.deserializer(),
              InfiniTopology.OUTPUT_SERDE.deserializer());
      deadLetters =
          driver.createOutputTopic(
              SETTINGS.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Every entry of both stores, as hex of their serialized keys and values. */
    Map<String, String> snapshot() {
      return TopologyHarness.records(driver, SETTINGS);
    }

    @Override
    public void close() {
      driver.close();
    }
  }

  @Test
  void everyRecordHasExactlyOneOutcomeAndRejectedOnesLeaveNoTrace() {
    List<Case> cases = FuzzCases.cases(SEED, RECORDS);
    long good = cases.stream().filter(Case::good).count();
    EnumMap<Fault, Integer> perFault = new EnumMap<>(Fault.class);
    cases.stream().filter(c -> !c.good()).forEach(c -> perFault.merge(c.fault(), 1, Integer::sum));
    assertEquals(Fault.values().length, perFault.size(), "every fault occurs: " + perFault);
    assertTrue(good >= 1000, "good records: " + good);
    Set<String> started = new HashSet<>();
    long restarts =
        cases.stream()
            .filter(Case::good)
            .filter(c -> c.seq() == 1 && !started.add(c.streamId()))
            .count();
    assertTrue(restarts >= 5, "streams started again at seq 1 after a DELETE: " + restarts);

    Map<String, String> fuzzed;
    try (Driver d = new Driver(fuzzDir)) {
      for (Case c : cases) {
        try {
          d.input.pipeInput(c.key(), c.value());
        } catch (RuntimeException e) {
          throw new AssertionError("the driver threw on " + c.describe(), e);
        }
        if (c.good()) {
          assertTrue(d.deadLetters.isEmpty(), () -> c.describe() + " was dead-lettered");
          OutputEvent out = d.output.readValue();
          assertEquals(c.streamId(), out.getStreamId(), c.describe());
          assertEquals(c.seq(), out.getSeq(), c.describe());
          assertTrue(d.output.isEmpty(), () -> c.describe() + " gave more than one output");
        } else {
          assertTrue(d.output.isEmpty(), () -> c.describe() + " gave an output");
          assertFalse(d.deadLetters.isEmpty(), () -> c.describe() + " gave no dead letter");
          TestRecord<byte[], byte[]> dead = d.deadLetters.readRecord();
          assertTrue(
              d.deadLetters.isEmpty(), () -> c.describe() + " gave more than one dead letter");
          assertArrayEquals(c.key(), dead.key(), c.describe());
          assertArrayEquals(c.value(), dead.value(), c.describe());
          assertEquals(
              c.fault().reason.name(), header(dead, DeadLetterReason.HEADER), c.describe());
          String detail = header(dead, DeadLetterReason.DETAIL_HEADER);
          assertNotNull(detail, c.describe());
          assertFalse(detail.isBlank(), c.describe());
        }
      }
      fuzzed = d.snapshot();
    }

    Map<String, String> reference;
    try (Driver d = new Driver(referenceDir)) {
      for (Case c : cases) {
        if (c.good()) {
          d.input.pipeInput(c.key(), c.value());
        }
      }
      assertEquals(good, d.output.getQueueSize());
      assertTrue(d.deadLetters.isEmpty());
      reference = d.snapshot();
    }
    assertFalse(reference.isEmpty());
    for (String key : FuzzCases.BAD_ONLY_KEYS) {
      assertFalse(fuzzed.containsKey("session " + key), key + " got a session");
    }
    assertEquals(reference.keySet(), fuzzed.keySet(), "the same store entries");
    assertEquals(reference, fuzzed, "byte-identical stores");
  }

  private static String header(TestRecord<byte[], byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
