package io.infinistreams.app.bench;

import io.infinistreams.app.client.DocumentFeeder;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.client.Utf8Chunker;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.ModelLoader;
import io.infinistreams.app.runtime.StateInspector;
import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.tasks.PasskeyDocument;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The end-to-end benchmark, side by side in one run so a noisy shared machine cancels out of the
 * ratios:
 *
 * <ol>
 *   <li>model only: the document absorbed in-process, in the same chunks the processor uses;
 *   <li>end to end: the same document fed as APPEND events through a real (embedded, KRaft) broker
 *       into the processor with exactly-once v2 and RocksDB, timed from the first send to the last
 *       output event;
 *   <li>per-event latency of small APPENDs and of 16-token GENERATEs, on a stream {@code
 *       --young-tokens} old and on the long stream, measured client side (send to output received)
 *       and processor side (the output's {@code latencyMicros}).
 * </ol>
 *
 * <p>Everything lives in a scratch folder that is deleted afterwards: this is a benchmark, not a
 * deployment.
 */
@Command(
    name = "bench-e2e",
    mixinStandardHelpOptions = true,
    description = "Measure end-to-end throughput (vs model-only, same run) and per-event latency.")
public final class EndToEndBench implements Callable<Integer> {

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--tokens",
      defaultValue = "1000000",
      description = "Length of the long stream's document in tokens (default ${DEFAULT-VALUE}).")
  int tokens;

  @Option(
      names = "--young-tokens",
      defaultValue = "1000",
      description = "Length of the young stream's document in tokens (default ${DEFAULT-VALUE}).")
  int youngTokens;

  @Option(
      names = "--probes",
      defaultValue = "40",
      description = "APPEND probes per stream (default ${DEFAULT-VALUE}).")
  int probes;

  @Option(
      names = "--generate-probes",
      defaultValue = "10",
      description = "GENERATE probes per stream (default ${DEFAULT-VALUE}).")
  int generateProbes;

  @Option(
      names = "--generate-tokens",
      defaultValue = "16",
      description = "maxNewTokens of each GENERATE probe (default ${DEFAULT-VALUE}).")
  int generateTokens;

  @Option(
      names = "--compare-repartition",
      description =
          "Run the end-to-end part twice, with input.repartition=true and =false (fresh broker"
              + " and state for each), and print the step's cost as ratios.")
  boolean compareRepartition;

  @Option(
      names = "--off-first",
      description =
          "With --compare-repartition, run input.repartition=false first (default: true first);"
              + " the first run also warms the JVM, so run both orders to see the bias.")
  boolean offFirst;

  @Option(names = "--set", description = "Extra configuration key=value (repeatable).")
  List<String> sets = new ArrayList<>();

  private static final String GENERATE_PROMPT = "What is the pass key? The pass key is";

  private static final String PROBE_TEXT =
      "A short message of about sixty-four bytes, like one chat turn.\n";

  public static void main(String[] args) {
    System.exit(new CommandLine(new EndToEndBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path scratch = Files.createTempDirectory("infini-bench");
    AppConfig.Builder builder =
        AppConfig.builder()
            .override(ConfigKeys.EMBEDDED_BROKER_DIR, scratch.resolve("kafka").toString())
            .override(ConfigKeys.STATE_DIR, scratch.resolve("state").toString());
    for (String kv : sets) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--set wants key=value: " + kv);
      }
      builder.override(kv.substring(0, eq), kv.substring(eq + 1));
    }
    AppConfig config = builder.build();
    ModelLoader.Loaded loaded = ModelLoader.load(config);
    try (InfiniModel model = loaded.model()) {
      String document = PasskeyDocument.of(tokens, 0.5, 71432).document();
      String young = PasskeyDocument.of(youngTokens, 0.5, 27182).document();
      int chunkBytes = config.eventMaxTextBytes();

      // 1. Model only, in the processor's chunks (same surprise setting).
      double modelSeconds = modelOnly(model, document, chunkBytes, config.surpriseEnabled());
      double modelTps = document.getBytes(StandardCharsets.UTF_8).length / modelSeconds;

      // 2. End to end through the broker, 3. latency probes.
      if (!compareRepartition) {
        // a measurement: no operations server
        Measured m =
            endToEnd(config.with(ConfigKeys.HTTP_ENABLED, "false"), model, document, young);
        out.println(report(loaded.description(), config, modelTps, m));
      } else {
        // the same measurement with and without the repartition step, each on its own broker
        // data and state folders, the step's cost as ratios of the two
        Measured on = null;
        Measured off = null;
        for (boolean repartition :
            offFirst ? new boolean[] {false, true} : new boolean[] {true, false}) {
          String mode = repartition ? "repartition-on" : "repartition-off";
          AppConfig c =
              config
                  .with(ConfigKeys.HTTP_ENABLED, "false")
                  .with(ConfigKeys.INPUT_REPARTITION, Boolean.toString(repartition))
                  .with(ConfigKeys.EMBEDDED_BROKER_DIR, scratch.resolve(mode + "-kafka").toString())
                  .with(ConfigKeys.STATE_DIR, scratch.resolve(mode + "-state").toString());
          Measured m = endToEnd(c, model, document, young);
          if (repartition) {
            on = m;
          } else {
            off = m;
          }
          out.println("### " + ConfigKeys.INPUT_REPARTITION + "=" + repartition + "\n");
          out.println(report(loaded.description(), c, modelTps, m));
          out.flush();
        }
        out.println(compare(on, off));
      }
      out.flush();
    } finally {
      deleteRecursively(scratch);
    }
    return 0;
  }

  /** What one end-to-end run measured. */
  private record Measured(
      double e2eTps,
      Probe youngAppend,
      Probe oldAppend,
      Probe youngGen,
      Probe oldGen,
      StateInspector.StateSize youngState,
      StateInspector.StateSize oldState) {}

  /** Feeds both documents through a started application and probes latency on both streams. */
  private Measured endToEnd(AppConfig config, InfiniModel model, String document, String young)
      throws Exception {
    int chunkBytes = config.eventMaxTextBytes();
    try (InfiniApp app = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
      double e2eSeconds = feedAndWait(app, "bench-long", document, chunkBytes);
      double e2eTps = document.getBytes(StandardCharsets.UTF_8).length / e2eSeconds;
      feedAndWait(app, "bench-young", young, chunkBytes);

      // Latency probes, alternating streams so drift in machine load hits both alike.
      Probe youngAppend = new Probe();
      Probe oldAppend = new Probe();
      Probe youngGen = new Probe();
      Probe oldGen = new Probe();
      try (StreamClient y = StreamClient.connect(config, app.bootstrapServers(), "bench-young");
          StreamClient o = StreamClient.connect(config, app.bootstrapServers(), "bench-long")) {
        long ySeq = y.lastSeq();
        long oSeq = o.lastSeq();
        for (int i = 0; i < probes; i++) {
          youngAppend.add(append(y, ++ySeq));
          oldAppend.add(append(o, ++oSeq));
        }
        for (int i = 0; i < generateProbes; i++) {
          youngGen.add(generate(y, ++ySeq));
          oldGen.add(generate(o, ++oSeq));
        }
        return new Measured(
            e2eTps,
            youngAppend,
            oldAppend,
            youngGen,
            oldGen,
            StateInspector.of(app.streams(), app.settings(), "bench-young"),
            StateInspector.of(app.streams(), app.settings(), "bench-long"));
      }
    }
  }

  /** The repartition step's cost: the run with it against the run without it. */
  private static String compare(Measured on, Measured off) {
    StringBuilder sb = new StringBuilder();
    sb.append("### Repartition step: on vs off (same run)\n\n");
    sb.append("| measure | input.repartition=true | input.repartition=false | on / off |\n");
    sb.append("|---|---:|---:|---:|\n");
    sb.append(
        String.format(
            Locale.ROOT,
            "| end-to-end throughput (tokens/s) | %,.0f | %,.0f | **%.3f** |%n",
            on.e2eTps(),
            off.e2eTps(),
            on.e2eTps() / off.e2eTps()));
    compareRow(
        sb,
        "p50 round trip, APPEND 64 B, young stream (ms)",
        on.youngAppend(),
        off.youngAppend(),
        0,
        0.5);
    compareRow(
        sb,
        "p99 round trip, APPEND 64 B, young stream (ms)",
        on.youngAppend(),
        off.youngAppend(),
        0,
        0.99);
    compareRow(
        sb,
        "p50 round trip, APPEND 64 B, long stream (ms)",
        on.oldAppend(),
        off.oldAppend(),
        0,
        0.5);
    compareRow(
        sb,
        "p50 in processor, APPEND 64 B, long stream (ms)",
        on.oldAppend(),
        off.oldAppend(),
        1,
        0.5);
    compareRow(sb, "p50 round trip, GENERATE, long stream (ms)", on.oldGen(), off.oldGen(), 0, 0.5);
    return sb.toString();
  }

  private static void compareRow(
      StringBuilder sb, String what, Probe on, Probe off, int column, double p) {
    double a = on.percentileMs(column, p);
    double b = off.percentileMs(column, p);
    sb.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f |%n", what, a, b, a / b));
  }

  private static double modelOnly(InfiniModel model, String document, int chunkBytes, boolean score)
      throws IOException {
    // Warm-up on a separate state: a few segments, so JIT and libtorch are hot.
    model.absorb(
        model.newState(),
        ByteTokenizer.encode(document.substring(0, Math.min(document.length(), 4096))),
        score);
    Utf8Chunker chunker =
        new Utf8Chunker(
            new ByteArrayInputStream(document.getBytes(StandardCharsets.UTF_8)), chunkBytes);
    StreamState state = model.newState();
    long t0 = System.nanoTime();
    for (String chunk = chunker.next(); chunk != null; chunk = chunker.next()) {
      AbsorbResult r = model.absorb(state, ByteTokenizer.encode(chunk), score);
      state = r.state();
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double feedAndWait(InfiniApp app, String key, String document, int chunkBytes)
      throws Exception {
    try (StreamClient client = StreamClient.connect(app.config(), app.bootstrapServers(), key)) {
      long first = client.lastSeq() + 1;
      long t0 = System.nanoTime();
      DocumentFeeder.Fed fed =
          DocumentFeeder.feed(
              client,
              new ByteArrayInputStream(document.getBytes(StandardCharsets.UTF_8)),
              chunkBytes,
              first,
              acked -> {});
      client.awaitOutput(fed.lastSeq(), Duration.ofHours(2));
      return (System.nanoTime() - t0) / 1e9;
    }
  }

  private static long[] append(StreamClient client, long seq) throws Exception {
    long t0 = System.nanoTime();
    client.append(seq, PROBE_TEXT, (meta, error) -> {});
    client.flush();
    OutputEvent out = client.awaitOutput(seq, Duration.ofMinutes(2));
    return new long[] {(System.nanoTime() - t0) / 1000, out.getLatencyMicros(), 0};
  }

  private long[] generate(StreamClient client, long seq) throws Exception {
    long t0 = System.nanoTime();
    client.generate(
        seq, GENERATE_PROMPT, StreamClient.generation(generateTokens, 0f, 0L, PromptFormat.RAW));
    client.flush();
    OutputEvent out = client.awaitOutput(seq, Duration.ofMinutes(2));
    // Tokens of this event are the prompt's plus the generated ones (bytes of the decoded text
    // would over-count: invalid UTF-8 from an untrained model decodes to 3-byte U+FFFD).
    long generated = out.getTokensThisEvent() - ByteTokenizer.encode(GENERATE_PROMPT).length;
    return new long[] {(System.nanoTime() - t0) / 1000, out.getLatencyMicros(), generated};
  }

  /** Latencies of one kind of probe, in microseconds. */
  private static final class Probe {
    final List<long[]> samples = new ArrayList<>();

    void add(long[] sample) {
      samples.add(sample);
    }

    double percentileMs(int column, double p) {
      long[] v = samples.stream().mapToLong(s -> s[column]).sorted().toArray();
      int idx = (int) Math.ceil(p * v.length) - 1;
      return v[Math.max(0, Math.min(v.length - 1, idx))] / 1000.0;
    }

    double meanGenerated() {
      return samples.stream().mapToLong(s -> s[2]).average().orElse(0);
    }
  }

  private String report(String modelDescription, AppConfig config, double modelTps, Measured m) {
    double e2eTps = m.e2eTps();
    Probe ya = m.youngAppend();
    Probe oa = m.oldAppend();
    Probe yg = m.youngGen();
    Probe og = m.oldGen();
    StateInspector.StateSize ys = m.youngState();
    StateInspector.StateSize os = m.oldState();
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "model: %s; processing.guarantee=%s; event.max.text.bytes=%d; input.repartition=%s;"
                + " surprise.enabled=%s%n%n",
            modelDescription,
            config.processingGuarantee(),
            config.eventMaxTextBytes(),
            config.inputRepartition(),
            config.surpriseEnabled()));
    sb.append("| throughput | tokens/s |\n|---|---:|\n");
    sb.append(
        String.format(
            Locale.ROOT,
            "| model only (in-process absorb, %,d tokens) | %,.0f |%n",
            tokens,
            modelTps));
    sb.append(
        String.format(
            Locale.ROOT, "| end to end (broker, EOS, RocksDB, changelogs) | %,.0f |%n", e2eTps));
    sb.append(
        String.format(
            Locale.ROOT,
            "| **ratio end-to-end / model-only** | **%.3f** |%n%n",
            e2eTps / modelTps));
    sb.append(
        "| event | stream age | p50 round trip (ms) | p99 round trip (ms) | p50 in processor (ms) | p99 in processor (ms) |\n");
    sb.append("|---|---|---:|---:|---:|---:|\n");
    row(sb, "APPEND 64 B", youngTokens, ya);
    row(sb, "APPEND 64 B", tokens, oa);
    row(sb, "GENERATE " + generateTokens + " tokens", youngTokens, yg);
    row(sb, "GENERATE " + generateTokens + " tokens", tokens, og);
    sb.append(
        String.format(
            Locale.ROOT,
            "%nMean tokens generated per GENERATE probe: young %.1f, old %.1f (EOS may stop early).%n",
            yg.meanGenerated(),
            og.meanGenerated()));
    sb.append(
        String.format(
            Locale.ROOT,
            "State per key (store records): young stream %,d bytes in %d records; old stream %,d bytes in %d records.%n",
            ys.bytes(),
            ys.records(),
            os.bytes(),
            os.records()));
    sb.append(
        String.format(
            Locale.ROOT,
            "Probes: %d APPEND and %d GENERATE per stream.%n",
            probes,
            generateProbes));
    return sb.toString();
  }

  private static void row(StringBuilder sb, String what, int age, Probe p) {
    sb.append(
        String.format(
            Locale.ROOT,
            "| %s | %,d tokens | %.1f | %.1f | %.1f | %.1f |%n",
            what,
            age,
            p.percentileMs(0, 0.5),
            p.percentileMs(0, 0.99),
            p.percentileMs(1, 0.5),
            p.percentileMs(1, 0.99)));
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
