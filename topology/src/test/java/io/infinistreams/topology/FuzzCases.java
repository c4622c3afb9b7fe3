package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.streams.state.KeyValueIterator;

/**
 * Fixed-seed input records, mostly bad (undecodable, truncated or mutated values, bad keys,
 * oversized text, absurd generation settings, wrong sequence numbers, imports of broken snapshots),
 * mixed with good events for a few streams (APPEND, GENERATE, RESET, and DELETE, after which a
 * stream starts again at seq 1), each with the outcome it must have: for the processor's fuzz
 * tests, under TopologyTestDriver ({@code ProcessorFuzzTest}) and through a broker (the
 * application's tests). The records fit {@link #SETTINGS}.
 */
public final class FuzzCases {
  /** The settings the records are made for (the limits their faults cross). */
  public static final TopologySettings SETTINGS =
      TopologySettings.defaults()
          .withMaxEventTextBytes(256)
          .withAbsorbChunkTokens(7)
          .withMaxNewTokensLimit(32);

  /** Streams that get good events (and bad ones). */
  public static final List<String> GOOD_KEYS = List.of("good-0", "good-1", "gööd/2 ✓", "😀");

  /** Streams that get only bad events: they must never get a session. */
  public static final List<String> BAD_ONLY_KEYS = List.of("bad-0", "bad-1");

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private FuzzCases() {}

  /** The ways a record is broken; each names the dead-letter reason it must get. */
  public enum Fault {
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
    SEQ_HUGE(DeadLetterReason.SEQ_GAP),
    BAD_SNAPSHOT(DeadLetterReason.INVALID_SNAPSHOT);

    public final DeadLetterReason reason;

    Fault(DeadLetterReason reason) {
      this.reason = reason;
    }
  }

  /** One input record and what it must produce: a dead letter ({@code fault}) or an output. */
  public record Case(int index, byte[] key, byte[] value, Fault fault, String streamId, long seq) {
    public boolean good() {
      return fault == null;
    }

    public String describe() {
      return "record "
          + index
          + (good() ? " (good, stream " + streamId + " seq " + seq + ")" : " (" + fault + ")");
    }
  }

  /** {@code records} fixed-seed records: about one in six good, the rest broken in one way each. */
  public static List<Case> cases(long seed, int records) {
    Random r = new Random(seed);
    Map<String, Long> last = new HashMap<>();
    GOOD_KEYS.forEach(k -> last.put(k, 0L));
    Fault[] faults = Fault.values();
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < records; i++) {
      String goodKey = GOOD_KEYS.get(r.nextInt(GOOD_KEYS.size()));
      long next = last.get(goodKey) + 1;
      if (r.nextInt(6) == 0) {
        InputEvent e = goodEvent(r, next);
        cases.add(new Case(i, utf8(goodKey), encode(e), null, goodKey, next));
        last.put(goodKey, e.getKind() == EventKind.DELETE ? 0 : next); // a DELETE restarts at 1
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
        case BAD_SNAPSHOT -> {
          // an IMPORT at the right seq whose snapshot is missing, random or cut short
          byte[] snapshot = r.nextInt(3) == 0 ? null : new byte[r.nextInt(64)];
          if (snapshot != null) {
            r.nextBytes(snapshot);
          }
          InputEvent e =
              event(seq, EventKind.IMPORT, "", new Generation(0, 0f, 0L, PromptFormat.RAW));
          e.setSnapshot(snapshot == null ? null : ByteBuffer.wrap(snapshot));
          v = encode(e);
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
    // a RESET, or a DELETE: the stream is removed and its next event is seq 1
    EventKind kind = r.nextBoolean() ? EventKind.RESET : EventKind.DELETE;
    return event(seq, kind, "", new Generation(0, 0f, 0L, PromptFormat.RAW));
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

  /** The content of the processor's two stores. */
  public record Stores(
      Map<String, StoredSession> sessions, Map<MemoryKey, StoredHeadMemory> memory) {}

  /**
   * The stores after the good records of {@code cases} alone, applied by {@code model} under
   * TopologyTestDriver (state in {@code stateDir}): what any run of all the cases must leave, since
   * no rejected record may leave a trace. Sessions carry the driver's wall clock in {@code
   * lastAppliedMillis}.
   */
  public static Stores reference(InfiniModel model, List<Case> cases, Path stateDir) {
    try (TopologyHarness h =
        new TopologyHarness(SETTINGS, model, ProcessorMetrics.NONE, stateDir)) {
      for (Case c : cases) {
        if (c.good()) {
          h.input.pipeInput(c.key(), c.value());
        }
      }
      Map<String, StoredSession> sessions = new TreeMap<>();
      try (KeyValueIterator<String, StoredSession> it = h.sessions.all()) {
        it.forEachRemaining(kv -> sessions.put(kv.key, kv.value));
      }
      Map<MemoryKey, StoredHeadMemory> memory = new LinkedHashMap<>();
      try (KeyValueIterator<MemoryKey, StoredHeadMemory> it = h.memory.all()) {
        it.forEachRemaining(kv -> memory.put(kv.key, kv.value));
      }
      return new Stores(sessions, memory);
    }
  }
}
