package io.infinistreams.app.bench;

import io.infinistreams.app.bench.SessionLoad.Event;
import io.infinistreams.app.bench.SessionLoad.Recorder;
import io.infinistreams.app.bench.SessionLoad.Session;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import io.infinistreams.app.ops.Tls;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.ModelLoader;
import io.infinistreams.app.runtime.StreamsWiring;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.EventKind;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Many sessions at once through the whole pipeline (embedded KRaft broker, exactly-once v2,
 * RocksDB, changelogs), in one run:
 *
 * <ol>
 *   <li>a chat-like load: {@code --sessions} streams sending APPENDs of about {@code --event-bytes}
 *       bytes of chat text and now and then a GENERATE, for {@code --seconds}, in a closed loop
 *       ({@code --window} events in flight per session) or at an offered {@code --rate}; run twice,
 *       with the open-segment cache ({@code surprise.cache.bytes}) as configured and at 0, each on
 *       a fresh broker and state folder;
 *   <li>a bulk load: {@code --bulk-sessions} streams sending {@code --bulk-bytes} APPENDs;
 *   <li>a fairness probe: GENERATEs on one stream, on an idle pipeline and while another stream (on
 *       another partition) receives a {@code --feed-kb} feed.
 * </ol>
 *
 * <p>Every event's round trip is timed in this process, from its send to its output event (matched
 * by stream id and seq); events/s count answered events from the first send to the last answer. The
 * open-segment cache's counters come from the operations server's {@code /metrics}.
 */
@Command(
    name = "bench-sessions",
    mixinStandardHelpOptions = true,
    description =
        "Measure many sessions at once end to end: a chat-like load with and without the"
            + " open-segment cache, a bulk load, and the latency of one stream's GENERATE while"
            + " another receives a long feed.")
