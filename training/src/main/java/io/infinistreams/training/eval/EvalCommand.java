package io.infinistreams.training.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.PasskeyDocument;
import io.infinistreams.tasks.TextCorpus;
import io.infinistreams.tasks.prose.Corpora;
import io.infinistreams.tasks.prose.Phrasing;
import io.infinistreams.tasks.prose.RetrievalTask;
import io.infinistreams.training.CommandLines;
import io.infinistreams.training.TaskMixes;
import io.infinistreams.training.TrainCheckpoint;
import java.awt.Color;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
 * recall against distance with memory and without, held-out bits per byte with and without memory,
 * and the real-prose retrieval grids ({@link RetrievalEval}: needle, multi-key, near-copy keys,
 * fact tracking, chat facts) on held-out prose with memory and without; writes JSON, PNG and a
 * markdown summary under {@code --out}, each rewritten as rows finish so an interrupted run leaves
 * what it measured.
 */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate a checkpoint: passkey grid, memory-off baseline, chat recall, LM"
          + " bits/byte, and retrieval from held-out real prose (needle, multikey, multikey-near,"
          + " facts, chat-facts), each beside its memory-off baseline.",
      "",
      "The prose parts and the held-out prose rows of lm read the prepared corpora"
          + " (training/corpora/prepare.sh). Where they are missing: with --prose or --heldout"
          + " given, eval stops at once with a one-line message (exit code 2); otherwise it prints"
          + " a note, skips the prose parts and the prose rows, and runs the rest."
    })
public final class EvalCommand implements Callable<Integer> {

  /** The parts {@code --skip} names. */
  static final List<String> PARTS =
      List.of(
          "passkey",
          "baseline",
          "chat",
          "lm",
          "surprise",
          "writes",
          "needle",
          "multikey",
          "multikey-near",
          "facts",
          "chat-facts");

  @Option(
      names = "--model",
      description =
          "Model directory, or the checkpoint folder of a running training stage"
              + " (default: the shipped default model).")
  Path model;

  @Option(
      names = "--out",
      required = true,
      description =
          "Output directory: results.json, summary.md, a heatmap and a cell journal"
              + " per grid (<part>.png, <part>-baseline.png, <part>.cells.jsonl).")
  Path out;

