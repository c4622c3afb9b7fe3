package io.infinistreams.model.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.InfiniTransformer.GateOverride;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.Weights;
import io.infinistreams.model.data.PasskeyDocument;
import io.infinistreams.model.data.TextCorpus;
import io.infinistreams.model.train.TaskMixes;
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
 * (gate forced to the local branch), chat recall against distance, held-out bits per byte with
 * and without memory, and the gate values; writes JSON, PNG and a markdown summary under
 * {@code --out}, each rewritten as rows finish so an interrupted run leaves what it measured.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Evaluate a checkpoint: passkey grid, memory-off baseline, chat recall, LM bits/byte, gates.")
public final class EvalCommand implements Callable<Integer> {

  @Option(names = "--model", description = "Checkpoint directory (default: the shipped default model).")
  Path model;

  @Option(names = "--out", defaultValue = "docs/eval", description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--lengths", split = ",", defaultValue = "1024,4096,16384,65536,262144,1048576",
      description = "Passkey lengths in tokens (default ${DEFAULT-VALUE}).")
  List<Integer> lengths;

  @Option(names = "--depth-step", defaultValue = "0.1", description = "Depth step (default ${DEFAULT-VALUE}).")
  double depthStep;

  @Option(names = "--trials", defaultValue = "20", description = "Trials per cell (default ${DEFAULT-VALUE}).")
  int trials;

  @Option(names = "--baseline-lengths", split = ",", description = "Lengths of the memory-off grid (default: --lengths).")
  List<Integer> baselineLengths;

  @Option(names = "--baseline-trials", description = "Trials per memory-off cell (default: --trials).")
  Integer baselineTrials;

  @Option(names = "--chat-distances", split = ",", defaultValue = "128,512,2048,8192,32768",
      description = "Chat fact-to-question distances in tokens (default ${DEFAULT-VALUE}).")
  List<Integer> chatDistances;

  @Option(names = "--chat-trials", defaultValue = "20", description = "Sessions per distance (default ${DEFAULT-VALUE}).")
  int chatTrials;

  @Option(names = "--lm-bytes", defaultValue = "32768", description = "Held-out bytes scored (default ${DEFAULT-VALUE}).")
  int lmBytes;

  @Option(names = "--corpus", defaultValue = "kjv", description = "Corpus whose held-out tail is scored (default ${DEFAULT-VALUE}).")
  String corpus;

  @Option(names = "--growth-lengths", split = ",", defaultValue = "4096,16384,65536,262144,1048576",
      description = "Filler lengths at which the memory's size |M| is measured (default ${DEFAULT-VALUE}).")
  List<Integer> growthLengths;

  @Option(names = "--gates-length", defaultValue = "4096", description = "Tokens per document "
      + "of the per-token output gate's measurement (the gates part; default ${DEFAULT-VALUE}): "
      + "longer documents show the gate reading a fuller memory.")
  int gatesLength;

  @Option(names = "--skip", split = ",", description = "Parts to skip: passkey, baseline, chat, lm, gates, growth, writes.")
  List<String> skip = new ArrayList<>();

  @Option(names = "--seed", defaultValue = "7", description = "Seed of keys, offsets, facts (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--threads", defaultValue = "1", description = "Passkey worker threads (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--gate", defaultValue = "NONE", description = "Evaluate the model with its "
      + "gate forced: NONE (as trained), LOCAL_ONLY (for a model trained with --no-memory) "
      + "(default ${DEFAULT-VALUE}).")
  GateOverride gate;

  @Option(names = "--local-heads", split = ",", paramLabel = "LAYER.HEAD", description = "Ablation: "
      + "force these heads' output gates to the local branch (beta set to -1e4, "
      + "Weights.withGateLogit; e.g. 1.1,0.3). The evaluated weights, and so the fingerprint, "
      + "are the edited ones; memory is still written.")
  List<String> localHeads = new ArrayList<>();

  @Option(names = "--resume", description = "Continue an interrupted run in --out: the passkey "
      + "cells already kept in <part>.cells.jsonl (appended as each cell finishes) are read back "
      + "instead of run again. The file must have been written for the same model, gate, seed, "
      + "depths and trials per cell. Without it those files start anew.")
  boolean resume;