public final class SessionsBench implements Callable<Integer> {

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--sessions",
      defaultValue = "1000",
      description = "Streams of the chat-like load; 0 skips it (default ${DEFAULT-VALUE}).")
  int sessions;

  @Option(
      names = "--seconds",
      defaultValue = "30",
      description =
          "How long each chat-like load sends, after its warm-up; then it waits for every"
              + " answer (default ${DEFAULT-VALUE}).")
  double seconds;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description =
          "Offered events/s of the chat-like load, to random sessions; 0: closed loop with"
              + " --window events in flight per session (default ${DEFAULT-VALUE}).")
  double rate;

  @Option(
      names = "--window",
      defaultValue = "1",
      description = "Events in flight per session in the closed loop (default ${DEFAULT-VALUE}).")
  int window;

  @Option(
      names = "--event-bytes",
      defaultValue = "100",
      description =
          "About how many bytes of chat text an APPEND carries (default ${DEFAULT-VALUE}).")
  int eventBytes;

  @Option(
      names = "--generate-every",
      defaultValue = "20",
      description =
          "One event in this many (at random) is a GENERATE; 0: none (default ${DEFAULT-VALUE}).")
  int generateEvery;

  @Option(
      names = "--generate-tokens",
      defaultValue = "16",
      description = "maxNewTokens of every GENERATE (default ${DEFAULT-VALUE}).")
  int generateTokens;

  @Option(
      names = "--bulk-sessions",
      defaultValue = "50",
      description = "Streams of the bulk load; 0 skips it (default ${DEFAULT-VALUE}).")
  int bulkSessions;

  @Option(
      names = "--bulk-bytes",
      defaultValue = "16384",
      description =
          "Bytes of each bulk APPEND and of each event of the feed, at most"
              + " event.max.text.bytes (default ${DEFAULT-VALUE}).")
  int bulkBytes;

  @Option(
      names = "--bulk-seconds",
      defaultValue = "20",
      description =
          "How long the bulk load sends (one event in flight per session); then it waits for"
              + " every answer (default ${DEFAULT-VALUE}).")
  double bulkSeconds;

  @Option(
      names = "--feed-kb",
      defaultValue = "512",
      description =
          "KiB fed to one stream during the fairness probe; 0 skips the probe (default"
              + " ${DEFAULT-VALUE}).")
  int feedKb;

  @Option(
      names = "--probes",
      defaultValue = "5",
      description =
          "GENERATE probes of the fairness probe, on the idle pipeline and during the feed"
              + " (default ${DEFAULT-VALUE}).")
  int probes;

  @Option(
      names = "--cache-off-first",
      description =
          "Run the chat-like load with surprise.cache.bytes=0 first (default: as configured"
              + " first, followed by the bulk load and the fairness probe on the same processor).")
  boolean cacheOffFirst;

  @Option(
      names = "--random",
      paramLabel = "tiny|default",
      description = "Random weights of this shape instead of the shipped checkpoint.")
  String random;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the texts and of the choice of events (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--set", description = "Extra configuration key=value (repeatable).")
  List<String> sets = new ArrayList<>();

  @Option(
      names = "--compare-set",
      paramLabel = "KEY=VALUE",
      description =
          "Compare configurations instead of cache sizes: run the loads (chat-like with the"
              + " configured cache, bulk, fairness) on a processor as configured and on one with"
              + " this key=value added after --set (repeatable), and print them side by side.")
  List<String> compareSets = new ArrayList<>();

  @Option(
      names = "--compare-first",
      description = "With --compare-set: run the compared configuration first.")
  boolean compareFirst;

  private static final Duration DRAIN = Duration.ofMinutes(20);

  /** The prompt of every fairness probe. */
  static final String PROBE_PROMPT = "What is the capital of France?";

  private Result result;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SessionsBench()).execute(args));
  }

  /** The open-segment cache's counters, read from {@code /metrics}. */
  record CacheCounters(double reused, double recomputed, double cacheBytes) {
    CacheCounters minus(CacheCounters before) {
      return new CacheCounters(reused - before.reused, recomputed - before.recomputed, cacheBytes);
    }

    /** Share of scoring calls that continued from a cached open segment. */
    double reusedShare() {
      double all = reused + recomputed;
      return all == 0 ? Double.NaN : reused / all;
    }
  }

  /** One chat-like load at one cache size. */
  record ChatRun(long cacheBytes, Recorder load, CacheCounters cache) {}

  /** The fairness probe: GENERATEs idle and during a feed, and the feed. */
  record Fairness(
      String probeKey,
      int probePartition,
      String feedKey,
      int feedPartition,
      Recorder idle,
      Recorder during,
      Recorder feed) {}

  /**
   * One processor of the run, on its own broker and state folder: its label, configuration and what
   * it measured (null for a load it did not run).
   */
  record Run(String label, AppConfig config, ChatRun chat, Recorder bulk, Fairness fairness) {}

  /** Everything one run measured, and the check that every event was answered exactly once. */
  record Result(
      String model,
      AppConfig config,
      boolean comparing,
      List<Run> runs,
      long sent,
      long answered,
      long unmatched,
      List<String> rejections,
      double loadBefore,
      double loadAfter,
      Instant started,
      double wallSeconds) {

    /** The chat-like loads, in the order run. */
    List<ChatRun> chat() {
      return runs.stream().map(Run::chat).filter(c -> c != null).toList();
    }

    /** The bulk load of the first processor. */
    Recorder bulk() {
      return runs.get(0).bulk();
    }

    /** The fairness probe of the first processor. */
    Fairness fairness() {
      return runs.get(0).fairness();
    }
  }

  /** A processor to start: label, configuration, cache size, and whether bulk and fairness run. */
  private record Plan(String label, AppConfig config, long cacheBytes, boolean more) {}

  /** What the last {@link #call()} measured (for tests). */
  Result result() {
    return result;
  }

  @Override
  public Integer call() throws Exception {
    validate();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path scratch = Files.createTempDirectory("infini-bench-sessions");
    try {
      AppConfig config = config(scratch, List.of());
      List<Plan> plans = plans(config, scratch);
      double loadBefore = loadAverage();
      Instant started = Instant.now();
      long t0 = System.nanoTime();
      ModelLoader.Loaded loaded = ModelLoader.load(config);
      List<Run> runs = new ArrayList<>();
      long sent = 0;
      long answered = 0;
      long unmatched = 0;
      List<String> rejections = new ArrayList<>();
      try (InfiniModel model = loaded.model()) {
        for (int i = 0; i < plans.size(); i++) {
          Plan plan = plans.get(i);
          String mode = "run-" + i;
          AppConfig c =
              plan.config()
                  .with(ConfigKeys.SURPRISE_CACHE_BYTES, Long.toString(plan.cacheBytes()))
                  .with(ConfigKeys.EMBEDDED_BROKER_DIR, scratch.resolve(mode + "-kafka").toString())
                  .with(ConfigKeys.STATE_DIR, scratch.resolve(mode + "-state").toString());
          progress(err, "processor %d of %d: %s", i + 1, plans.size(), plan.label());
          try (InfiniApp app = InfiniApp.start(c, model, Duration.ofMinutes(3));
              SessionLoad load = new SessionLoad(c, app.bootstrapServers())) {
            ChatRun chat = sessions > 0 ? chatRun(app, load, plan.cacheBytes(), err) : null;
            Recorder bulk = plan.more() && bulkSessions > 0 ? bulkRun(load, err) : null;
            Fairness fairness =
                plan.more() && feedKb > 0 && probes > 0 ? fairnessRun(load, err) : null;
            runs.add(new Run(plan.label(), c, chat, bulk, fairness));
            sent += load.sentTotal();
            answered += load.answeredTotal();
            unmatched += load.unmatched();
            rejections.addAll(load.rejections());
          }
        }
      }
      result =
          new Result(
              loaded.description(),
              config,
              !compareSets.isEmpty(),
              runs,
              sent,
              answered,
              unmatched,
              rejections,
              loadBefore,
              loadAverage(),
              started,
              (System.nanoTime() - t0) / 1e9);
      out.println(report(result));
      out.flush();
      return rejections.isEmpty() && unmatched == 0 && sent == answered ? 0 : 1;
    } finally {
      deleteRecursively(scratch);
    }
  }

  private void validate() {
    if (sessions < 0 || seconds <= 0 || window < 1 || eventBytes < 8 || rate < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--sessions must be >= 0, --window >= 1, --seconds > 0, --event-bytes >= 8,"
              + " --rate >= 0");
    }
    if (compareFirst && compareSets.isEmpty()) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--compare-first needs --compare-set");
    }
    if (cacheOffFirst && !compareSets.isEmpty()) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--cache-off-first compares cache sizes, --compare-set configurations: use one");
    }
    if (generateEvery < 0 || generateTokens < 1 || bulkSessions < 0 || feedKb < 0 || probes < 0) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--generate-every, --bulk-sessions, --feed-kb, --probes must be >= 0,"
              + " --generate-tokens >= 1");
    }
  }

  /**
   * The processors to start, in order. Comparing configurations (--compare-set): the configured one
   * and the compared one, each running every load. Otherwise the chat-like load with the cache as
   * configured and at 0 (--cache-off-first swaps them), bulk and fairness on the first; without a
   * chat-like load (--sessions 0) only the first.
   */
  private List<Plan> plans(AppConfig config, Path scratch) {
    long configured = config.surpriseCacheBytes();
    List<Plan> plans = new ArrayList<>();
    if (!compareSets.isEmpty()) {
      AppConfig other = config(scratch, compareSets);
      plans.add(new Plan("as configured", config, configured, true));
      plans.add(new Plan(String.join(" ", compareSets), other, configured, true));
      if (compareFirst) {
        Collections.reverse(plans);
      }
      return plans;
    }
    long[] order = cacheOffFirst ? new long[] {0, configured} : new long[] {configured, 0};
    for (int i = 0; i < (sessions > 0 ? order.length : 1); i++) {
      plans.add(new Plan("surprise.cache.bytes=" + order[i], config, order[i], i == 0));
    }
    return plans;
  }

  private AppConfig config(Path scratch, List<String> extra) {
    AppConfig.Builder builder =
        AppConfig.builder()
            .override(ConfigKeys.EMBEDDED_BROKER_DIR, scratch.resolve("kafka").toString())
            .override(ConfigKeys.STATE_DIR, scratch.resolve("state").toString());
    if (random != null) {
      builder.override(ConfigKeys.MODEL_RANDOM, random);
    }
    List<String> all = new ArrayList<>(sets);
    all.addAll(extra);
    for (String kv : all) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--set and --compare-set want key=value: " + kv);
      }
      builder.override(kv.substring(0, eq), kv.substring(eq + 1));
    }
    AppConfig config =
        builder
            .build()
            // the open-segment counters are read from /metrics, on any free port
            .with(ConfigKeys.HTTP_ENABLED, "true")
            .with(ConfigKeys.HTTP_PORT, "0");
    if (bulkBytes < 1 || bulkBytes > config.eventMaxTextBytes()) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--bulk-bytes must be in [1, event.max.text.bytes = " + config.eventMaxTextBytes() + "]");
    }
    return config;
  }

  /** The chat-like load on a fresh processor: a warm-up event per session, then the load. */
  private ChatRun chatRun(InfiniApp app, SessionLoad load, long cacheBytes, PrintWriter err)
      throws Exception {
    Random rng = new Random(seed);
    List<Session> chatSessions = new ArrayList<>(sessions);
    for (int i = 0; i < sessions; i++) {
      chatSessions.add(load.session(String.format(Locale.ROOT, "chat-%05d", i)));
    }
    progress(
        err,
        "chat-like load, surprise.cache.bytes=%d: warm-up, one APPEND per session",
        cacheBytes);
    Recorder warmUp = new Recorder();
    for (Session s : chatSessions) {
      load.send(s, Event.append(ChatText.message(rng, eventBytes)), warmUp);
    }
    load.awaitAll(DRAIN);
    CacheCounters before = cacheCounters(app);
    progress(
        err,
        "chat-like load: %d sessions for %.0f s (%s)",
        sessions,
        seconds,
        rate > 0 ? String.format(Locale.ROOT, "%.1f events/s offered", rate) : "closed loop");
    Recorder rec = new Recorder();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    if (rate <= 0) {
      for (Session s : chatSessions) {
        for (int w = 0; w < window; w++) {
          load.send(s, chatEvent(rng), rec);
        }
      }
      load.awaitUntil(
          () -> load.outstanding() == 0,
          DRAIN,
          (s, kind) -> {
            if (System.nanoTime() - end < 0) {
              load.send(s, chatEvent(rng), rec);
            }
          });
    } else {
      long interval = (long) (1e9 / rate);
      long next = System.nanoTime();
      for (long now = next; now - end < 0; now = System.nanoTime()) {
        while (next - now <= 0 && next - end < 0) {
          load.send(chatSessions.get(rng.nextInt(sessions)), chatEvent(rng), rec);
          next += interval;
        }
        long waitNanos = Math.max(1_000_000, Math.min(50_000_000, next - System.nanoTime()));
        load.poll(Duration.ofNanos(waitNanos), (s, kind) -> {});
      }
      load.awaitAll(DRAIN);
    }
    CacheCounters after = cacheCounters(app);
    return new ChatRun(cacheBytes, rec, after.minus(before));
  }

  private Event chatEvent(Random rng) {
    if (generateEvery > 0 && rng.nextInt(generateEvery) == 0) {
      return Event.generate(ChatText.question(rng), generateTokens);
    }
    return Event.append(ChatText.message(rng, eventBytes));
  }

  /** The bulk load: one event of --bulk-bytes in flight per session for --bulk-seconds. */
  private Recorder bulkRun(SessionLoad load, PrintWriter err) throws TimeoutException {
    progress(
        err,
        "bulk load: %d sessions, %d-byte APPENDs for %.0f s",
        bulkSessions,
        bulkBytes,
        bulkSeconds);
    Random rng = new Random(seed + 1);
    Recorder rec = new Recorder();
    long end = System.nanoTime() + (long) (bulkSeconds * 1e9);
    for (int i = 0; i < bulkSessions; i++) {
      Session s = load.session(String.format(Locale.ROOT, "bulk-%03d", i));
      load.send(s, Event.append(ChatText.document(rng.nextLong(), bulkBytes)), rec);
    }
    load.awaitUntil(
        () -> load.outstanding() == 0,
        DRAIN,
        (s, kind) -> {
          if (System.nanoTime() - end < 0) {
            load.send(s, Event.append(ChatText.document(rng.nextLong(), bulkBytes)), rec);
          }
        });
    return rec;
  }

  /**
   * GENERATEs on one stream, one at a time, on the idle pipeline; then the same while another
   * stream on another partition receives --feed-kb in --bulk-bytes APPENDs, sent all at once.
   */
  private Fairness fairnessRun(SessionLoad load, PrintWriter err) throws TimeoutException {
    Random rng = new Random(seed + 2);
    String feedKey = "feed";
    Session feed = load.session(feedKey);
    int feedPartition = load.partitionOf(feedKey);
    String probeKey = "probe";
    for (int i = 0;
        load.inputPartitions() > 1 && load.partitionOf(probeKey) == feedPartition;
        i++) {
      probeKey = "probe-" + i;
    }
    Session probe = load.session(probeKey);
    // the probe stream exists, with some context, before it is timed
    load.send(probe, Event.append(ChatText.message(rng, eventBytes)), new Recorder());
    load.awaitAll(DRAIN);

    progress(err, "fairness: %d GENERATEs on an idle pipeline", probes);
    Recorder idle = new Recorder();
    for (int i = 0; i < probes; i++) {
      load.send(probe, Event.generate(PROBE_PROMPT, generateTokens), idle);
      load.awaitAll(DRAIN);
    }

    progress(
        err,
        "fairness: %d KiB to stream '%s', GENERATEs on '%s' meanwhile",
        feedKb,
        feedKey,
        probeKey);
    Recorder feedRec = new Recorder();
    long feedBytes = (long) feedKb * 1024;
    for (long sentBytes = 0; sentBytes < feedBytes; sentBytes += bulkBytes) {
      int n = (int) Math.min(bulkBytes, feedBytes - sentBytes);
      load.send(feed, Event.append(ChatText.document(rng.nextLong(), n)), feedRec);
    }
    load.flush();
    Recorder during = new Recorder();
    while (during.sent() < probes && feed.outstanding() > 0) {
      load.send(probe, Event.generate(PROBE_PROMPT, generateTokens), during);
      load.awaitUntil(() -> probe.outstanding() == 0, DRAIN, (s, kind) -> {});
    }
    load.awaitAll(DRAIN);
    return new Fairness(
        probeKey, load.partitionOf(probeKey), feedKey, feedPartition, idle, during, feedRec);
  }

  private static final Pattern REUSED =
      Pattern.compile(
          "(?m)^infini_open_segment_calls_total\\{[^}]*result=\"reused\"[^}]*\\}\\s+(\\S+)");
  private static final Pattern RECOMPUTED =
      Pattern.compile(
          "(?m)^infini_open_segment_calls_total\\{[^}]*result=\"recomputed\"[^}]*\\}\\s+(\\S+)");
  private static final Pattern CACHE_BYTES =
      Pattern.compile("(?m)^infini_open_segment_cache_bytes(?:\\{[^}]*\\})?\\s+(\\S+)");

  /** The open-segment counters from the operations server's {@code /metrics}. */
  static CacheCounters cacheCounters(InfiniApp app) throws IOException, InterruptedException {
    // as any client of the server: its trust store for HTTPS, its token if it has one
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(app.operationsUrl() + "/metrics"))
            .timeout(Duration.ofSeconds(30));
    String token = app.config().httpAuthToken();
    if (!token.isEmpty()) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r =
        HttpClient.newBuilder()
            .sslContext(Tls.clientContext(app.config()))
            .build()
            .send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("GET /metrics answered " + r.statusCode());
    }
    return parseCacheCounters(r.body());
  }

  static CacheCounters parseCacheCounters(String scrape) {
    return new CacheCounters(
        value(REUSED, scrape), value(RECOMPUTED, scrape), value(CACHE_BYTES, scrape));
  }

  private static double value(Pattern p, String scrape) {
    Matcher m = p.matcher(scrape);
    if (!m.find()) {
      throw new IllegalStateException("no " + p.pattern() + " in /metrics");
    }
    return Double.parseDouble(m.group(1));
  }

  private static void progress(PrintWriter err, String format, Object... args) {
    err.println("bench-sessions: " + String.format(Locale.ROOT, format, args));
    err.flush();
  }

  // ---------------------------------------------------------------- report

  String report(Result r) {
    AppConfig c = r.config();
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "### Sessions: %s (measured %s)%n%n",
            r.model(),
            r.started().truncatedTo(ChronoUnit.SECONDS)));
    sb.append(
        String.format(
            Locale.ROOT,
            "Machine: %d cores (%s), %s %s, Java %s; load average (1 min) before / after: %s / %s."
                + " Wall time of the run: %.0f s.%n%n",
            Runtime.getRuntime().availableProcessors(),
            cpuModel(),
            System.getProperty("os.name"),
            System.getProperty("os.arch"),
            System.getProperty("java.version"),
            fmtLoad(r.loadBefore()),
            fmtLoad(r.loadAfter()),
            r.wallSeconds()));
    sb.append(
        String.format(
            Locale.ROOT,
            "Settings: processing.guarantee=%s, topic.partitions=%d, num.stream.threads=%d,"
                + " commit.interval.ms=%d, input.repartition=%s, event.max.text.bytes=%d,"
                + " surprise.enabled=%s, main.consumer.max.partition.fetch.bytes=%d; embedded"
                + " single-node KRaft broker, RocksDB stores with changelogs.%n%n",
            c.processingGuarantee(),
            c.topicPartitions(),
            c.numStreamThreads(),
            c.commitIntervalMs(),
            c.inputRepartition(),
            c.eventMaxTextBytes(),
            c.surpriseEnabled(),
            StreamsWiring.effectiveMainConsumerFetchBytes(c)));
    if (r.comparing()) {
      sb.append("Processors, in the order run, each on a fresh broker and state folder:");
      for (Run run : r.runs()) {
        sb.append(
            String.format(
                Locale.ROOT,
                " '%s' (main.consumer.max.partition.fetch.bytes=%d);",
                run.label(),
                StreamsWiring.effectiveMainConsumerFetchBytes(run.config())));
      }
      sb.setLength(sb.length() - 1);
      sb.append(". Every load below ran on each.\n\n");
    }
    String loop =
        rate > 0
            ? String.format(Locale.ROOT, "offered at %.1f events/s to random sessions", rate)
            : String.format(Locale.ROOT, "closed loop, %d event(s) in flight per session", window);
    if (!r.chat().isEmpty()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "Chat-like load: %,d sessions; APPENDs of chat text of at most %d bytes%s; %s;"
                  + " GENERATE of %d new tokens (CHAT, greedy)%s; %.0f s of sending, then every"
                  + " answer awaited. Each session's first APPEND (a warm-up that creates its"
                  + " stream) is not counted.%n",
              sessions,
              eventBytes,
              meanAppendBytes(r),
              generateEvery > 0 ? "1 event in " + generateEvery + " at random" : "none",
              generateTokens,
              ", " + loop,
              seconds));
    }
    if (r.bulk() != null) {
      sb.append(
          String.format(
              Locale.ROOT,
              "Bulk load: %d sessions, APPENDs of %,d bytes of English-like text, one in flight"
                  + " per session, %.0f s of sending, then every answer awaited.%n",
              bulkSessions,
              bulkBytes,
              bulkSeconds));
    }
    sb.append(
        "Round trip: from the send to the output event received (read_committed), matched by"
            + " stream and seq; in processor: the output's latencyMicros. events/s: answered"
            + " events from the first send to the last answer.\n");

    if (!r.chat().isEmpty() || r.bulk() != null) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%n| load | %s | events/s | kind | events | p50 (ms) | p95 (ms) | p99 (ms) |"
                  + " max (ms) | p50 in processor (ms) |%n",
              r.comparing() ? "processor" : "surprise.cache.bytes"));
      sb.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
    }
    for (Run run : r.runs()) {
      if (run.chat() != null) {
        loadRows(sb, "chat-like", column(r, run, run.chat().cacheBytes()), run.chat().load());
      }
    }
    for (Run run : r.runs()) {
      if (run.bulk() != null) {
        loadRows(
            sb,
            String.format(Locale.ROOT, "bulk (%,d B events)", bulkBytes),
            column(r, run, run.config().surpriseCacheBytes()),
            run.bulk());
      }
    }
    for (Run run : r.runs()) {
      if (run.bulk() != null) {
        sb.append(
            String.format(
                Locale.ROOT,
                "%nBulk throughput%s: %,.0f bytes/s of text (%,d bytes in %.1f s).%n",
                r.comparing() ? " ('" + run.label() + "')" : "",
                run.bulk().textBytes() / Math.max(1e-9, run.bulk().seconds()),
                run.bulk().textBytes(),
                run.bulk().seconds()));
      }
    }

    if (!r.comparing() && !r.chat().isEmpty()) {
      cacheTable(sb, r);
    }

    List<Run> probed = r.runs().stream().filter(run -> run.fairness() != null).toList();
    if (!probed.isEmpty()) {
      Fairness first = probed.get(0).fairness();
      sb.append(
          String.format(
              Locale.ROOT,
              "%n| GENERATE of %d new tokens on stream '%s' (partition %d) | probes | p50 (ms) |"
                  + " max (ms) | p50 in processor (ms) |%n",
              generateTokens,
              first.probeKey(),
              first.probePartition()));
      sb.append("|---|---:|---:|---:|---:|\n");
      for (Run run : probed) {
        Fairness f = run.fairness();
        String of = r.comparing() ? ", '" + run.label() + "'" : "";
        fairRow(sb, "idle pipeline" + of, f.idle());
        fairRow(
            sb,
            String.format(
                Locale.ROOT,
                "while stream '%s' (partition %d) receives %,d KiB in %,d B APPENDs%s",
                f.feedKey(),
                f.feedPartition(),
                feedKb,
                bulkBytes,
                of),
            f.during());
        Latencies idleL = f.idle().roundTrip(EventKind.GENERATE);
        Latencies duringL = f.during().roundTrip(EventKind.GENERATE);
        sb.append(
            String.format(
                Locale.ROOT,
                "| **during / idle**%s | | **%.1f** | **%.1f** | |%n",
                of,
                duringL.percentileMs(0.5) / idleL.percentileMs(0.5),
                duringL.maxMs() / idleL.maxMs()));
      }
      sb.append('\n');
      for (Run run : probed) {
        Fairness f = run.fairness();
        sb.append(
            String.format(
                Locale.ROOT,
                "Feed%s: %,d bytes in %d events, answered in %.1f s (%,.0f bytes/s); the probes ran"
                    + " one after another from when the feed was sent until %d were answered or"
                    + " the feed was.%n",
                r.comparing() ? " ('" + run.label() + "')" : "",
                f.feed().textBytes(),
                f.feed().sent(),
                f.feed().seconds(),
                f.feed().textBytes() / Math.max(1e-9, f.feed().seconds()),
                probes));
      }
    }
    if (r.comparing()) {
      comparisonTable(sb, r);
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%nEvents: %,d sent, %,d answered by exactly one output, %,d extra outputs, %,d"
                + " dead-lettered or failed.%n",
            r.sent(),
            r.answered(),
            r.unmatched(),
            r.rejections().size()));
    for (String rejection : r.rejections().subList(0, Math.min(5, r.rejections().size()))) {
      sb.append("  rejected: ").append(rejection).append('\n');
    }
    return sb.toString();
  }

  private static String column(Result r, Run run, long cacheBytes) {
    return r.comparing() ? run.label() : String.format(Locale.ROOT, "%,d", cacheBytes);
  }

  private static void cacheTable(StringBuilder sb, Result r) {
    sb.append(
        "\n| open-segment cache | events/s | APPEND p50 (ms) | APPEND p99 (ms) |"
            + " GENERATE p99 (ms) | scoring calls reused / recomputed | reused | cache bytes at the end |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    ChatRun on = null;
    ChatRun off = null;
    for (ChatRun run : r.chat()) {
      if (run.cacheBytes() == 0) {
        off = run;
      } else {
        on = run;
      }
      Recorder l = run.load();
      CacheCounters cc = run.cache();
      sb.append(
          String.format(
              Locale.ROOT,
              "| surprise.cache.bytes=%,d | %.1f | %.1f | %.1f | %.1f | %,.0f / %,.0f | %s | %,.0f |%n",
              run.cacheBytes(),
              l.eventsPerSecond(),
              l.roundTrip(EventKind.APPEND).percentileMs(0.5),
              l.roundTrip(EventKind.APPEND).percentileMs(0.99),
              l.roundTrip(EventKind.GENERATE).percentileMs(0.99),
              cc.reused(),
              cc.recomputed(),
              Double.isNaN(cc.reusedShare())
                  ? "-"
                  : String.format(Locale.ROOT, "%.1f%%", 100 * cc.reusedShare()),
              cc.cacheBytes()));
    }
    if (on != null && off != null) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| **ratio with / without the cache** | **%.2f** | %.2f | **%.2f** | %.2f | | | |%n",
              on.load().eventsPerSecond() / off.load().eventsPerSecond(),
              on.load().roundTrip(EventKind.APPEND).percentileMs(0.5)
                  / off.load().roundTrip(EventKind.APPEND).percentileMs(0.5),
              on.load().roundTrip(EventKind.APPEND).percentileMs(0.99)
                  / off.load().roundTrip(EventKind.APPEND).percentileMs(0.99),
              on.load().roundTrip(EventKind.GENERATE).percentileMs(0.99)
                  / off.load().roundTrip(EventKind.GENERATE).percentileMs(0.99)));
    }
  }

  /**
   * With --compare-set: each measure as configured, with the compared settings, and their ratio.
   */
  private void comparisonTable(StringBuilder sb, Result r) {
    Run base = null;
    Run other = null;
    for (Run run : r.runs()) {
      if (run.label().equals("as configured")) {
        base = run;
      } else {
        other = run;
      }
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%n| measure | as configured | %s | **ratio** (%s / as configured) |%n",
            other.label(),
            other.label()));
    sb.append("|---|---:|---:|---:|\n");
    if (base.chat() != null && other.chat() != null) {
      Recorder a = base.chat().load();
      Recorder b = other.chat().load();
      compareRow(sb, "chat-like events/s", a.eventsPerSecond(), b.eventsPerSecond());
      compareRow(
          sb,
          "chat-like APPEND p50 round trip (ms)",
          a.roundTrip(EventKind.APPEND).percentileMs(0.5),
          b.roundTrip(EventKind.APPEND).percentileMs(0.5));
      compareRow(
          sb,
          "chat-like APPEND p99 round trip (ms)",
          a.roundTrip(EventKind.APPEND).percentileMs(0.99),
          b.roundTrip(EventKind.APPEND).percentileMs(0.99));
      compareRow(
          sb,
          "chat-like GENERATE p99 round trip (ms)",
          a.roundTrip(EventKind.GENERATE).percentileMs(0.99),
          b.roundTrip(EventKind.GENERATE).percentileMs(0.99));
    }
    if (base.bulk() != null && other.bulk() != null) {
      compareRow(
          sb,
          "bulk throughput (bytes/s of text)",
          base.bulk().textBytes() / Math.max(1e-9, base.bulk().seconds()),
          other.bulk().textBytes() / Math.max(1e-9, other.bulk().seconds()));
      compareRow(
          sb,
          "bulk APPEND p50 in processor (ms)",
          base.bulk().inProcessor(EventKind.APPEND).percentileMs(0.5),
          other.bulk().inProcessor(EventKind.APPEND).percentileMs(0.5));
    }
    if (base.fairness() != null && other.fairness() != null) {
      Fairness a = base.fairness();
      Fairness b = other.fairness();
      compareRow(
          sb,
          "fairness: GENERATE p50 round trip, idle pipeline (ms)",
          a.idle().roundTrip(EventKind.GENERATE).percentileMs(0.5),
          b.idle().roundTrip(EventKind.GENERATE).percentileMs(0.5));
      compareRow(
          sb,
          "fairness: GENERATE p50 round trip during the feed (ms)",
          a.during().roundTrip(EventKind.GENERATE).percentileMs(0.5),
          b.during().roundTrip(EventKind.GENERATE).percentileMs(0.5));
      compareRow(
          sb,
          "fairness: GENERATE max round trip during the feed (ms)",
          a.during().roundTrip(EventKind.GENERATE).maxMs(),
          b.during().roundTrip(EventKind.GENERATE).maxMs());
      compareRow(
          sb,
          "fairness: probes answered during the feed",
          a.during().roundTrip(EventKind.GENERATE).count(),
          b.during().roundTrip(EventKind.GENERATE).count());
      compareRow(
          sb,
          "fairness: feed throughput (bytes/s of text)",
          a.feed().textBytes() / Math.max(1e-9, a.feed().seconds()),
          b.feed().textBytes() / Math.max(1e-9, b.feed().seconds()));
    }
  }

  private static void compareRow(StringBuilder sb, String what, double a, double b) {
    sb.append(
        String.format(
            Locale.ROOT, "| %s | %s | %s | **%.2f** |%n", what, number(a), number(b), b / a));
  }

  private static String number(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15
        ? String.format(Locale.ROOT, "%,d", (long) v)
        : Math.abs(v) >= 1000
            ? String.format(Locale.ROOT, "%,.0f", v)
            : String.format(Locale.ROOT, "%.1f", v);
  }

  private static String meanAppendBytes(Result r) {
    long events = 0;
    long bytes = 0;
    for (ChatRun run : r.chat()) {
      events += run.load().sent();
      bytes += run.load().textBytes();
    }
    return events == 0
        ? ""
        : String.format(
            Locale.ROOT, " (%.0f bytes per event on average, all kinds)", (double) bytes / events);
  }

  private static void loadRows(StringBuilder sb, String load, String cache, Recorder rec) {
    for (EventKind kind : List.of(EventKind.APPEND, EventKind.GENERATE)) {
      Latencies rt = rec.roundTrip(kind);
      if (rt.count() == 0) {
        continue;
      }
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.1f | %s | %,d | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
              load,
              cache,
              rec.eventsPerSecond(),
              kind,
              rt.count(),
              rt.percentileMs(0.5),
              rt.percentileMs(0.95),
              rt.percentileMs(0.99),
              rt.maxMs(),
              rec.inProcessor(kind).percentileMs(0.5)));
    }
  }

  private static void fairRow(StringBuilder sb, String what, Recorder rec) {
    Latencies rt = rec.roundTrip(EventKind.GENERATE);
    sb.append(
        String.format(
            Locale.ROOT,
            "| %s | %d | %.1f | %.1f | %.1f |%n",
            what,
            rt.count(),
            rt.percentileMs(0.5),
            rt.maxMs(),
            rec.inProcessor(EventKind.GENERATE).percentileMs(0.5)));
  }

  /** The 1-minute load average, NaN where /proc/loadavg is missing. */
  static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private static String fmtLoad(double load) {
    return Double.isNaN(load) ? "n/a" : String.format(Locale.ROOT, "%.2f", load);
  }

  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse("unknown CPU");
    } catch (IOException | RuntimeException e) {
      return "unknown CPU";
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
