package io.infinistreams.training.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.PasskeyDocument;
import io.infinistreams.tasks.TextCorpus;
import io.infinistreams.training.TaskMixes;
import io.infinistreams.training.TrainMain;
import java.awt.Color;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code eval}: the passkey grid (length x depth) with memory and with the memory switched off
 * (every head's output gate forced to its local branch, {@link Weights#withMemoryOff()}), chat
 * recall against distance with memory and without, and held-out bits per byte with and without
 * memory; writes JSON, PNG and a markdown summary under {@code --out}, each rewritten as rows
 * finish so an interrupted run leaves what it measured.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = "Evaluate a checkpoint: passkey grid, memory-off baseline, chat recall, LM"
        + " bits/byte.")
public final class EvalCommand implements Callable<Integer> {

  /** The parts {@code --skip} names. */
  static final List<String> PARTS = List.of("passkey", "baseline", "chat", "lm");

  @Option(
      names = "--model",
      description = "Checkpoint directory (default: the shipped default model).")
  Path model;

  @Option(
      names = "--out",
      required = true,
      description = "Output directory: results.json, summary.md, passkey.png,"
          + " passkey-baseline.png and the passkey cell journals.")
  Path out;

  @Option(
      names = "--lengths",
      split = ",",
      defaultValue = "1024,4096,16384,65536,262144,1048576",
      description = "Passkey lengths in tokens (default ${DEFAULT-VALUE}).")
  List<Integer> lengths;

  @Option(
      names = "--depth-step",
      defaultValue = "0.1",
      description = "Depth step (default ${DEFAULT-VALUE}).")
  double depthStep;

  @Option(
      names = "--trials",
      defaultValue = "20",
      description = "Trials per cell (default ${DEFAULT-VALUE}).")
  int trials;

  @Option(
      names = "--baseline-lengths",
      split = ",",
      description = "Lengths of the memory-off grid (default: --lengths).")
  List<Integer> baselineLengths;

  @Option(
      names = "--baseline-trials",
      description = "Trials per memory-off cell (default: --trials).")
  Integer baselineTrials;

  @Option(
      names = "--chat-distances",
      split = ",",
      defaultValue = "128,512,2048,8192,32768",
      description = "Chat fact-to-question distances in tokens (default ${DEFAULT-VALUE}).")
  List<Integer> chatDistances;

  @Option(
      names = "--chat-trials",
      defaultValue = "20",
      description = "Sessions per distance (default ${DEFAULT-VALUE}).")
  int chatTrials;

  @Option(
      names = "--lm-bytes",
      defaultValue = "32768",
      description = "Held-out bytes scored (default ${DEFAULT-VALUE}).")
  int lmBytes;

  @Option(
      names = "--corpus",
      defaultValue = "kjv",
      description = "Corpus whose held-out tail is scored: kjv, synthetic or a text file"
          + " (default ${DEFAULT-VALUE}).")
  String corpus;

  @Option(
      names = "--skip",
      split = ",",
      description = "Parts to skip: passkey, baseline, chat, lm.")
  List<String> skip = new ArrayList<>();

