package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import io.infinistreams.app.runtime.DemoDocument;
import io.infinistreams.app.runtime.DemoRun;
import io.infinistreams.app.runtime.DemoTask;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.ModelLoader;
import io.infinistreams.app.runtime.PasskeyDemo;
import io.infinistreams.app.runtime.ProseDemo;
import io.infinistreams.app.runtime.SurpriseRun;
import io.infinistreams.app.runtime.SurpriseStream;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.tasks.prose.Corpora;
import io.infinistreams.tasks.prose.ProseSource;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code infini demo}: broker, processor and a retrieval document, in one process. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "In one process: an embedded Kafka broker (unless bootstrap.servers is set) "
          + "and the processor; streams a document through Kafka as APPEND events (--task "
          + "passkey, or a real-prose retrieval task of the evaluation: needle, multikey, facts), "
          + "asks its question (GENERATE, raw format) and prints the answer, whether it is right, "
          + "the end-to-end tokens/s and the state bytes per key. With --task surprise: streams "
          + "held-out prose with one event replaced by another kind of text and prints the "
          + "surprise (bits per byte) the processor reports for each event."
    })
public final class DemoCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;

  @Option(
      names = "--task",
      paramLabel = "TASK",
      defaultValue = "passkey",
      description =
          "What to ask: passkey (a number hidden in repeated filler), or a retrieval task "
              + "of the evaluation over real prose, with phrasings training never used: needle "
              + "(one statement), multikey (several, one of them asked for), facts (people move "
              + "between places; the latest move wins); or surprise (the per-event surprise of "
              + "prose events with one replaced, see --inject). Default: ${DEFAULT-VALUE}.")
  String task;

  @Option(
      names = "--haystack",
      paramLabel = "FILE",
      description =
          "For the prose tasks and surprise: a UTF-8 text file to hide the statements in, e.g. your own "
              + "document (paragraphs separated by blank lines; read around again as needed). "
              + "Default: the held-out corpora of the prepared corpora folder ($INFINI_DATA, "
              + "else ~/.cache/infini-streams/corpora).")
  Path haystack;

  /** Where the prepared corpora are looked for without --haystack (tests point it elsewhere). */
  Path corpora = Corpora.defaultDirectory();

  @Option(
      names = "--length",
      paramLabel = "TOKENS",
      defaultValue = "1000000",
      description = "Document plus question, in tokens (bytes). Default: ${DEFAULT-VALUE}.")
  int length;

  @Option(
      names = "--depth",
      paramLabel = "FRACTION",
      defaultValue = "0.5",
      description =
          "Where the needle (the answering statement) sits in the filler, 0 (start) to 1 "
              + "(end). Default: ${DEFAULT-VALUE}.")
  double depth;

  @Option(
      names = "--seed",
      paramLabel = "N",
      defaultValue = "42",
      description = "Draws the document (the pass key). Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(
      names = "--key",
      paramLabel = "STREAM_ID",
      description = "Stream id. Default: <task>-<seed>.")
  String streamId;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      description =
          "Tokens generated for the answer. Default: 8 for passkey, 16 (as the evaluation) "
              + "for the prose tasks.")
  Integer maxTokens;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "7200",
      description = "How long one document may take. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  @Option(
      names = "--depths",
      split = ",",
      paramLabel = "FRACTION",
      description =
          "Several needle depths, e.g. 0,0.5,1 (instead of --depth): one run per "
              + "depth and trial, each on its own stream, through the same broker and processor.")
  List<Double> depths;

  @Option(
      names = "--trials",
      paramLabel = "N",
      defaultValue = "1",
      description =
          "Runs per depth; trial t draws its document from seed + t. "
              + "Default: ${DEFAULT-VALUE}.")
  int trials;

  @Option(
      names = "--inject",
      split = ",",
      paramLabel = "KIND",
      description =
          "For --task surprise: what replaces the event: shuffled (its own bytes in random "
              + "order), log (application log lines), repeat (a copy of an event at least "
              + "4,096 bytes back, or the first event in a shorter stream). Several, "
              + "comma-separated: one run each. Default: shuffled,log,repeat.")
  List<String> inject;

  @Option(
      names = "--inject-at",
      paramLabel = "EVENT",
      description =
          "For --task surprise: the event replaced, counted from 1; it needs two neighbours on "
              + "each side. Default: 19 of 24 (as the evaluation), about as far in for other "
              + "--events.")
  Integer injectAt;

  @Option(
      names = "--events",
      paramLabel = "N",
      defaultValue = "24",
      description = "For --task surprise: events in the stream. Default: ${DEFAULT-VALUE}.")
  int events;

  @Option(
      names = "--event-bytes",
      paramLabel = "BYTES",
      defaultValue = "400",
      description =
          "For --task surprise: bytes per event, about: each ends after the first space or "
              + "newline past this size (at a character boundary if none comes soon). "
              + "Default: ${DEFAULT-VALUE}.")
  int eventBytes;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description = "Also write every run's result to FILE as JSON.")
  Path json;

  @Option(
      names = "--check-in-process",
      description =
          "After the runs through Kafka, answer the same documents in-process "
              + "(the model alone, no broker) and report whether every answer is the same; "
              + "exits 1 if any differs.")
  boolean checkInProcess;

  /** The runs' results, in order (for tests driving the command line). */
  List<DemoRun.Result> results = new ArrayList<>();

  /** With --check-in-process: each run's in-process answer, in order. */
  List<String> inProcess = new ArrayList<>();

  /** With --task surprise: the runs' results, in order. */
  List<SurpriseRun.Result> surpriseResults = new ArrayList<>();

  /** The task that measures surprise rather than asking a question. */
  static final String SURPRISE = "surprise";

  /** The options only --task surprise takes. */
  private static final List<String> SURPRISE_OPTIONS =
      List.of("--inject", "--inject-at", "--events", "--event-bytes");

  /** The options --task surprise does not take (it asks no question). */
  private static final List<String> QUESTION_OPTIONS =
      List.of("--length", "--depth", "--depths", "--max-tokens", "--check-in-process");

  @Override
  public Integer call() throws Exception {
    if (trials < 1) {
      throw new CliException("--trials must be >= 1, got " + trials);
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (task.equals(SURPRISE)) {
      refuseOptions(QUESTION_OPTIONS, "not for --task " + SURPRISE);
      return surprise(out, err);
    }
    refuseOptions(SURPRISE_OPTIONS, "only for --task " + SURPRISE);
    List<Double> ds = depths == null || depths.isEmpty() ? List.of(depth) : depths;
    for (double d : ds) {
      if (!(d >= 0 && d <= 1)) {
        throw new CliException("--depth must be in [0, 1], got " + d);
      }
    }
    DemoTask demo = demoTask(out);
    boolean passkey = demo == PasskeyDemo.TASK;
    int maxNew = maxTokens != null ? maxTokens : demo.defaultMaxTokens();
    boolean single = ds.size() == 1 && trials == 1;
    List<DemoRun.Params> runs = new ArrayList<>();
    for (double d : ds) {
      for (int t = 0; t < trials; t++) {
        long s = seed + t;
        String id = streamId(demo.name(), s, single, String.format(Locale.ROOT, "d%.2f", d));
        runs.add(new DemoRun.Params(length, d, s, id, maxNew, Duration.ofSeconds(timeoutSeconds)));
      }
    }
    document(demo, runs.get(0));
    AppConfig config = configOptions.load();
    String fingerprint =
        withApp(
            config,
            out,
            app -> {
              for (DemoRun.Params params : runs) {
                DemoDocument doc = document(demo, params);
                if (single) {
                  out.printf(
                      Locale.ROOT,
                      "document:   %,d tokens%s at depth %.2f, stream '%s'%n",
                      length,
                      doc.describe(),
                      params.depth(),
                      params.streamId());
                  out.flush();
                }
                DemoRun.Result r;
                try {
                  r = DemoRun.run(app, params, doc, err);
                } catch (TimeoutException | StreamClient.RejectedException e) {
                  throw new CliException("demo: " + e.getMessage(), e);
                }
                results.add(r);
                if (single) {
                  printResult(out, r, passkey);
                } else {
                  out.printf(
                      Locale.ROOT,
                      "%sdepth %.2f  seed %d  %s  answer \"%s\"  %s  %,.0f tokens/s%n",
                      passkey
                          ? ""
                          : String.format(Locale.ROOT, "%s  %,d tokens  ", demo.name(), length),
                      params.depth(),
                      params.seed(),
                      passkey
                          ? "key " + r.expected()
                          : "expected \"" + printable(r.expected()) + "\"",
                      printable(r.answer()),
                      r.correct() ? "correct" : "wrong",
                      r.tokensPerSecond());
                  out.flush();
                }
              }
            });
    int differ = 0;
    if (checkInProcess) {
      long t0 = System.nanoTime();
      try (InfiniModel model = ModelLoader.load(config).model()) {
        inProcess.addAll(DemoRun.inProcessAnswers(model, demo, runs));
      }
      for (int i = 0; i < runs.size(); i++) {
        boolean same = inProcess.get(i).equals(results.get(i).answer());
        differ += same ? 0 : 1;
        if (!same || !single) {
          out.printf(
              Locale.ROOT,
              "in-process: %s \"%s\" %s%n",
              runs.get(i).streamId(),
              printable(inProcess.get(i)),
              same
                  ? "same"
                  : "DIFFERENT from Kafka's \"" + printable(results.get(i).answer()) + "\"");
        }
      }
      out.printf(
          Locale.ROOT,
          "in-process: %d/%d answers the same as through Kafka (%.0f s)%n",
          runs.size() - differ,
          runs.size(),
          (System.nanoTime() - t0) / 1e9);
    }
    if (!single) {
      DemoRun.Result last = results.get(results.size() - 1);
      long found = results.stream().filter(DemoRun.Result::correct).count();
      out.printf(
          Locale.ROOT,
          "accuracy:   %d/%d runs %s (%,d tokens each)%n",
          found,
          results.size(),
          passkey ? "found the key" : "answered right",
          length);
      out.printf(
          Locale.ROOT,
          "state:      %,d bytes per key (%d session + %d head-memory " + "records)%n",
          last.state().bytes(),
          last.state().sessionRecords(),
          last.state().memoryRecords());
    }
    if (json != null) {
      Files.writeString(
          json,
          json(passkey ? null : demo.name(), runs, results, inProcess, fingerprint),
          StandardCharsets.UTF_8);
      out.println("results:    " + json.toAbsolutePath());
    }
    out.flush();
    return differ == 0 ? 0 : 1;
  }

  /**
   * The task --task names; for a prose task, with its haystack (--haystack, else the held-out
   * corpora of {@link #corpora}), described on {@code out}.
   */
  private DemoTask demoTask(PrintWriter out) {
    if (task.equals(PasskeyDemo.TASK.name())) {
      if (haystack != null) {
        throw new CliException(
            "--haystack is for the prose tasks ("
                + String.join(", ", ProseDemo.TASKS)
                + ") and "
                + SURPRISE);
      }
      return PasskeyDemo.TASK;
    }
    if (!ProseDemo.TASKS.contains(task)) {
      throw new CliException(
          "--task: no task '"
              + task
              + "' (tasks: passkey, "
              + String.join(", ", ProseDemo.TASKS)
              + ", "
              + SURPRISE
              + ")");
    }
    return ProseDemo.of(task, haystack(out, task + " (held-out phrasings)"));
  }

  /**
   * The prose of the haystack (--haystack, else the held-out corpora of {@link #corpora}),
   * described on {@code out} after {@code what}.
   */
  private ProseSource haystack(PrintWriter out, String what) {
    ProseDemo.Haystack hay;
    try {
      hay = ProseDemo.haystack(haystack, corpora);
    } catch (ProseDemo.NoHaystack e) {
      throw new CliException("--task " + task + ": " + e.getMessage(), e);
    }
    out.println("task:       " + what + ", haystack " + hay.description());
    out.flush();
    return hay.prose();
  }

  /** A usage error if any of {@code options} was given: they are {@code why}. */
  private void refuseOptions(List<String> options, String why) {
    for (String o : options) {
      if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
        throw new CliException(o + " is " + why);
      }
    }
  }

  /**
   * The stream of a run: --key, else {@code <task>-<seed>}; when there are several runs (not {@code
   * single}), with {@code -<seed>} after --key and {@code -<suffix>} after either.
   */
  private String streamId(String taskName, long s, boolean single, String suffix) {
    String base = streamId != null ? streamId : taskName + "-" + s;
    return single ? base : (streamId != null ? base + "-" + s : base) + "-" + suffix;
  }

  /** Something done with the processor running. */
  private interface WithApp {
    void run(InfiniApp app) throws Exception;
  }

  /**
   * Loads the model of {@code config}, starts the processor (and an embedded broker unless
   * bootstrap.servers is set; no operations server), says so on {@code out}, and does {@code body}
   * with it; returns the model's fingerprint.
   */
  private static String withApp(AppConfig config, PrintWriter out, WithApp body) throws Exception {
    ModelLoader.Loaded loaded = ModelLoader.load(config);
    try (InfiniModel model = loaded.model()) {
      String fingerprint = model.fingerprint();
      out.println(
          "model:      " + loaded.description() + ", fingerprint " + fingerprint.substring(0, 12));
      out.flush();
      // a one-shot run: no operations server (and no port to collide with a running `run`)
      AppConfig withoutHttp = config.with(ConfigKeys.HTTP_ENABLED, "false");
      try (InfiniApp app = InfiniApp.start(withoutHttp, model, Duration.ofMinutes(3))) {
        out.println(
            "kafka:      "
                + (app.embeddedBrokerDataDir() != null
                    ? "embedded broker "
                        + app.bootstrapServers()
                        + ", data in "
                        + app.embeddedBrokerDataDir().toAbsolutePath()
                    : app.bootstrapServers())
                + "; state in "
                + app.stateDir().toAbsolutePath());
        body.run(app);
      }
      return fingerprint;
    }
  }

  /**
   * {@code --task surprise}: per run (each kind of --inject, each trial) one stream of held-out
   * prose with one event replaced, sent through Kafka; prints each event's surprise from its output
   * record and the injected event's against its neighbours'.
   */
  private int surprise(PrintWriter out, PrintWriter err) throws Exception {
    List<SurpriseStream.Inject> kinds = new ArrayList<>();
    for (String k : inject == null || inject.isEmpty() ? List.<String>of() : inject) {
      try {
        kinds.add(SurpriseStream.Inject.of(k));
      } catch (IllegalArgumentException e) {
        throw new CliException("--inject: " + e.getMessage(), e);
      }
    }
    if (kinds.isEmpty()) {
      kinds.addAll(List.of(SurpriseStream.Inject.values()));
    }
    int at = injectAt != null ? injectAt - 1 : SurpriseStream.defaultInjectedAt(events);
    AppConfig config = configOptions.load();
    if (!config.surpriseEnabled()) {
      throw new CliException(
          "--task surprise: surprise.enabled is false in the configuration, so the processor "
              + "reports no surprise (set surprise.enabled=true)");
    }
    ProseSource prose = haystack(out, SURPRISE);
    boolean single = kinds.size() == 1 && trials == 1;
    List<SurpriseStream> streams = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int t = 0; t < trials; t++) {
      for (SurpriseStream.Inject kind : kinds) {
        long s = seed + t;
        try {
          streams.add(SurpriseStream.build(prose, events, eventBytes, at, kind, s));
        } catch (IllegalArgumentException e) {
          throw new CliException("--task surprise: " + e.getMessage(), e);
        }
        ids.add(streamId(SURPRISE, s, single, kind.option()));
      }
    }
    String fingerprint =
        withApp(
            config,
            out,
            app -> {
              for (int i = 0; i < streams.size(); i++) {
                SurpriseRun.Result r;
                try {
                  r =
                      SurpriseRun.run(
                          app,
                          streams.get(i),
                          ids.get(i),
                          seed + i / kinds.size(),
                          Duration.ofSeconds(timeoutSeconds),
                          err);
                } catch (TimeoutException
                    | StreamClient.RejectedException
                    | SurpriseRun.NoSurprise e) {
                  throw new CliException("demo: " + e.getMessage(), e);
                }
                surpriseResults.add(r);
                SurpriseReport.print(out, r);
              }
            });
    if (!single) {
      SurpriseReport.printTally(out, surpriseResults);
    }
    if (json != null) {
      Files.writeString(
          json, SurpriseReport.json(surpriseResults, fingerprint), StandardCharsets.UTF_8);
      out.println("results:    " + json.toAbsolutePath());
    }
    out.flush();
    return 0;
  }

  /** The document of a run; a length too short for it is a usage error. */
  private static DemoDocument document(DemoTask demo, DemoRun.Params params) {
    try {
      return demo.document(params.lengthTokens(), params.depth(), params.seed());
    } catch (IllegalArgumentException e) {
      throw new CliException("--length: " + e.getMessage(), e);
    }
  }

  private static void printResult(PrintWriter out, DemoRun.Result r, boolean passkey) {
    if (passkey) {
      out.printf(
          Locale.ROOT, "key:        %s (needle at token %,d)%n", r.expected(), r.needleOffset());
    } else {
      out.printf(
          Locale.ROOT,
          "expected:   \"%s\" (answering statement at token %,d)%n",
          printable(r.expected()),
          r.needleOffset());
    }
    out.printf(Locale.ROOT, "answer:     \"%s\"%n", printable(r.answer()));
    out.printf(Locale.ROOT, "correct:    %s%n", r.correct() ? "yes" : "no" + r.whyWrong());
    out.printf(
        Locale.ROOT,
        "throughput: %,.0f tokens/s end to end (%,d tokens in %,d events, "
            + "%.1f s; absorbing the document took %.1f s)%n",
        r.tokensPerSecond(),
        r.tokens(),
        r.events(),
        r.totalSeconds(),
        r.absorbSeconds());
    out.printf(
        Locale.ROOT,
        "state:      %,d bytes per key (%d session + %d head-memory records; "
            + "%,d tokens in context, %,d segments in memory)%n",
        r.state().bytes(),
        r.state().sessionRecords(),
        r.state().memoryRecords(),
        r.tokensInContext(),
        r.segmentsInMemory());
    out.flush();
  }

  private static String printable(String answer) {
    return answer.replace("\n", "\\n");
  }

  /**
   * The runs as JSON: one object per run, in order. A prose task's runs name it ({@code "task"})
   * and give the {@code "expected"} answer; passkey runs give the {@code "key"} as a number.
   *
   * @param proseTask the prose task's name, null for passkey
   */
  static String json(
      String proseTask,
      List<DemoRun.Params> runs,
      List<DemoRun.Result> results,
      List<String> inProcess,
      String fingerprint) {
    List<String> objects = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      DemoRun.Params p = runs.get(i);
      DemoRun.Result r = results.get(i);
      StringBuilder j =
          new StringBuilder(proseTask == null ? "{" : "{\"task\": " + quote(proseTask) + ", ")
              .append(
                  String.format(
                      Locale.ROOT,
                      "\"stream\": %s, \"tokens\": %d, \"depth\": %.4f, \"seed\": %d, %s, "
                          + "\"needleOffset\": %d, \"answer\": %s, \"correct\": %b, "
                          + "\"seconds\": %.3f, \"tokensPerSecond\": %.1f, \"stateBytes\": %d, "
                          + "\"segmentsInMemory\": %d",
                      quote(p.streamId()),
                      r.tokens(),
                      p.depth(),
                      p.seed(),
                      proseTask == null
                          ? "\"key\": " + r.expected()
                          : "\"expected\": " + quote(r.expected()),
                      r.needleOffset(),
                      quote(r.answer()),
                      r.correct(),
                      r.totalSeconds(),
                      r.tokensPerSecond(),
                      r.state().bytes(),
                      r.segmentsInMemory()));
      if (i < inProcess.size()) {
        j.append(", \"inProcessAnswer\": ")
            .append(quote(inProcess.get(i)))
            .append(", \"sameAsInProcess\": ")
            .append(inProcess.get(i).equals(r.answer()));
      }
      objects.add(j.append('}').toString());
    }
    return jsonRuns(fingerprint, objects);
  }

  /** The results file: the model's fingerprint and {@code runs} (JSON objects), in order. */
  static String jsonRuns(String fingerprint, List<String> runs) {
    return "{\n  \"modelFingerprint\": "
        + quote(fingerprint)
        + ",\n  \"runs\": ["
        + (runs.isEmpty() ? "" : "\n    " + String.join(",\n    ", runs))
        + "\n  ]\n}\n";
  }

  static String quote(String s) {
    StringBuilder q = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> q.append("\\\"");
        case '\\' -> q.append("\\\\");
        case '\n' -> q.append("\\n");
        case '\r' -> q.append("\\r");
        case '\t' -> q.append("\\t");
        default -> {
          if (c < 0x20) {
            q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            q.append(c);
          }
        }
      }
    }
    return q.append('"').toString();
  }
}