  @Spec
  CommandSpec spec;

  String commandLine = "eval";

  /** The command as typed (picocli's original arguments), for manifests and results. */
  private String typed() {
    if (spec == null || spec.commandLine().getParseResult() == null) {
      return commandLine;
    }
    return "eval " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
  }

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
        throw new IllegalArgumentException("--local-heads wants LAYER.HEAD (e.g. 1.1), got '" + lh + "'");
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
    commandLine = typed();
    if (gatesLength < 256) {
      throw new IllegalArgumentException("--gates-length must be at least 256 tokens, got "
          + gatesLength);
    }
    Files.createDirectories(out);
    try (InfiniModel loaded = model == null ? InfiniModel.loadDefault()
        : InfiniModel.load(model)) {
      InfiniModel base = localHeads.isEmpty() ? loaded
          : InfiniModel.fromWeights(withLocalHeads(loaded.weights(), localHeads));
      InfiniModel m = gate == GateOverride.NONE ? base : base.withGateOverride(gate);
      ModelConfig c = m.config();
      summary.put("gate", gate.toString());
      if (!localHeads.isEmpty()) {
        summary.put("localHeads", localHeads);
      }
      summary.put("command", commandLine);
      summary.put("model", model == null ? "classpath default" : model.toString());
      summary.put("fingerprint", m.fingerprint());
      summary.put("config", c);
      err.println("model " + c + " fingerprint " + m.fingerprint());
      List<Double> depths = new ArrayList<>();
      for (int i = 0; i <= Math.round(1 / depthStep); i++) {
        depths.add(Math.min(1.0, i * depthStep));
      }
      if (!skip.contains("passkey")) {
        checkLengths("--lengths", lengths, c);
      }
      List<Integer> offLengths = baselineLengths != null ? baselineLengths : lengths;
      if (!skip.contains("baseline")) {
        checkLengths(baselineLengths != null ? "--baseline-lengths" : "--lengths", offLengths, c);
      }
      if (!skip.contains("gates")) {
        gates(m);
      }
      if (!skip.contains("growth")) {
        growth(m, err);
      }
      if (!skip.contains("writes") && c.updateRule() == UpdateRule.GATED) {
        writes(m, err);
      }
      if (!skip.contains("lm")) {
        lm(m, err);
      }
      if (!skip.contains("chat")) {
        chat(m, err);
      }
      if (!skip.contains("passkey")) {
        passkey(m, "passkey", lengths, depths, trials, err);
      }
      if (!skip.contains("baseline")) {
        passkey(m.withGateOverride(GateOverride.LOCAL_ONLY), "passkey-baseline",
            offLengths, depths,
            baselineTrials != null ? baselineTrials : trials, err);
      }
    }
    return 0;
  }

  private void gates(InfiniModel m) throws Exception {
    ModelConfig c = m.config();
    double[][] g = new double[c.layers()][c.heads()];
    for (int l = 0; l < c.layers(); l++) {
      float[] beta = m.weights().layer(l).gate().toFloatArray();
      for (int h = 0; h < c.heads(); h++) {
        g[l][h] = 1 / (1 + Math.exp(-beta[h]));
      }
    }
    List<String> rows = new ArrayList<>();
    for (int l = 0; l < c.layers(); l++) {
      rows.add("layer " + l);
    }
    List<String> cols = new ArrayList<>();
    for (int h = 0; h < c.heads(); h++) {
      cols.add("head " + h);
    }
    Png.heatmap(out.resolve("gates.png"), "Gate sigmoid(beta): 0 = local, 1 = memory", rows,
        cols, "", "head", g, new Color(49, 130, 189), new Color(222, 45, 38), false);
    summary.put("gates", g);
    if (c.outputGate().perToken()) {
      summary.put("gatesAreBiases", true);
      OutputGateEval eval = new OutputGateEval(gatesLength, 20, seed);
      OutputGateEval.Result r = eval.run(m);
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("documents", eval.trials() + " passkey documents of " + eval.length()
          + " tokens less 0..N-1, half with the needle at a depth in [0, 0.9], half at 1.0, seed "
          + seed
          + "; the open segment once the question is read");
      o.put("classes", OutputGateEval.CLASSES);
      o.put("positions", r.positions());
      o.put("mean", r.mean());
      summary.put("outputGate", o);
    }
    writeSummary();
  }

  /**
   * How the memory grows on the passkey's filler: the Frobenius norm of each head's M at
   * each length. Under LINEAR and DELTA it grows in proportion to the stream, so a needle written
   * once becomes a vanishing share of a read; under BOUNDED it levels off (docs/model.md).
   */
  private void growth(InfiniModel m, PrintStream err) throws Exception {
    ModelConfig c = m.config();
    List<Map<String, Object>> rows = new ArrayList<>();
    StreamState s = m.absorb(m.newState(), encode(PasskeyDocument.INTRO), false).state();
    int at = 0;
    for (int length : growthLengths) {
      s = m.absorb(s, encode(PasskeyDocument.filler(at, length - at)), false).state();
      at = length;
      double[][] norms = new double[c.layers()][c.heads()];
      double total = 0;
      for (int l = 0; l < c.layers(); l++) {
        for (int h = 0; h < c.heads(); h++) {
          norms[l][h] = s.memory(l, h).norm();
          total += norms[l][h] * norms[l][h];
        }
      }
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("fillerTokens", length);
      row.put("norm", Math.sqrt(total));
      row.put("perHead", norms);
      rows.add(row);
      err.printf("memory growth: |M| = %.4g after %d tokens of filler%n", Math.sqrt(total),
          length);
    }
    summary.put("growth", rows);
    writeSummary();
  }

  /** GATED models: the mean write strength on the needle's digits, its text and the filler. */
  private void writes(InfiniModel m, PrintStream err) throws Exception {
    WriteStrengthEval eval = new WriteStrengthEval(4096, 20, seed);
    WriteStrengthEval.Result r = eval.run(m);
    double[] all = new double[WriteStrengthEval.CLASSES.length];
    int heads = 0;
    for (double[][] layer : r.mean()) {
      for (double[] head : layer) {
        for (int k = 0; k < all.length; k++) {
          all[k] += head[k];
        }
        heads++;
      }
    }
    err.printf("write strength (mean over heads): key digits %.3g, needle text %.3g, filler %.3g%n",
        all[0] / heads, all[1] / heads, all[2] / heads);
    Map<String, Object> w = new LinkedHashMap<>();
    w.put("documents", eval.trials() + " passkey documents of " + eval.length()
        + " tokens, needle depth in [0, 0.9], seed " + seed
        + "; the segment holding the key's first mention");
    w.put("classes", WriteStrengthEval.CLASSES);
    w.put("tokens", r.tokens());
    w.put("mean", r.mean());
    summary.put("writeStrength", w);
    writeSummary();
  }

  private void lm(InfiniModel m, PrintStream err) throws Exception {
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
    LmEval.Result without = LmEval.run(m.withGateOverride(GateOverride.LOCAL_ONLY), held);
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

  private void chat(InfiniModel m, PrintStream err) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    ChatRecallEval eval = new ChatRecallEval(chatDistances, chatTrials, seed);
    r.put("memory", eval.run(m, err));
    summary.put("chat", r);
    writeSummary();
    r.put("memoryOff", eval.run(m.withGateOverride(GateOverride.LOCAL_ONLY), err));
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
    header.put("gate", m.gateOverride().toString());
    header.put("seed", seed);
    header.put("depths", depths);
    header.put("trialsPerCell", n);
    CellJournal journal = new CellJournal(out.resolve(name + ".cells.jsonl"), header, resume,
        err);
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
        Png.heatmap(out.resolve(name + ".png"), name + ": exact-key accuracy (%), " + n
            + " trials per cell", rowLabels, colLabels, "length (tokens)", "needle depth",
            acc, new Color(215, 48, 39), new Color(26, 152, 80), true);
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
    System.exit(new CommandLine(new EvalCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
  }

  static int[] encode(String s) {
    return ByteTokenizer.encode(s);
  }
}
