package io.infinistreams.training.eval;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.tasks.prose.ProseSource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Whether the per-event surprise (bits per byte of an event given the stream before it, what the
 * processor reports as {@code surprise}) means something: a stream of held-out prose is cut into
 * events of about {@link #EVENT_BYTES} bytes, and one event in its second half is replaced by
 * another kind of text. The replacement should score clearly higher than its neighbours, or, when
 * it repeats an event from much earlier in the stream, clearly lower (what the memory is for).
 *
 * <ul>
 *   <li>{@link Kind#SHUFFLED}: the replaced event's own bytes in random order (the same bytes, no
 *       language);
 *   <li>{@link Kind#LOG_LINES}: application log lines (timestamps, levels, classes, numbers) among
 *       prose;
 *   <li>{@link Kind#REPEATED}: an exact copy of an event at least {@link #REPEAT_DISTANCE} bytes
 *       earlier, beyond the local window of any shipped configuration, so only the memory can make
 *       it cheaper.
 * </ul>
 *
 * Each trial compares the replacement's bits per byte with the mean of its two neighbours on each
 * side; a trial counts as separated when the replacement is above (below, for {@code REPEATED}) all
 * four.
 */
public final class SurpriseEval {
  /** Bytes per event, roughly: events end at the first space after this many bytes. */
  static final int EVENT_BYTES = 400;

  /** Events per stream; the replaced one is the {@link #REPLACED}th. */
  static final int EVENTS = 24;

  static final int REPLACED = 18;

  /** Least distance, in bytes, from a repeated event's first occurrence to its copy. */
  static final int REPEAT_DISTANCE = 4096;

  /** What replaces the event. */
  public enum Kind {
    SHUFFLED,
    LOG_LINES,
    REPEATED
  }

  /**
   * One kind's result.
   *
   * @param kind what replaced the event
   * @param trials streams scored
   * @param injectedBpb mean bits per byte of the replacement
   * @param neighboursBpb mean bits per byte of its four neighbours
   * @param separated share of trials where the replacement is above (below, for REPEATED) all four
   *     neighbours
   */
  public record Row(
      Kind kind, int trials, double injectedBpb, double neighboursBpb, double separated) {}

  private SurpriseEval() {}

  /** {@code trials} streams per kind from {@code prose}, drawn from {@code seed}. */
  public static List<Row> run(InfiniModel model, ProseSource prose, int trials, long seed) {
    List<Row> rows = new ArrayList<>();
    for (Kind kind : Kind.values()) {
      Random rng = new Random(seed * 31 + kind.ordinal());
      double injected = 0;
      double neighbours = 0;
      int separated = 0;
      for (int t = 0; t < trials; t++) {
        List<byte[]> events = events(prose, rng);
        events.set(REPLACED, replacement(kind, events, rng));
        double[] bpb = eventBitsPerByte(model, events);
        double[] around = {
          bpb[REPLACED - 2], bpb[REPLACED - 1], bpb[REPLACED + 1], bpb[REPLACED + 2]
        };
        injected += bpb[REPLACED];
        neighbours += Arrays.stream(around).average().orElseThrow();
        boolean apart =
            kind == Kind.REPEATED
                ? bpb[REPLACED] < Arrays.stream(around).min().orElseThrow()
                : bpb[REPLACED] > Arrays.stream(around).max().orElseThrow();
        separated += apart ? 1 : 0;
      }
      rows.add(
          new Row(
              kind, trials, injected / trials, neighbours / trials, separated / (double) trials));
    }
    return rows;
  }

  /** {@link #EVENTS} consecutive events of one prose passage, each cut after a space. */
  static List<byte[]> events(ProseSource prose, Random rng) {
    byte[] text =
        prose.passage(rng, EVENTS * (EVENT_BYTES + 80)).text().getBytes(StandardCharsets.UTF_8);
    List<byte[]> events = new ArrayList<>();
    int from = 0;
    while (events.size() < EVENTS) {
      int to = Math.min(text.length, from + EVENT_BYTES);
      while (to < text.length && text[to - 1] != ' ' && text[to - 1] != '\n') {
        to++; // ASCII spaces only: never inside a UTF-8 sequence
      }
      if (to <= from) {
        throw new IllegalStateException("prose passage too short for " + EVENTS + " events");
      }
      events.add(Arrays.copyOfRange(text, from, to));
      from = to;
    }
    return events;
  }

  /** What replaces event {@link #REPLACED} of {@code events}. */
  static byte[] replacement(Kind kind, List<byte[]> events, Random rng) {
    byte[] own = events.get(REPLACED);
    return switch (kind) {
      case SHUFFLED -> {
        byte[] b = own.clone();
        // shuffle only ASCII bytes among themselves, so the result stays valid UTF-8
        for (int i = b.length - 1; i > 0; i--) {
          int j = rng.nextInt(i + 1);
          if (b[i] >= 0 && b[j] >= 0) {
            byte x = b[i];
            b[i] = b[j];
            b[j] = x;
          }
        }
        yield b;
      }
      case LOG_LINES -> logLines(rng, own.length);
      case REPEATED -> {
        int before = 0;
        int last = -1;
        for (int i = REPLACED - 1; i >= 0; i--) {
          before += events.get(i).length;
          if (before >= REPEAT_DISTANCE) {
            last = i;
            break;
          }
        }
        if (last < 0) {
          throw new IllegalStateException("no event " + REPEAT_DISTANCE + " bytes back");
        }
        yield events.get(rng.nextInt(last + 1)).clone();
      }
    };
  }

  private static final String[] LEVELS = {"INFO", "WARN", "DEBUG", "ERROR"};
  private static final String[] SOURCES = {
    "o.a.k.c.p.internals.Sender",
    "o.a.k.s.p.internals.StreamThread",
    "o.a.k.c.c.internals.ConsumerCoordinator",
    "i.i.app.runtime.InfiniApp",
    "o.e.jetty.server.Server"
  };
  private static final String[] MESSAGES = {
    "Resetting sequence number of batch with current sequence %d for partition infini-input-%d",
    "stream-thread [StreamThread-%d] State transition from RUNNING to PARTITIONS_REVOKED after %d ms",
    "Committed offset %d for partition infini-output-%d",
    "Request joining group due to: need to re-join with the given member-id %d-%d",
    "Started ServerConnector@%x{HTTP/1.1}{127.0.0.1:%d}"
  };

  /** Log lines of about {@code bytes} bytes, ending with a newline and a space. */
  static byte[] logLines(Random rng, int bytes) {
    StringBuilder b = new StringBuilder();
    while (b.length() < bytes) {
      int m = rng.nextInt(MESSAGES.length);
      b.append(
              String.format(
                  Locale.ROOT,
                  "2026-%02d-%02d %02d:%02d:%02d,%03d %-5s [%s] - ",
                  1 + rng.nextInt(12),
                  1 + rng.nextInt(28),
                  rng.nextInt(24),
                  rng.nextInt(60),
                  rng.nextInt(60),
                  rng.nextInt(1000),
                  LEVELS[rng.nextInt(LEVELS.length)],
                  SOURCES[m]))
          .append(String.format(Locale.ROOT, MESSAGES[m], rng.nextInt(100_000), rng.nextInt(64)))
          .append('\n');
    }
    return b.append(' ').toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Bits per byte of each event given everything before it, the stream absorbed from a new state
   * (which holds BOS) in one call: the same numbers as event by event, since scores do not depend
   * on how a stream is split.
   */
  static double[] eventBitsPerByte(InfiniModel model, List<byte[]> events) {
    int total = events.stream().mapToInt(e -> e.length).sum();
    int[] stream = new int[total];
    int p = 0;
    for (byte[] e : events) {
      for (byte x : e) {
        stream[p++] = x & 0xFF;
      }
    }
    float[] lp = model.absorb(model.newState(), stream, true).logProbs();
    double[] bpb = new double[events.size()];
    int at = 0; // logProbs[i] scores stream[i] given BOS and stream[0 .. i-1]
    for (int i = 0; i < events.size(); i++) {
      int n = events.get(i).length;
      double nats = 0;
      for (int j = 0; j < n; j++) {
        nats -= lp[at + j];
      }
      bpb[i] = nats / n / Math.log(2);
      at += n;
    }
    return bpb;
  }
}
