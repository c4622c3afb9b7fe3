package io.infinistreams.model.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.InfiniTransformer.GateOverride;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.data.PasskeyDocument;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The passkey grid: for each length (tokens of document + question) and needle depth, several
 * trials with keys from the seed; a trial passes when the first number the model generates
 * (greedy, after {@link PasskeyDocument#QUESTION}) equals the key. Runs through the real
 * inference path, {@link InfiniModel#absorb} and {@link InfiniModel#generate}.
 *
 * <p>Needle position: depth d puts the needle after {@code round(d * F)} filler characters (F:
 * the document's filler in all), moved by a per-trial offset uniform in [-N/2, N/2] (clamped to
 * the document), so trials of a cell see the needle at different positions within a segment.
 *
 * <p>Question position: each trial's document is shorter than the row's length by a per-trial
 * amount uniform in [0, N-1] tokens, so the question ends anywhere in its segment, as in a live
 * stream. Without it every power-of-two length put the question at the very end of a segment
 * and the answer at the start of the next, with the whole question already compressed into
 * memory and only its last token in local attention: a placement that no trial then escaped. The
 * open segment's length at the answer is recorded per trial ({@link Trial#openTokens}), and the
 * summary reports accuracy with the question wholly in the open segment and partly in memory.
 *
 * <p>Prefix sharing (exact, not an approximation): the text before a needle is
 * {@code INTRO + filler(0, a)}, the same for every trial whatever its key, length or depth, up to
 * its own {@code a}. The trials of a length are sorted by {@code a}; one base stream absorbs the
 * shared prefix once and each trial forks the base state (states are immutable values) at its
 * own {@code a}, then absorbs its needle, the rest of its filler and the question. Absorbing is
 * split-invariant (the model's contract: memory depends only on the concatenated tokens), so a
 * forked trial's state is bit-identical to absorbing its whole document from scratch
 * (PasskeyEvalTest checks it). Cost per length: L + sum over trials of (L - a) tokens, instead of
 * trials * L.
 *
 * @param lengths tokens of document + question per row
 * @param depths  needle depths in [0, 1] per column
 * @param trials  trials per cell
 * @param seed    seed of keys and offsets
 * @param threads worker threads (the model is thread-safe)
 */
public record PasskeyEval(List<Integer> lengths, List<Double> depths, int trials, long seed,
    int threads) {

  private static final Pattern NUMBER = Pattern.compile("\\d+");

  /**
   * One trial's plan and outcome. {@code digitNll}: teacher-forced negative log-likelihood
   * (nats) of each of the key's five digits after the question (ln 10 = 2.30 is chance); it shows
   * which digits a model carries when it does not get the whole key.
   */
  public record Trial(int length, int depthIndex, int index, int key, int fillerBefore,
      String generated, boolean pass, double[] digitNll, int documentTokens, int openTokens,
      NeedlePlacement needle) {}

  /**
   * Where a trial's needle lies among its stream's segments when the answer is asked. The needle
   * is ~60 tokens, so with N = 128 about half of all needles cross a segment boundary; a model
   * may hold one kind far better than another (docs/evaluation.md).
   */
  public enum NeedlePlacement {
    /** wholly inside one compressed segment: one write holds all of it */
    ONE_MEMORY_SEGMENT("in one compressed segment"),
    /** across the boundary of two compressed segments: two writes hold a part each */
    ACROSS_MEMORY_SEGMENTS("across two compressed segments"),
    /** begun in a compressed segment, ended in the open one */
    INTO_OPEN_SEGMENT("from memory into the open segment"),
    /** wholly in the open segment: local attention sees all of it */
    IN_OPEN_SEGMENT("in the open segment");

    private final String label;

    NeedlePlacement(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }

    /**
     * The placement of a needle after {@code fillerBefore} filler characters in a document of
     * {@code documentTokens} (question included), read as BOS + document + question in segments
     * of {@code segmentLength} tokens (one token per character).
     */
    public static NeedlePlacement of(int fillerBefore, int key, int documentTokens,
        int segmentLength) {
      int start = PasskeyDocument.needleToken(fillerBefore); // first needle token
      int last = start + PasskeyDocument.needle(key).length() - 1; // last needle token
      int openStart = documentTokens / segmentLength * segmentLength; // the last token is at documentTokens
      if (start >= openStart) {
        return IN_OPEN_SEGMENT;
      }
      if (last >= openStart) {
        return INTO_OPEN_SEGMENT;
      }
      return start / segmentLength == last / segmentLength ? ONE_MEMORY_SEGMENT
          : ACROSS_MEMORY_SEGMENTS;
    }
  }

  /**
   * Tokens in the open segment when the answer's first token is predicted: BOS + document +
   * question is {@code documentTokens + 1} tokens, of which every full segment followed by a
   * token is compressed.
   */
  public static int openTokens(int documentTokens, int segmentLength) {
    return documentTokens % segmentLength + 1;
  }

  /** One row: the trials of a length, and how long it took. */
  public record Row(int length, List<Trial> trials, double seconds) {
    /** Mean teacher-forced NLL of each answer digit over the row's trials. */
    public double[] meanDigitNll() {
      double[] out = new double[5];
      for (Trial t : trials) {
        for (int i = 0; i < 5; i++) {
          out[i] += t.digitNll()[i] / trials.size();
        }
      }
      return out;
    }

    /**
     * {passes, trials} with the question wholly in the open segment ({@code local} true: at
     * least the question's tokens + 1 open) or partly compressed into memory.
     */
    public int[] byQuestionPlacement(boolean local) {
      int need = PasskeyDocument.QUESTION.length() + 1;
      return passesWhere(t -> (t.openTokens() >= need) == local);
    }

    /**
     * {passes, trials} of the trials whose answer is cut by a segment boundary: one of the key's
     * digits is predicted by the first position of a new segment ({@code openTokens + 4 >= N}),
     * after the question and the digits before it have been compressed into memory.
     */
    public int[] byAnswerCut(int segmentLength) {
      return passesWhere(t -> t.openTokens() + 4 >= segmentLength);
    }

    /** {passes, trials} of the trials whose needle lies as {@code p} says. */
    public int[] byNeedlePlacement(NeedlePlacement p) {
      return passesWhere(t -> t.needle() == p);
    }

    private int[] passesWhere(java.util.function.Predicate<Trial> which) {
      int pass = 0;
      int n = 0;
      for (Trial t : trials) {
        if (which.test(t)) {
          n++;
          pass += t.pass() ? 1 : 0;
        }
      }
      return new int[] {pass, n};
    }

    /** Passes per depth column. */
    public int[] passes(int depths) {
      int[] out = new int[depths];
      for (Trial t : trials) {
        out[t.depthIndex()] += t.pass() ? 1 : 0;
      }
      return out;
    }
  }

  /** The first number in {@code text}, or -1. */
  public static long firstNumber(String text) {
    Matcher m = NUMBER.matcher(text);
    if (!m.find()) {
      return -1;
    }
    String digits = m.group();
    return digits.length() > 12 ? -1 : Long.parseLong(digits);
  }

  /** The planned trials of a length (keys and needle positions), before running them. */
  public List<Trial> plan(int length, int segmentLength) {
    List<Trial> out = new ArrayList<>();
    for (int j = 0; j < depths.size(); j++) {
      Random rng = new Random(seed * 1_000_003L + length * 131L + j);
      for (int i = 0; i < trials; i++) {
        int key = PasskeyDocument.randomKey(rng);
        int offset = rng.nextInt(segmentLength + 1) - segmentLength / 2;
        int doc = length - rng.nextInt(segmentLength);
        int capacity = PasskeyDocument.fillerCapacity(doc);
        int center = PasskeyDocument.prefixFiller(doc, depths.get(j));
        int before = Math.max(0, Math.min(capacity, center + offset));
        out.add(new Trial(length, j, i, key, before, null, false, null, doc,
            openTokens(doc, segmentLength), NeedlePlacement.of(before, key, doc, segmentLength)));
      }
    }
    return out;
  }

  /** Runs every length in order; {@code onRow} sees each finished row (for incremental output). */
  public List<Row> run(InfiniModel model, PrintStream progress, Consumer<Row> onRow)
      throws Exception {
    List<Row> rows = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      for (int length : lengths) {
        long t0 = System.nanoTime();
        List<Trial> planned = new ArrayList<>(plan(length, model.config().segmentLength()));
        planned.sort(Comparator.comparingInt(Trial::fillerBefore));
        StreamState base = model.absorb(model.newState(),
            ByteTokenizer.encode(PasskeyDocument.INTRO), false).state();
        List<StreamState> forks = new ArrayList<>();
        int position = 0; // filler characters absorbed into base
        for (Trial t : planned) {
          if (t.fillerBefore() > position) {
            base = model.absorb(base, ByteTokenizer.encode(
                PasskeyDocument.filler(position, t.fillerBefore() - position)), false).state();
            position = t.fillerBefore();
          }
          forks.add(base);
        }
        // The trials of a length run in lockstep (InfiniModel.absorbAll: one batched forward
        // per segment round, bit-identical to absorbing each alone), split over the threads.
        int groups = Math.max(1, Math.min(threads, planned.size()));
        List<Future<List<Trial>>> futures = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
          List<Trial> trials = new ArrayList<>();
          List<StreamState> states = new ArrayList<>();
          for (int i = g; i < planned.size(); i += groups) {
            trials.add(planned.get(i));
            states.add(forks.get(i));
          }
          futures.add(pool.submit(() -> runTrials(model, states, trials)));
        }
        List<Trial> done = new ArrayList<>();
        int pass = 0;
        for (Future<List<Trial>> f : futures) {
          for (Trial t : f.get()) {
            done.add(t);
            pass += t.pass() ? 1 : 0;
          }
        }
        done.sort(Comparator.comparingInt(Trial::depthIndex).thenComparingInt(Trial::index));
        double sec = (System.nanoTime() - t0) / 1e9;
        Row row = new Row(length, done, sec);
        rows.add(row);
        progress.printf("passkey length %d: %d/%d pass (%.1f%%) in %.0f s%n", length, pass,
            done.size(), 100.0 * pass / done.size(), sec);
        progress.flush();
        onRow.accept(row);
      }
    } finally {
      pool.shutdownNow();
    }
    return rows;
  }

  /**
   * Absorbs the rest of each trial's document from its forked prefix state (all trials in
   * lockstep), then asks each and checks the answer.
   */
  static List<Trial> runTrials(InfiniModel model, List<StreamState> prefixes, List<Trial> trials) {
    List<int[]> rests = new ArrayList<>();
    for (Trial t : trials) {
      int capacity = PasskeyDocument.fillerCapacity(t.documentTokens());
      rests.add(ByteTokenizer.encode(PasskeyDocument.needle(t.key())
          + PasskeyDocument.filler(t.fillerBefore(), capacity - t.fillerBefore())));
    }
    List<StreamState> states = model.gateOverride() == GateOverride.LOCAL_ONLY
        ? openSegmentsOnly(model, prefixes, rests) : model.absorbAll(prefixes, rests);
    List<Trial> out = new ArrayList<>();
    for (int i = 0; i < trials.size(); i++) {
      out.add(ask(model, states.get(i), trials.get(i)));
    }
    return out;
  }

  /**
   * The memory-off baseline without absorbing: with the gate forced to the local branch no
   * memory is ever read, so what the model says depends only on the open segment, and a state
   * with that open segment and zero memories answers exactly as the fully absorbed one
   * (EvalTest checks it). This makes the baseline grid cost nothing at any length.
   */
  static List<StreamState> openSegmentsOnly(InfiniModel model, List<StreamState> prefixes,
      List<int[]> rests) {
    int n = model.config().segmentLength();
    int c = model.config().overlap();
    List<StreamState> out = new ArrayList<>();
    StreamState empty = model.newState();
    for (int i = 0; i < prefixes.size(); i++) {
      StreamState p = prefixes.get(i);
      int[] open = p.openTokens();
      int[] rest = rests.get(i);
      int[] all = new int[c + open.length + rest.length]; // context, open, rest
      System.arraycopy(p.contextTokens(), 0, all, 0, c);
      System.arraycopy(open, 0, all, c, open.length);
      System.arraycopy(rest, 0, all, c + open.length, rest.length);
      int total = open.length + rest.length;
      int segments = total == 0 ? 0 : (total - 1) / n;
      int from = segments * n; // the new context starts here in all[], the open tail at from + c
      out.add(StreamState.of(model.config(), empty.memories(),
          Arrays.copyOfRange(all, from, from + c), Arrays.copyOfRange(all, from + c, all.length),
          p.tokensAbsorbed() + rest.length, p.segmentsAbsorbed() + segments));
    }
    return out;
  }

  /** Asks the question after the whole document and checks the first number generated. */
  static Trial ask(InfiniModel model, StreamState s, Trial t) {
    GenerateResult g = model.generate(s, ByteTokenizer.encode(PasskeyDocument.QUESTION),
        GenerationSettings.greedy(8));
    String text = ByteTokenizer.decode(g.generated());
    boolean pass = firstNumber(text) == t.key();
    float[] lp = model.absorb(s, ByteTokenizer.encode(PasskeyDocument.QUESTION + " " + t.key()),
        true).logProbs();
    double[] nll = new double[5];
    for (int i = 0; i < 5; i++) {
      nll[i] = -lp[lp.length - 5 + i];
    }
    return new Trial(t.length(), t.depthIndex(), t.index(), t.key(), t.fillerBefore(), text,
        pass, nll, t.documentTokens(), t.openTokens(), t.needle());
  }
}