  @Option(
      names = "--seed",
      defaultValue = "7",
      description = "Seed of keys, offsets, facts (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "Passkey worker threads (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(
      names = "--local-heads",
      split = ",",
      paramLabel = "LAYER.HEAD",
      description = "Ablation: force these heads' output gates to the local branch (beta set to"
          + " -1e4; e.g. 1.1,0.3). The evaluated weights, and so the fingerprint, are the edited"
          + " ones; memory is still written.")
  List<String> localHeads = new ArrayList<>();

  @Option(
      names = "--resume",
      description = "Continue an interrupted run in --out: the passkey cells already kept in"
          + " <part>.cells.jsonl (appended as each cell finishes) are read back instead of run"
          + " again. The file must have been written for the same model, seed, depths and trials"
          + " per cell. Without it those files start anew.")
  boolean resume;

  @Spec
  CommandSpec spec;

  String commandLine = "eval";

  /**
   * Refuses, before anything runs, a passkey length too short for every trial's document: each
   * is shorter than its row's length by up to N-1 tokens (so the question ends anywhere in its
   * segment) and must still hold the intro, the needle and the question.
   */
  static void checkLengths(String option, List<Integer> lengths, ModelConfig c) {
    int least = PasskeyDocument.minimumChars() + c.segmentLength() - 1;
    for (int length : lengths) {
      if (length < least) {
        throw new IllegalArgumentException(option + ": " + length + " tokens is too short for "
            + "this model: a trial's document is up to N-1 = " + (c.segmentLength() - 1)
            + " tokens shorter than its row's length and needs at least "
            + PasskeyDocument.minimumChars() + " characters, so each length must be at least "
            + least);
      }
    }
  }

  /** {@code w} with each "layer.head" of {@code heads} forced to its local branch. */
  static Weights withLocalHeads(Weights w, List<String> heads) {
    for (String lh : heads) {
      if (!lh.trim().matches("-?\\d+\\.-?\\d+")) {
        throw new IllegalArgumentException(
            "--local-heads wants LAYER.HEAD (e.g. 1.1), got '" + lh + "'");
      }
      String[] parts = lh.trim().split("\\.");
      w = w.withGateLogit(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
          Weights.LOCAL_GATE_LOGIT); // refuses a head the model does not have
    }
    return w;
  }

  private static final Gson GSON = new GsonBuilder().setPrettyPrinting()
      .serializeSpecialFloatingPointValues().disableHtmlEscaping().create();
  private final Map<String, Object> summary = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    PrintStream err = System.err;
    commandLine = TrainMain.typed(spec, commandLine);
    for (String part : skip) {
      if (!PARTS.contains(part.trim())) {
        throw usage("--skip: no part '" + part + "' (parts: " + String.join(", ", PARTS) + ")");
      }
    }
    if (!(depthStep > 0 && depthStep <= 1) || trials < 1 || chatTrials < 1) {
      throw usage("need 0 < --depth-step <= 1, --trials >= 1 and --chat-trials >= 1");
    }
    try (InfiniModel loaded = model == null ? InfiniModel.loadDefault()
        : InfiniModel.load(model)) {
      List<Integer> offLengths = baselineLengths != null ? baselineLengths : lengths;
      InfiniModel m;
      try {
        m = localHeads.isEmpty() ? loaded
            : InfiniModel.fromWeights(withLocalHeads(loaded.weights(), localHeads));
        if (!skips("passkey")) {
          checkLengths("--lengths", lengths, m.config());
        }
        if (!skips("baseline")) {
          checkLengths(baselineLengths != null ? "--baseline-lengths" : "--lengths", offLengths,
              m.config());
        }
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage());
      }
      InfiniModel off = InfiniModel.fromWeights(m.weights().withMemoryOff());
      ModelConfig c = m.config();
      List<Double> depths = new ArrayList<>();
      for (int i = 0; i <= Math.round(1 / depthStep); i++) {
        depths.add(Math.min(1.0, i * depthStep));
      }
      Files.createDirectories(out);
      summary.put("command", commandLine);
      summary.put("model", model == null ? "the shipped default model" : model.toString());
      if (!localHeads.isEmpty()) {
        summary.put("localHeads", localHeads);
      }
      summary.put("fingerprint", m.fingerprint());
      summary.put("memoryOffFingerprint", off.fingerprint());
      summary.put("config", c);
      err.println("model " + c + " fingerprint " + m.fingerprint());
      if (!skips("lm")) {
        lm(m, off, err);
      }
      if (!skips("chat")) {
        chat(m, off, err);
      }
      if (!skips("passkey")) {
        passkey(m, "passkey", lengths, depths, trials, err);
      }
      if (!skips("baseline")) {
        passkey(off, "passkey-baseline", offLengths, depths,
            baselineTrials != null ? baselineTrials : trials, err);
      }
    }
    return 0;
  }