  @Option(
      names = "--lengths",
      split = ",",
      defaultValue = "1024,4096,16384,65536,262144,1048576",
      description =
          "Lengths in tokens of the passkey and prose grids (default" + " ${DEFAULT-VALUE}).")
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
      description =
          "Corpus whose held-out tail is scored: kjv, synthetic or a text file"
              + " (default ${DEFAULT-VALUE}).")
  String corpus;

  @Option(
      names = "--prose",
      paramLabel = "DIR",
      description =
          "Folder of the prepared corpora whose held-out split the prose parts read"
              + " (default: $INFINI_DATA, else ~/.cache/infini-streams/corpora).")
  Path prose;

  @Option(
      names = "--heldout",
      paramLabel = "NAME",
      defaultValue = HeldOutProse.ALL,
      description =
          "Held-out prose of the prose parts and LM rows: sotu, europarl (a held-out"
              + " corpus of the manifest) or all, their mix (default ${DEFAULT-VALUE}).")
  String heldout;

  @Option(
      names = "--phrasing",
      defaultValue = "EVAL",
      description =
          "Share of templates, labels and values the prose parts draw from: EVAL, never"
              + " trained on, or TRAIN, the training share, to tell retrieval apart from"
              + " reading unseen words (default ${DEFAULT-VALUE}).")
  Phrasing phrasing;

  @Option(
      names = "--lm-prose-bytes",
      defaultValue = "65536",
      description =
          "Bytes of each held-out prose corpus scored as one stream, drawn at a fixed"
              + " seed per corpus (default ${DEFAULT-VALUE}).")
  int lmProseBytes;

  @Option(
      names = "--writes-trials",
      description = "Documents of 4,096 tokens in the writes part (default 20).")
  int writesTrials = 20;

  @Option(
      names = "--writes-task",
      paramLabel = "TASK",
      defaultValue = "needle",
      description =
          "Retrieval task whose documents the writes part measures: needle, multikey,"
              + " multikey-near, facts or chat-facts (default ${DEFAULT-VALUE}).")
  String writesTask;

  @Option(
      names = "--surprise-trials",
      description = "Streams per kind of text in the surprise part (default 20).")
  int surpriseTrials = 20;

  @Option(
      names = "--skip",
      split = ",",
      description =
          "Parts to skip: passkey, baseline, chat, lm, surprise, writes, needle, multikey,"
              + " multikey-near, facts, chat-facts.")
  List<String> skip = new ArrayList<>();

  @Option(
      names = "--seed",
      defaultValue = "7",
      description =
          "Seed of keys, offsets, facts, prose documents (default" + " ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description =
          "Worker threads of the passkey and prose grids (default" + " ${DEFAULT-VALUE}).")
  int threads;

  @Option(
      names = "--local-heads",
      split = ",",
      paramLabel = "LAYER.HEAD",
      description =
          "Ablation: force these heads' output gates to the local branch (beta set to"
              + " -1e4; e.g. 1.1,0.3). The evaluated weights, and so the fingerprint, are the edited"
              + " ones; memory is still written.")
  List<String> localHeads = new ArrayList<>();

  @Option(
      names = "--write-top-k",
      paramLabel = "K",
      description =
          "Evaluate the checkpoint with each head writing only a segment's K tokens of largest"
              + " write logit (GATED; the same weights under another writeTopK, so another"
              + " fingerprint). Default: the checkpoint's own.")
  Integer writeTopK;

  @Option(
      names = "--read-eps",
      paramLabel = "EPS",
      description =
          "Evaluate the checkpoint with another eps of the NORMALIZED read (in (0, 1]; the same"
              + " weights under another readEps, so another fingerprint). Default: the"
              + " checkpoint's own.")
  Float readEps;

  @Option(
      names = "--write-threshold",
      paramLabel = "X",
      description =
          "Ablation (GATED): lower every head's write bias by X, so that a token writes only where"
              + " its write logit was above X (under the sparse gate, a logit at or below X writes"
              + " nothing): how much a stricter write keeps of a fact in a long stream. The"
              + " evaluated weights, and so the fingerprint, are the edited ones.")
  Float writeThreshold;

  @Option(
      names = "--write-scale",
      paramLabel = "S",
      description =
          "Ablation (GATED): multiply every head's write logit by S (after --write-threshold), so"
              + " that the writes that remain are firmer (S > 1) or softer. The evaluated weights,"
              + " and so the fingerprint, are the edited ones.")
  Float writeScale;

  @Option(
      names = "--resume",
      description =
          "Continue an interrupted run in --out: the passkey and prose cells already"
              + " kept in <part>.cells.jsonl (appended as each cell finishes) are read back instead"
              + " of run again. The file must have been written for the same model, seed, depths,"
              + " trials per cell (and prose). Without it those files start anew.")
  boolean resume;

  @Spec CommandSpec spec;

  String commandLine = "eval";

  /** Where messages and progress go. */
  PrintStream err = System.err;

  /** The corpora folder when {@code --prose} is not given (tests point it elsewhere). */
  Path defaultProse = Corpora.defaultDirectory();

  /**
   * Refuses, before anything runs, a passkey length too short for every trial's document: each is
   * shorter than its row's length by up to N-1 tokens (so the question ends anywhere in its
   * segment) and must still hold the intro, the needle and the question.
   */
  static void checkLengths(String option, List<Integer> lengths, ModelConfig c) {
    int least = PasskeyDocument.minimumChars() + c.segmentLength() - 1;
    for (int length : lengths) {
      if (length < least) {
        throw new IllegalArgumentException(
            option
                + ": "
                + length
                + " tokens is too short for "
                + "this model: a trial's document is up to N-1 = "
                + (c.segmentLength() - 1)
                + " tokens shorter than its row's length and needs at least "
                + PasskeyDocument.minimumChars()
                + " characters, so each length must be at least "
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
      w =
          w.withGateLogit(
              Integer.parseInt(parts[0]),
              Integer.parseInt(parts[1]),
              Weights.LOCAL_GATE_LOGIT); // refuses a head the model does not have
    }
    return w;
  }

  private static final Gson GSON =
      new GsonBuilder()
          .setPrettyPrinting()
          .serializeSpecialFloatingPointValues()
          .disableHtmlEscaping()
          .create();
  private final Map<String, Object> summary = new LinkedHashMap<>();

  /** The held-out prose of the prose parts, or null if none runs. */
  private HeldOutProse heldOut;

  /** Why the prose parts were skipped, or null. */
  private String proseSkipped;

  @Override
  public Integer call() throws Exception {
    commandLine = CommandLines.typed(spec, commandLine);
    for (String part : skip) {
      if (!PARTS.contains(part.trim())) {
        throw usage("--skip: no part '" + part + "' (parts: " + String.join(", ", PARTS) + ")");
      }
    }
    if (!(depthStep > 0 && depthStep <= 1)
        || trials < 1
        || chatTrials < 1
        || lmProseBytes < 1
        || surpriseTrials < 1
        || writesTrials < 1) {
      throw usage(
          "need 0 < --depth-step <= 1, --trials >= 1, --chat-trials >= 1, --lm-prose-bytes >= 1,"
              + " --surprise-trials >= 1 and --writes-trials >= 1");
    }
    if (!RetrievalTask.NAMES.contains(writesTask)) {
      throw usage(
          "unknown --writes-task "
              + writesTask
              + " (tasks: "
              + String.join(", ", RetrievalTask.NAMES)
              + ")");
    }
    List<Double> depths = new ArrayList<>();
    for (int i = 0; i <= Math.round(1 / depthStep); i++) {
      depths.add(Math.min(1.0, i * depthStep));
    }
    List<String> proseParts = RetrievalEval.TASKS.stream().filter(t -> !skips(t)).toList();
    if (!proseParts.isEmpty() || !skips("lm") || !skips("surprise") || !skips("writes")) {
      try {
        heldOut =
            HeldOutProse.load(
                prose != null ? prose : defaultProse,
                prose != null ? prose.toString() : null,
                heldout);
        for (String task : proseParts) {
          new RetrievalEval(
                  RetrievalEval.task(task, heldOut.source(), phrasing),
                  lengths,
                  depths,
                  trials,
                  seed,
                  threads)
              .check();
        }
      } catch (HeldOutProse.Missing e) {
        if (given("--prose") || given("--heldout")) {
          err.println(e.getMessage());
          return 2;
        }
        List<String> skipped = new ArrayList<>(proseParts);
        if (!skips("surprise")) {
          skipped.add("surprise");
        }
        if (!skips("writes")) {
          skipped.add("writes");
        }
        err.println(
            "note: skipping "
                + String.join(", ", skipped)
                + (skips("lm")
                    ? ""
                    : (skipped.isEmpty() ? "" : " and ") + "the held-out prose rows of lm")
                + ": "
                + e.getMessage());
        proseSkipped = e.getMessage();
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage());
      }
    }
    boolean running =
        model != null
            && TrainCheckpoint.isTrainingCheckpoint(model)
            && !Files.exists(model.resolve(Checkpoint.MANIFEST_FILE));
    try (InfiniModel loaded =
        model == null
            ? InfiniModel.loadDefault()
            : running ? TrainCheckpoint.loadModel(model) : InfiniModel.load(model)) {
      List<Integer> offLengths = baselineLengths != null ? baselineLengths : lengths;
      InfiniModel m;
      try {
        Weights w = localHeads.isEmpty() ? null : withLocalHeads(loaded.weights(), localHeads);
        if (writeTopK != null) {
          w = (w == null ? loaded.weights() : w).withWriteTopK(writeTopK);
        }
        if (readEps != null) {
          w = (w == null ? loaded.weights() : w).withReadEps(readEps);
        }
        if (writeThreshold != null || writeScale != null) {
          w =
              (w == null ? loaded.weights() : w)
                  .withWriteLogits(
                      writeScale == null ? 1f : writeScale,
                      writeThreshold == null ? 0f : writeThreshold);
        }
        m = w == null ? loaded : InfiniModel.fromWeights(w);
        if (!skips("passkey")) {
          checkLengths("--lengths", lengths, m.config());
        }
        if (!skips("baseline")) {
          checkLengths(
              baselineLengths != null ? "--baseline-lengths" : "--lengths", offLengths, m.config());
        }
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage());
      }
      InfiniModel off = InfiniModel.fromWeights(m.weights().withMemoryOff());
      ModelConfig c = m.config();
      Files.createDirectories(out);
      summary.put("command", commandLine);
      summary.put("model", model == null ? "the shipped default model" : model.toString());
      if (running) {
        summary.put("checkpointStep", TrainCheckpoint.readState(model).step());
      }
      if (!localHeads.isEmpty()) {
        summary.put("localHeads", localHeads);
      }
      if (writeTopK != null) {
        summary.put("writeTopK", writeTopK);
      }
      if (readEps != null) {
        summary.put("readEps", readEps);
      }
      if (writeThreshold != null) {
        summary.put("writeThreshold", writeThreshold);
      }
      if (writeScale != null) {
        summary.put("writeScale", writeScale);
      }
      summary.put("fingerprint", m.fingerprint());
      summary.put("memoryOffFingerprint", off.fingerprint());
      summary.put("config", c);
      proseSummary(proseParts);
      err.println("model " + c + " fingerprint " + m.fingerprint());
      if (!skips("lm")) {
        lm(m, off, err);
      }
      if (!skips("surprise") && heldOut != null) {
        surprise(m, off, err);
      }
      if (!skips("writes") && heldOut != null) {
        writes(m, err);
      }
      if (!skips("chat")) {
        chat(m, off, err);
      }
      if (!skips("passkey")) {
        passkey(m, "passkey", lengths, depths, trials, err);
      }
      if (!skips("baseline")) {
        passkey(
            off,
            "passkey-baseline",
            offLengths,
            depths,
            baselineTrials != null ? baselineTrials : trials,
            err);
      }
      for (String task : heldOut == null ? List.<String>of() : proseParts) {
        retrieval(task, m, off, depths);
      }
    }
    return 0;
  }

  /** True if option {@code name} was given on the command line. */
  private boolean given(String name) {
    return spec != null
        && spec.commandLine().getParseResult() != null
        && spec.commandLine().getParseResult().hasMatchedOption(name);
  }

  /** What the prose parts read (or why they were skipped), for the results. */
  private void proseSummary(List<String> proseParts) {
    if (heldOut == null && proseSkipped == null) {
      return;
    }
    Map<String, Object> p = new LinkedHashMap<>();
    p.put(
        "corpora",
        prose != null
            ? prose.toString()
            : "the default corpora folder ($INFINI_DATA, else ~/.cache/infini-streams/corpora)");
    p.put("heldout", heldout);
    p.put("phrasing", phrasing.name());
    p.put("parts", proseParts);
    if (heldOut == null) {
      p.put("skipped", proseSkipped);
    } else {
      p.put("source", heldOut.shares());
      p.put("bytesPerWord", heldOut.bytesPerWord());
    }
    summary.put("prose", p);
  }

  /** A usage error: picocli prints the message and the usage, and the exit code is 2. */
  private RuntimeException usage(String message) {
    return spec == null
        ? new IllegalArgumentException(message)
        : new CommandLine.ParameterException(spec.commandLine(), message);
  }

  private boolean skips(String part) {
    return skip.stream().anyMatch(s -> s.trim().equals(part));
  }

  /**
   * Bits per byte of {@code --corpus}'s held-out tail, then of a fixed draw of each held-out prose
   * corpus (rows {@code lmProse}), with memory and without.
   */
  private void lm(InfiniModel m, InfiniModel off, PrintStream err) throws Exception {
    TextCorpus text;
    try {
      text = TaskMixes.corpus(corpus);
    } catch (IllegalStateException e) {
      err.println("skipping LM eval of --corpus " + corpus + ": " + e.getMessage());
      summary.put("lm", "skipped: " + e.getMessage());
      text = null;
    }
    if (text != null) {
      lmCorpus(m, off, text, err);
    }
    if (heldOut == null) {
      return;
    }
    List<ProseLm> rows = new ArrayList<>();
    summary.put("lmProse", rows);
    for (int i = 0; i < heldOut.names().size(); i++) {
      String name = heldOut.names().get(i);
      int[] tokens = heldOut.lmTokens(i, lmProseBytes);
      LmEval.Result with = LmEval.run(m, tokens);
      LmEval.Result without = LmEval.run(off, tokens);
      rows.add(new ProseLm(name, HeldOutProse.lmSeed(name), with, without));
      err.printf(
          "LM held-out prose %s, %d bytes: %.3f bits/byte with memory, %.3f without%n",
          name, with.bytes(), with.bitsPerByte(), without.bitsPerByte());
      writeSummary();
    }
  }

  /** The surprise part ({@link SurpriseEval}) on the held-out prose, memory on and off. */
  @SuppressWarnings("unchecked")
  private void surprise(InfiniModel m, InfiniModel off, PrintStream err) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("trials", surpriseTrials);
    r.put("memory", SurpriseEval.run(m, heldOut.source(), surpriseTrials, seed));
    r.put("memoryOff", SurpriseEval.run(off, heldOut.source(), surpriseTrials, seed));
    summary.put("surprise", r);
    for (SurpriseEval.Row row : (List<SurpriseEval.Row>) r.get("memory")) {
      err.printf(
          Locale.ROOT,
          "surprise %s: %.3f bits/byte vs %.3f around it, apart in %.0f%% of streams%n",
          row.kind(),
          row.injectedBpb(),
          row.neighboursBpb(),
          100 * row.separated());
    }
    writeSummary();
  }

  /**
   * The write-strength part ({@link WritesEval}) on documents of the held-out prose of the task
   * {@code --writes-task}, in the {@code --phrasing} share.
   */
  private void writes(InfiniModel m, PrintStream err) throws Exception {
    List<WritesEval.Row> rows =
        WritesEval.run(
            m.weights(),
            RetrievalEval.task(writesTask, heldOut.source(), phrasing),
            writesTrials,
            seed);
    if (rows.isEmpty()) {
      summary.put(
          "writes", "not measured: the " + m.config().updateRule() + " rule has no write strength");
    } else {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("task", writesTask);
      r.put("phrasing", phrasing.name());
      r.put("trials", writesTrials);
      r.put("length", WritesEval.LENGTH);
      r.put("rows", rows);
      summary.put("writes", r);
      for (WritesEval.Row row : rows) {
        err.printf(
            Locale.ROOT,
            "writes layer %d head %d: beta %.4f on the value, %.4f on the statement, %.4f on prose"
                + " (%.1f %% of prose tokens written)%n",
            row.layer(),
            row.head(),
            row.value(),
            row.statement(),
            row.prose(),
            100 * row.proseWritten());
      }
    }
    writeSummary();
  }

  /**
   * Bits per byte of a fixed draw of a held-out prose corpus.
   *
   * @param seed the draw's seed ({@link HeldOutProse#lmSeed})
   */
  record ProseLm(String corpus, long seed, LmEval.Result memory, LmEval.Result memoryOff) {}

  private void lmCorpus(InfiniModel m, InfiniModel off, TextCorpus text, PrintStream err)
      throws Exception {
    int[] held = text.heldOut(lmBytes);
    LmEval.Result with = LmEval.run(m, held);
    LmEval.Result without = LmEval.run(off, held);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("corpus", text.name());
    r.put("heldOutFrom", text.trainBytes());
    r.put("memory", with);
    r.put("memoryOff", without);
    summary.put("lm", r);
    err.printf(
        "LM held-out %d bytes: %.3f bits/byte with memory, %.3f without%n",
        with.bytes(), with.bitsPerByte(), without.bitsPerByte());
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

  private void passkey(
      InfiniModel m, String name, List<Integer> lens, List<Double> depths, int n, PrintStream err)
      throws Exception {
    PasskeyEval eval = new PasskeyEval(lens, depths, n, seed, threads);
    List<PasskeyEval.Row> done = new ArrayList<>();
    results(name, Map.of(), lens, depths, n, done);
    CellJournal journal =
        new CellJournal(
            out.resolve(name + ".cells.jsonl"),
            journalHeader(name, m, depths, n, Map.of()),
            resume,
            err);
    eval.run(
        m,
        err,
        journal,
        row -> {
          done.add(row);
          Map<Integer, int[]> passes = new LinkedHashMap<>();
          for (PasskeyEval.Row d : done) {
            passes.put(d.length(), d.passes(depths.size()));
          }
          heatmap(
              name,
              name + ": exact-key accuracy (%), " + n + " trials per cell",
              lens,
              depths,
              n,
              passes);
        });
  }

  /**
   * The grid of retrieval task {@code name} on the held-out prose, with memory and without
   * (heatmaps {@code name.png} and {@code name-baseline.png}).
   */
  private void retrieval(String name, InfiniModel m, InfiniModel off, List<Double> depths)
      throws Exception {
    RetrievalEval eval =
        new RetrievalEval(
            RetrievalEval.task(name, heldOut.source(), phrasing),
            lengths,
            depths,
            trials,
            seed,
            threads);
    List<RetrievalEval.Row> done = new ArrayList<>();
    Map<String, Object> task = new LinkedHashMap<>();
    task.put("prose", heldOut.source().name());
    task.put("shares", heldOut.shares());
    task.put("phrasing", eval.task().phrasing());
    task.put("maxNewTokens", RetrievalEval.MAX_NEW_TOKENS);
    results(name, task, lengths, depths, trials, done);
    Map<String, Object> more = new LinkedHashMap<>(task);
    more.put("proseBytes", heldOut.source().bytes());
    more.put("memoryOffFingerprint", off.fingerprint());
    more.put("documents", RetrievalEval.DOCUMENTS);
    TrialJournal<RetrievalEval.Trial> journal =
        new TrialJournal<>(
            out.resolve(name + ".cells.jsonl"),
            journalHeader(name, m, depths, trials, more),
            resume,
            err,
            RetrievalEval.Trial.class);
    eval.run(
        m,
        off,
        err,
        journal,
        row -> {
          done.add(row);
          for (boolean memory : new boolean[] {true, false}) {
            Map<Integer, int[]> correct = new LinkedHashMap<>();
            for (RetrievalEval.Row d : done) {
              correct.put(d.length(), d.correct(depths.size(), memory));
            }
            heatmap(
                memory ? name : name + "-baseline",
                name
                    + (memory ? "" : ", memory off")
                    + ": accuracy (%), "
                    + trials
                    + " trials per cell",
                lengths,
                depths,
                trials,
                correct);
          }
        });
  }

  /**
   * The results entry {@code name} of a grid: {@code first}, then the grid and its {@code rows}
   * (filled in as they finish).
   */
  private void results(
      String name,
      Map<String, Object> first,
      List<Integer> lens,
      List<Double> depths,
      int n,
      List<?> rows) {
    Map<String, Object> r = new LinkedHashMap<>(first);
    r.put("lengths", lens);
    r.put("depths", depths);
    r.put("trialsPerCell", n);
    r.put("seed", seed);
    r.put("rows", rows);
    summary.put(name, r);
  }

  /**
   * The header of a grid's cell journal: what its cells depend on ({@code more} after the model,
   * seed and grid), so that {@code --resume} never mixes in cells of another run.
   */
  private Map<String, Object> journalHeader(
      String part, InfiniModel m, List<Double> depths, int n, Map<String, Object> more) {
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("part", part);
    header.put("fingerprint", m.fingerprint());
    header.put("config", m.config());
    header.put("seed", seed);
    header.put("depths", depths);
    header.put("trialsPerCell", n);
    header.putAll(more);
    return header;
  }

  /**
   * Heatmap {@code file.png} of a grid (rows: lengths, columns: depths) from the successes per
   * depth of the lengths run so far, {@code n} trials per cell; then the summary, rewritten.
   */
  private void heatmap(
      String file,
      String title,
      List<Integer> lens,
      List<Double> depths,
      int n,
      Map<Integer, int[]> successes) {
    try {
      double[][] acc = new double[lens.size()][depths.size()];
      for (double[] a : acc) {
        Arrays.fill(a, Double.NaN);
      }
      successes.forEach(
          (length, p) -> {
            for (int j = 0; j < p.length; j++) {
              acc[lens.indexOf(length)][j] = p[j] / (double) n;
            }
          });
      List<String> rowLabels = lens.stream().map(EvalCommand::tokens).toList();
      List<String> colLabels = depths.stream().map(d -> Math.round(d * 100) + "%").toList();
      Png.heatmap(
          out.resolve(file + ".png"),
          title,
          rowLabels,
          colLabels,
          "length (tokens)",
          "needle depth",
          acc,
          new Color(215, 48, 39),
          new Color(26, 152, 80),
          true);
      writeSummary();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  static String tokens(int n) {
    return n >= 1 << 20 && n % (1 << 20) == 0
        ? (n >> 20) + "M"
        : n >= 1024 && n % 1024 == 0 ? (n >> 10) + "K" : Integer.toString(n);
  }

  /** Writes results.json, summary.md and each measurement's page from what has been measured. */
  private synchronized void writeSummary() throws Exception {
    Files.writeString(out.resolve("results.json"), GSON.toJson(summary), StandardCharsets.UTF_8);
    for (Map.Entry<String, String> page : Markdown.pages(summary).entrySet()) {
      Files.writeString(out.resolve(page.getKey()), page.getValue(), StandardCharsets.UTF_8);
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new EvalCommand()).execute(args));
  }

  static int[] encode(String s) {
    return ByteTokenizer.encode(s);
  }
}
