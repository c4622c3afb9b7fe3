package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
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
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults()
          .withMaxEventTextBytes(256)
          .withAbsorbChunkTokens(7)
          .withMaxNewTokensLimit(32);
  private static final List<String> GOOD_KEYS = List.of("good-0", "good-1", "gööd/2 ✓", "😀");
  private static final List<String> BAD_ONLY_KEYS = List.of("bad-0", "bad-1");

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

  /** The ways a record is broken; each names the dead-letter reason it must get. */
  private enum Fault {
    RANDOM_BYTES(DeadLetterReason.UNDECODABLE),
    EMPTY_VALUE(DeadLetterReason.UNDECODABLE),
    NULL_VALUE(DeadLetterReason.UNDECODABLE),
    TRUNCATED(DeadLetterReason.UNDECODABLE),
    TRAILING_BYTES(DeadLetterReason.UNDECODABLE),
    WRONG_MAGIC(DeadLetterReason.UNDECODABLE),
    UNKNOWN_FINGERPRINT(DeadLetterReason.UNDECODABLE),
    NULL_KEY(DeadLetterReason.NULL_KEY),
    HUGE_KEY(DeadLetterReason.INVALID_KEY),
    INVALID_UTF8_KEY(DeadLetterReason.INVALID_KEY),
    TEXT_TOO_LARGE(DeadLetterReason.TEXT_TOO_LARGE),
    ABSURD_SETTINGS(DeadLetterReason.INVALID_SETTINGS),
    UNKNOWN_KIND(DeadLetterReason.UNKNOWN_KIND),
    NEGATIVE_SEQ(DeadLetterReason.INVALID_SEQUENCE),
    SEQ_BACKWARDS(DeadLetterReason.DUPLICATE_SEQ),
    SEQ_REPEATED(DeadLetterReason.DUPLICATE_SEQ),
    SEQ_HUGE(DeadLetterReason.SEQ_GAP);

    final DeadLetterReason reason;

    Fault(DeadLetterReason reason) {
      this.reason = reason;
    }
  }

  /** One input record and what it must produce: a dead letter ({@code fault}) or an output. */
  private record Case(int index, byte[] key, byte[] value, Fault fault, String streamId, long seq) {
    boolean good() {
      return fault == null;
    }

    String describe() {
      return "record "
          + index
          + (good() ? " (good, stream " + streamId + " seq " + seq + ")" : " (" + fault + ")");
    }
  }

  /** The fixed-seed records: about one in six good, the rest broken in one way each. */
  private static List<Case> cases() {
    Random r = new Random(SEED);
    Map<String, Long> last = new HashMap<>();
    GOOD_KEYS.forEach(k -> last.put(k, 0L));
    Fault[] faults = Fault.values();
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < RECORDS; i++) {
      String goodKey = GOOD_KEYS.get(r.nextInt(GOOD_KEYS.size()));
      long next = last.get(goodKey) + 1;
      if (r.nextInt(6) == 0) {
        InputEvent e = goodEvent(r, next);
        cases.add(new Case(i, utf8(goodKey), encode(e), null, goodKey, next));
        last.put(goodKey, next);
        continue;
      }
      Fault fault = faults[r.nextInt(faults.length)];
      // a value fault hits a good stream (whose state must not change) or a stream never applied
      String key = r.nextInt(4) == 0 ? BAD_ONLY_KEYS.get(r.nextInt(BAD_ONLY_KEYS.size())) : goodKey;
      long seq = BAD_ONLY_KEYS.contains(key) ? 1 : next;
      long lastSeq = seq - 1;
      byte[] k = utf8(key);
      byte[] v;
      switch (fault) {
        case RANDOM_BYTES -> {
          v = new byte[r.nextInt(80)];
          r.nextBytes(v);
          if (v.length > 0 && v[0] == (byte) 0xC3) {
            v[0] = 0; // never the single-object marker: always undecodable
          }
        }
        case EMPTY_VALUE -> v = new byte[0];
        case NULL_VALUE -> v = null;
        case TRUNCATED -> {
          byte[] whole = encode(goodEvent(r, seq));
          v = Arrays.copyOf(whole, r.nextInt(whole.length));
        }
        case TRAILING_BYTES -> {
          byte[] whole = encode(goodEvent(r, seq));
          byte[] tail = new byte[1 + r.nextInt(8)];
          r.nextBytes(tail);
          v = Arrays.copyOf(whole, whole.length + tail.length);
          System.arraycopy(tail, 0, v, whole.length, tail.length);
        }
        case WRONG_MAGIC -> {
          v = encode(goodEvent(r, seq));
          int at = r.nextInt(2);
          v[at] = (byte) (v[at] ^ (1 + r.nextInt(255)));
        }
        case UNKNOWN_FINGERPRINT -> {
          v = encode(goodEvent(r, seq));
          int at = 2 + r.nextInt(8);
          v[at] = (byte) (v[at] ^ (1 << r.nextInt(8)));
        }
        case NULL_KEY -> {
          k = null;
          v = encode(goodEvent(r, seq));
        }
        case HUGE_KEY -> {
          k = utf8("k".repeat(SETTINGS.maxStreamIdBytes() + 1 + r.nextInt(5000)));
          v = encode(goodEvent(r, 1));
        }
        case INVALID_UTF8_KEY -> {
          byte[][] broken = {
            {(byte) 0xFF}, {(byte) 0xC3, 0x28}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            {(byte) 0xC0, (byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0x80}
          };
          byte[] bad = broken[r.nextInt(broken.length)];
          byte[] prefix = utf8(goodKey);
          k = Arrays.copyOf(prefix, prefix.length + bad.length);
          System.arraycopy(bad, 0, k, prefix.length, bad.length);
          v = encode(goodEvent(r, 1));
        }
        case TEXT_TOO_LARGE -> {
          int limit = SETTINGS.maxEventTextBytes();
          String text =
              r.nextBoolean()
                  ? "x".repeat(limit + 1 + r.nextInt(2000))
                  : "é".repeat(limit / 2 + 1 + r.nextInt(100)); // few chars, too many bytes
          EventKind kind = r.nextBoolean() ? EventKind.APPEND : EventKind.GENERATE;
          v = encode(event(seq, kind, text, new Generation(2, 0f, 1L, PromptFormat.RAW)));
        }
        case ABSURD_SETTINGS -> {
          int[] tokens = {
            -1, Integer.MIN_VALUE, SETTINGS.maxNewTokensLimit() + 1, Integer.MAX_VALUE
          };
          float[] temperatures = {
            Float.NaN, -0.5f, -Float.MIN_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY
          };
          Generation g =
              r.nextBoolean()
                  ? new Generation(tokens[r.nextInt(tokens.length)], 0f, 3L, PromptFormat.CHAT)
                  : new Generation(
                      2, temperatures[r.nextInt(temperatures.length)], 3L, PromptFormat.RAW);
          v = encode(event(seq, EventKind.GENERATE, text(r), g));
        }
        case UNKNOWN_KIND ->
            v =
                encode(
                    event(
                        seq,
                        EventKind.UNKNOWN,
                        text(r),
                        new Generation(0, 0f, 0L, PromptFormat.RAW)));
        case NEGATIVE_SEQ -> {
          long[] negatives = {-1, Long.MIN_VALUE, -1 - r.nextInt(1_000_000)};
          v = encode(withSeq(goodEvent(r, 1), negatives[r.nextInt(negatives.length)]));
        }
        case SEQ_BACKWARDS ->
            v = encode(withSeq(goodEvent(r, 1), lastSeq <= 0 ? 0 : r.nextLong(lastSeq)));
        case SEQ_REPEATED -> v = encode(withSeq(goodEvent(r, 1), lastSeq));
        case SEQ_HUGE -> {
          long[] far = {Long.MAX_VALUE, seq + 1, seq + 1 + r.nextInt(1 << 20), 1L << 62};
          v = encode(withSeq(goodEvent(r, 1), far[r.nextInt(far.length)]));
        }
        default -> throw new AssertionError(fault);
      }
      cases.add(new Case(i, k, v, fault, null, -1));
    }
    return cases;
  }

  private static InputEvent goodEvent(Random r, long seq) {
    int pick = r.nextInt(20);
    if (pick < 15) {
      return event(seq, EventKind.APPEND, text(r), new Generation(0, 0f, 0L, PromptFormat.RAW));
    }
    if (pick < 19) {
      PromptFormat format = r.nextBoolean() ? PromptFormat.RAW : PromptFormat.CHAT;
      float temperature = r.nextBoolean() ? 0f : 0.8f;
      return event(
          seq,
          EventKind.GENERATE,
          text(r),
          new Generation(r.nextInt(3), temperature, r.nextLong(), format));
    }
    return event(seq, EventKind.RESET, "", new Generation(0, 0f, 0L, PromptFormat.RAW));
  }

  private static InputEvent event(long seq, EventKind kind, String text, Generation generation) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(kind)
        .setText(text)
        .setGeneration(generation)
        .setEventTime(T0)
        .setMetadata(Map.of("n", Long.toString(seq)))
        .build();
  }

  private static InputEvent withSeq(InputEvent e, long seq) {
    return InputEvent.newBuilder(e).setSeq(seq).build();
  }

  /** Up to 24 characters, some of them multi-byte. */
  private static String text(Random r) {
    String[] pieces = {"a", "b", "the ", "key ", "42", "é", "東", "😀", "\n", " "};
    StringBuilder sb = new StringBuilder();
    int n = r.nextInt(12);
    for (int i = 0; i < n; i++) {
      sb.append(pieces[r.nextInt(pieces.length)]);
    }
    return sb.toString();
  }

  private static byte[] encode(InputEvent e) {
    return InfiniTopology.INPUT_SERDE.serialize("t", e);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
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
    List<Case> cases = cases();
    long good = cases.stream().filter(Case::good).count();
    EnumMap<Fault, Integer> perFault = new EnumMap<>(Fault.class);
    cases.stream().filter(c -> !c.good()).forEach(c -> perFault.merge(c.fault(), 1, Integer::sum));
    assertEquals(Fault.values().length, perFault.size(), "every fault occurs: " + perFault);
    assertTrue(good >= 1000, "good records: " + good);

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
    for (String key : BAD_ONLY_KEYS) {
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