  /** A usage error: picocli prints the message and the usage, and the exit code is 2. */
  private RuntimeException usage(String message) {
    return spec == null ? new IllegalArgumentException(message)
        : new CommandLine.ParameterException(spec.commandLine(), message);
  }

  private boolean skips(String part) {
    return skip.stream().anyMatch(s -> s.trim().equals(part));
  }

  private void lm(InfiniModel m, InfiniModel off, PrintStream err) throws Exception {
    TextCorpus text;
    try {
      text = TaskMixes.corpus(corpus);
    } catch (IllegalStateException e) {
      err.println("skipping LM eval: " + e.getMessage());
      summary.put("lm", "skipped: " + e.getMessage());
      return;
    }
    int[] held = text.heldOut(lmBytes);
    LmEval.Result with = LmEval.run(m, held);
    LmEval.Result without = LmEval.run(off, held);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("corpus", text.name());
    r.put("heldOutFrom", text.trainBytes());
    r.put("memory", with);
    r.put("memoryOff", without);
    summary.put("lm", r);
    err.printf("LM held-out %d bytes: %.3f bits/byte with memory, %.3f without%n", with.bytes(),
        with.bitsPerByte(), without.bitsPerByte());
    writeSummary();
  }

  private void chat(InfiniModel m, InfiniModel off, PrintStream err) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    ChatRecallEval eval = new ChatRecallEval(chatDistances, chatTrials, seed);
    r.put("memory", eval.run(m, err));
    summary.put("chat", r);
    writeSummary();
    r.put("memoryOff", eval.run(off, err));
    writeSummary();
  }

  private void passkey(InfiniModel m, String name, List<Integer> lens, List<Double> depths,
      int n, PrintStream err) throws Exception {
    PasskeyEval eval = new PasskeyEval(lens, depths, n, seed, threads);
    List<PasskeyEval.Row> done = new ArrayList<>();
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("lengths", lens);
    r.put("depths", depths);
    r.put("trialsPerCell", n);
    r.put("seed", seed);
    r.put("rows", done);
    summary.put(name, r);
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("part", name);
    header.put("fingerprint", m.fingerprint());
    header.put("config", m.config());
    header.put("seed", seed);
    header.put("depths", depths);
    header.put("trialsPerCell", n);
    CellJournal journal =
        new CellJournal(out.resolve(name + ".cells.jsonl"), header, resume, err);
    eval.run(m, err, journal, row -> {
      done.add(row);
      try {
        double[][] acc = new double[lens.size()][depths.size()];
        for (double[] a : acc) {
          Arrays.fill(a, Double.NaN);
        }
        for (PasskeyEval.Row d : done) {
          int[] p = d.passes(depths.size());
          for (int j = 0; j < p.length; j++) {
            acc[lens.indexOf(d.length())][j] = p[j] / (double) n;
          }
        }
        List<String> rowLabels = lens.stream().map(EvalCommand::tokens).toList();
        List<String> colLabels = depths.stream().map(d -> Math.round(d * 100) + "%").toList();
        Png.heatmap(out.resolve(name + ".png"),
            name + ": exact-key accuracy (%), " + n + " trials per cell", rowLabels, colLabels,
            "length (tokens)", "needle depth", acc, new Color(215, 48, 39),
            new Color(26, 152, 80), true);
        writeSummary();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
  }

  static String tokens(int n) {
    return n >= 1 << 20 && n % (1 << 20) == 0 ? (n >> 20) + "M"
        : n >= 1024 && n % 1024 == 0 ? (n >> 10) + "K" : Integer.toString(n);
  }

  /** Writes results.json and summary.md from what has been measured so far. */
  private synchronized void writeSummary() throws Exception {
    Files.writeString(out.resolve("results.json"), GSON.toJson(summary), StandardCharsets.UTF_8);
    Files.writeString(out.resolve("summary.md"), Markdown.summary(summary),
        StandardCharsets.UTF_8);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new EvalCommand()).execute(args));
  }

  static int[] encode(String s) {
    return ByteTokenizer.encode(s);
  }
}
