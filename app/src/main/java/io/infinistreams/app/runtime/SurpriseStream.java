package io.infinistreams.app.runtime;

import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.Utf8;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The stream of {@code infini demo --task surprise}, built as the evaluation's surprise measurement
 * (the training tool's {@code SurpriseEval}) builds its streams: consecutive events of about {@code
 * eventBytes} bytes of one prose passage, each ending after the first space or newline past that
 * size, with one event replaced by another kind of text ({@link Inject}). The replacement should
 * cost clearly more bits per byte than its two neighbours on each side or, when it repeats an event
 * from far back, clearly fewer.
 *
 * @param events the events' texts, in order, the injected one included
 * @param injectedAt index (from 0) of the injected event
 * @param inject what it is
 * @param copyOf for {@link Inject#REPEAT}, the index of the event it copies; -1 otherwise
 * @param corpus the corpus the prose came from
 */
public record SurpriseStream(
    List<String> events, int injectedAt, Inject inject, int copyOf, String corpus) {

  /** Events per stream, as the evaluation's. */
  public static final int EVENTS = 24;

  /** Bytes per event, roughly, as the evaluation's. */
  public static final int EVENT_BYTES = 400;

  /**
   * How far (in bytes, from its start to the injected event) a repeated event is at least, when the
   * stream is long enough: beyond the local window of any shipped configuration, so only the memory
   * can make the copy cheaper. In a shorter stream the first event is repeated.
   */
  public static final int REPEAT_DISTANCE = 4096;

  /** Fewest events: two neighbours on each side of the injected one, and one before them. */
  public static final int MIN_EVENTS = 6;

  /** Smallest {@code eventBytes}. */
  public static final int MIN_EVENT_BYTES = 16;

  /** What replaces the event. */
  public enum Inject {
    /** The replaced event's own bytes in random order (the ASCII ones among themselves). */
    SHUFFLED("shuffled"),
    /** Application log lines (timestamps, levels, classes, numbers) among prose. */
    LOG("log"),
    /** An exact copy of an earlier event. */
    REPEAT("repeat");

    private final String option;

    Inject(String option) {
      this.option = option;
    }

    /** As {@code --inject} names it. */
    public String option() {
      return option;
    }

    /** The kind {@code --inject} calls {@code option}. */
    public static Inject of(String option) {
      for (Inject i : values()) {
        if (i.option.equals(option)) {
          return i;
        }
      }
      throw new IllegalArgumentException("no kind '" + option + "' (kinds: shuffled, log, repeat)");
    }
  }

  /**
   * Where the evaluation injects in a stream of {@code events} (its event 19 of 24), as an index
   * from 0: about four fifths in, with two neighbours on each side.
   */
  public static int defaultInjectedAt(int events) {
    return Math.max(2, Math.min(events - 3, Math.round(events * 19f / 24) - 1));
  }

  /**
   * The stream of {@code events} events of about {@code eventBytes} bytes drawn from {@code prose},
   * event {@code injectedAt} (from 0) replaced by {@code inject}: the prose is drawn with {@code
   * new Random(seed)} (the same for every kind), the injected text with {@code new Random(seed * 31
   * + inject.ordinal())}.
   *
   * @throws IllegalArgumentException if the sizes or the position do not fit
   */
  public static SurpriseStream build(
      ProseSource prose, int events, int eventBytes, int injectedAt, Inject inject, long seed) {
    if (events < MIN_EVENTS) {
      throw new IllegalArgumentException("at least " + MIN_EVENTS + " events, got " + events);
    }
    if (eventBytes < MIN_EVENT_BYTES) {
      throw new IllegalArgumentException(
          "events of at least " + MIN_EVENT_BYTES + " bytes, got " + eventBytes);
    }
    if (injectedAt < 2 || injectedAt > events - 3) {
      throw new IllegalArgumentException(
          "the injected event needs two neighbours on each side: event 3 to "
              + (events - 2)
              + " of "
              + events
              + ", got "
              + (injectedAt + 1));
    }
    ProseSource.Passage passage =
        prose.passage(new Random(seed), events * (eventBytes + slack(eventBytes) + 4));
    List<byte[]> cut = cut(passage.text().getBytes(StandardCharsets.UTF_8), events, eventBytes);
    Random rng = new Random(seed * 31 + inject.ordinal());
    byte[] own = cut.get(injectedAt);
    int copyOf = -1;
    byte[] injected =
        switch (inject) {
          case SHUFFLED -> shuffled(own, rng);
          case LOG -> logLines(rng, own.length).getBytes(StandardCharsets.UTF_8);
          case REPEAT -> {
            copyOf = rng.nextInt(farthestRepeatable(cut, injectedAt) + 1);
            yield cut.get(copyOf).clone();
          }
        };
    cut.set(injectedAt, injected);
    List<String> texts = new ArrayList<>();
    for (byte[] e : cut) {
      texts.add(new String(e, StandardCharsets.UTF_8));
    }
    return new SurpriseStream(List.copyOf(texts), injectedAt, inject, copyOf, passage.corpus());
  }

  /** How far past {@code eventBytes} an event may run to end after a space or newline. */
  private static int slack(int eventBytes) {
    return Math.max(8, eventBytes / 4);
  }

  /**
   * {@code count} consecutive events from the start of {@code text}: each of {@code eventBytes}
   * bytes, extended to end after the next space or newline if one comes within {@link #slack}
   * bytes, else cut before the character that byte {@code eventBytes} belongs to.
   */
  static List<byte[]> cut(byte[] text, int count, int eventBytes) {
    List<byte[]> events = new ArrayList<>();
    int from = 0;
    while (events.size() < count) {
      if (from + eventBytes > text.length) {
        throw new IllegalArgumentException(
            "the prose passage is too short for " + count + " events of " + eventBytes + " bytes");
      }
      int to = from + eventBytes;
      int limit = Math.min(text.length, to + slack(eventBytes));
      int end = to;
      while (end < limit && text[end - 1] != ' ' && text[end - 1] != '\n') {
        end++;
      }
      if (text[end - 1] == ' ' || text[end - 1] == '\n') {
        to = end; // ASCII: never inside a UTF-8 sequence
      } else {
        while (to < text.length && Utf8.isContinuation(text[to])) {
          to--;
        }
      }
      events.add(Arrays.copyOfRange(text, from, to));
      from = to;
    }
    return events;
  }

  /**
   * The largest index of an event that starts at least {@link #REPEAT_DISTANCE} bytes before event
   * {@code injectedAt}; 0 if none does.
   */
  private static int farthestRepeatable(List<byte[]> events, int injectedAt) {
    int before = 0;
    for (int i = injectedAt - 1; i > 0; i--) {
      before += events.get(i).length;
      if (before >= REPEAT_DISTANCE) {
        return i;
      }
    }
    return 0;
  }

  /**
   * {@code bytes} with its ASCII bytes in random order among their own positions (multi-byte
   * characters stay where they are, so the result is UTF-8 again): a permutation of {@code bytes}.
   */
  static byte[] shuffled(byte[] bytes, Random rng) {
    int[] ascii = new int[bytes.length];
    int n = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] >= 0) {
        ascii[n++] = i;
      }
    }
    byte[] out = bytes.clone();
    for (int k = n - 1; k > 0; k--) {
      int j = rng.nextInt(k + 1);
      byte x = out[ascii[k]];
      out[ascii[k]] = out[ascii[j]];
      out[ascii[j]] = x;
    }
    return out;
  }

  private static final DateTimeFormatter LOG_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS", Locale.ROOT);

  /** Logger, level and message (with two numbers to fill in) of a log line. */
  private static final String[][] LOG_LINES = {
    {"o.a.k.clients.producer.internals.Sender", "WARN", "Got error produce response %d on %d"},
    {"o.a.k.streams.processor.internals.StreamThread", "INFO", "Processed %d records in %d ms"},
    {"o.a.k.clients.consumer.internals.Fetcher", "DEBUG", "Fetch offset %d for partition %d"},
    {"io.infinistreams.topology.InfiniProcessor", "INFO", "Absorbed %d tokens for key user-%d"},
    {"org.eclipse.jetty.server.Server", "ERROR", "Request %d failed with status %d"},
    {"o.a.k.streams.state.internals.RocksDBStore", "INFO", "Flushed %d bytes of store %d"}
  };

  /**
   * Log lines of about {@code bytes} bytes (whole lines, the last just past that size), at
   * increasing times from a random start.
   */
  static String logLines(Random rng, int bytes) {
    LocalDateTime time =
        LocalDateTime.of(2026, 1 + rng.nextInt(12), 1 + rng.nextInt(28), rng.nextInt(24), 0)
            .plusSeconds(rng.nextInt(3600));
    StringBuilder log = new StringBuilder();
    while (log.length() < bytes) {
      time = time.plusNanos(rng.nextInt(5_000) * 1_000_000L);
      String[] line = LOG_LINES[rng.nextInt(LOG_LINES.length)];
      log.append(time.format(LOG_TIME))
          .append(String.format(Locale.ROOT, " %-5s [%s] ", line[1], line[0]))
          .append(String.format(Locale.ROOT, line[2], rng.nextInt(1_000_000), rng.nextInt(100)))
          .append('\n');
    }
    return log.toString();
  }

  /** UTF-8 bytes of event {@code i}. */
  public int bytes(int i) {
    return events.get(i).getBytes(StandardCharsets.UTF_8).length;
  }

  /** UTF-8 bytes of all events. */
  public long totalBytes() {
    long n = 0;
    for (int i = 0; i < events.size(); i++) {
      n += bytes(i);
    }
    return n;
  }

  /** Bytes from the start of the repeated event to the injected one; 0 unless {@link #copyOf}. */
  public long repeatDistance() {
    long n = 0;
    for (int i = copyOf < 0 ? injectedAt : copyOf; i < injectedAt; i++) {
      n += bytes(i);
    }
    return n;
  }

  /**
   * The injected event's bits per byte against its neighbours'.
   *
   * @param injected the injected event's
   * @param neighbours the mean of its two neighbours' on each side
   * @param apart whether it is above all four (below, for {@link Inject#REPEAT})
   */
  public record Comparison(double injected, double neighbours, boolean apart) {}

  /** {@link Comparison} of {@code bitsPerByte}, one per event, as the evaluation compares. */
  public Comparison compare(double[] bitsPerByte) {
    if (bitsPerByte.length != events.size()) {
      throw new IllegalArgumentException(
          bitsPerByte.length + " values for " + events.size() + " events");
    }
    int i = injectedAt;
    double[] around = {
      bitsPerByte[i - 2], bitsPerByte[i - 1], bitsPerByte[i + 1], bitsPerByte[i + 2]
    };
    double x = bitsPerByte[i];
    boolean apart =
        inject == Inject.REPEAT
            ? x < Arrays.stream(around).min().orElseThrow()
            : x > Arrays.stream(around).max().orElseThrow();
    return new Comparison(x, Arrays.stream(around).average().orElseThrow(), apart);
  }
}
