package io.infinistreams.training.eval;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.PasskeyDocument;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The passkey grid: for each length (tokens of document + question) and needle depth, several
 * trials with keys from the seed; a trial passes when the first number the model generates (greedy,
 * after {@link PasskeyDocument#QUESTION}) equals the key. Runs through the real inference path,
 * {@link InfiniModel#absorb} and {@link InfiniModel#generate}.
 *
 * <p>Needle position: depth d puts the needle after {@code round(d * F)} filler characters (F: the
 * document's filler in all), moved by a per-trial offset uniform in [-N/2, N/2] (clamped to the
 * document), so trials of a cell see the needle at different positions within a segment.
 *
 * <p>Question position: each trial's document is shorter than the row's length by a per-trial
 * amount uniform in [0, N-1] tokens, so the question ends anywhere in its segment, as in a live
 * stream. Without it every power-of-two length put the question at the very end of a segment and
 * the answer at the start of the next, with the whole question already compressed into memory and
 * only its last token in local attention: a placement that no trial then escaped. The open
 * segment's length at the answer is recorded per trial ({@link Trial#openTokens}), and the summary
 * reports accuracy with the question wholly in the open segment and partly in memory.
 *
 * <p>Prefix sharing (exact, not an approximation): the text before a needle is {@code INTRO +
 * filler(0, a)}, the same for every trial whatever its key, length or depth, up to its own {@code
 * a}. The trials of a length are sorted by {@code a}; one base stream absorbs the shared prefix
 * once and each trial forks the base state (states are immutable values) at its own {@code a}, then
 * absorbs its needle, the rest of its filler and the question. Absorbing is split-invariant (the
 * model's contract: memory depends only on the concatenated tokens), so a forked trial's state is
 * bit-identical to absorbing its whole document from scratch (EvalTest checks it). Cost per length:
 * L + sum over trials of (L - a) tokens, instead of trials * L.
 *
 * <p>Cells: after the shared prefix, a row runs one cell (depth column) at a time, its trials in
 * lockstep split over the threads, and hands each finished cell to a {@link Journal}; {@code eval
 * --resume} reads the cells back ({@link CellJournal}) so that a long row (1M at 20 trials per
 * cell: about two hours on two cores) survives an interruption and can span several runs.
 *
 * @param lengths tokens of document + question per row
 * @param depths needle depths in [0, 1] per column
 * @param trials trials per cell
 * @param seed seed of keys and offsets
 * @param threads worker threads (the model is thread-safe)
 */
public record PasskeyEval(
    List<Integer> lengths, List<Double> depths, int trials, long seed, int threads) {

  private static final Pattern NUMBER = Pattern.compile("\\d+");

  /**
   * One trial's plan and outcome. {@code digitNll}: teacher-forced negative log-likelihood (nats)
   * of each of the key's five digits after the question (ln 10 = 2.30 is chance); it shows which
   * digits a model carries when it does not get the whole key.
   */
  public record Trial(
      int length,
      int depthIndex,
      int index,
      int key,
      int fillerBefore,
      String generated,
      boolean pass,
      double[] digitNll,
      int documentTokens,
      int openTokens,
      NeedlePlacement needle) {}

  /**
   * Where a trial's needle lies among its stream's segments when the answer is asked. The needle is
   * ~60 tokens, so with N = 128 about half of all needles cross a segment boundary, and a model may
   * hold one kind far better than another: a needle across two compressed segments is held in part
   * by each of two writes, one running into the open segment in part by memory and in part by local
   * attention.
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
     * {@code documentTokens} (question included), read as BOS + document + question in segments of
     * {@code segmentLength} tokens (one token per character).
     */
    public static NeedlePlacement of(
        int fillerBefore, int key, int documentTokens, int segmentLength) {
      int start = PasskeyDocument.needleToken(fillerBefore); // first needle token
      int last = start + PasskeyDocument.needle(key).length() - 1; // last needle token
      // the open segment starts here; the question's last token is at documentTokens
      int openStart = documentTokens / segmentLength * segmentLength;
      if (start >= openStart) {
        return IN_OPEN_SEGMENT;
      }
      if (last >= openStart) {
        return INTO_OPEN_SEGMENT;
      }
      return start / segmentLength == last / segmentLength
          ? ONE_MEMORY_SEGMENT
          : ACROSS_MEMORY_SEGMENTS;
    }
  }

  /**
   * Of a needle from memory into the open segment: how much of it memory holds, i.e. where the
   * boundary of the open segment cuts it (the needle is " The pass key is K. Remember it. K is the
   * pass key."). The rest, and the 32 tokens before the boundary under an overlap, local attention
   * sees.
   */
  public enum IntoOpenCut {
    /** memory holds words of the first sentence but no digit of the key */
    HEAD("words, no digit"),
    /** memory holds part of the first mention of the key */
    FIRST_KEY("part of the 1st key"),
    /** memory holds the first mention of the key, the open segment the whole second one */
    BETWEEN("the 1st key"),
    /** memory holds the first mention and part of the second */
    SECOND_KEY("part of the 2nd key"),
    /** memory holds both mentions, only the needle's last words are open */
    TAIL("both keys");

    private final String label;

    IntoOpenCut(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }

    /** The cut of a trial's needle, or null if its needle is not {@code INTO_OPEN_SEGMENT}. */
    public static IntoOpenCut of(Trial t, int segmentLength) {
      if (t.needle() != NeedlePlacement.INTO_OPEN_SEGMENT) {
        return null;
      }
      int openStart = t.documentTokens() / segmentLength * segmentLength;
      // needle characters in memory
      int held = openStart - PasskeyDocument.needleToken(t.fillerBefore());
      int first = PasskeyDocument.keyOffset(t.key(), 0);
      int second = PasskeyDocument.keyOffset(t.key(), 1);
      int digits = Integer.toString(t.key()).length();
      return held <= first
          ? HEAD
          : held < first + digits
              ? FIRST_KEY
              : held <= second ? BETWEEN : held < second + digits ? SECOND_KEY : TAIL;
    }
  }

  /**
   * Tokens in the open segment when the answer's first token is predicted: BOS + document +
   * question is {@code documentTokens + 1} tokens, of which every full segment followed by a token
   * is compressed.
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
     * Mean teacher-forced NLL of the whole key (the sum of its five digits' NLL, i.e. -ln P(key)
     * given the question) per depth column; NaN for a column without trials. At 20 trials per cell,
     * where one miss is 5 points, this shows a key growing uncertain before it is lost.
     */
    public double[] meanKeyNllByDepth(int depths) {
      double[] sum = new double[depths];
      int[] n = new int[depths];
      for (Trial t : trials) {
        for (double v : t.digitNll()) {
          sum[t.depthIndex()] += v;
        }
        n[t.depthIndex()]++;
      }
      for (int j = 0; j < depths; j++) {
        sum[j] = n[j] == 0 ? Double.NaN : sum[j] / n[j];
      }
      return sum;
    }

    /**
     * {passes, trials} with the question wholly in the open segment ({@code local} true: at least
     * the question's tokens + 1 open) or partly compressed into memory.
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

    /** {passes, trials} of the trials whose needle runs into the open segment cut as {@code c}. */
    public int[] byIntoOpenCut(IntoOpenCut c, int segmentLength) {
      return passesWhere(t -> IntoOpenCut.of(t, segmentLength) == c);
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
        out.add(
            new Trial(
                length,
                j,
                i,
                key,
                before,
                null,
                false,
                null,
                doc,
                openTokens(doc, segmentLength),
                NeedlePlacement.of(before, key, doc, segmentLength)));
      }
    }
    return out;
  }

  /**
   * Where finished cells are kept, so that an interrupted evaluation resumes where it stopped (a 1M
   * row at 20 trials per cell runs for about two hours on two cores). A cell is one (length, depth)
   * with all its trials; every trial is a pure function of the seed and the model, so a cell read
   * back is what running it again would give.
   */
  public interface Journal {
    /** The finished cell (length, depth), or null if it has not run. */
    Cell done(int length, int depthIndex);

    /** Keeps a cell that has just finished. */
    void finished(int length, int depthIndex, Cell cell);

    /** Keeps nothing: every cell runs. */
    Journal NONE =
        new Journal() {
          @Override
          public Cell done(int length, int depthIndex) {
            return null;
          }

          @Override
          public void finished(int length, int depthIndex, Cell cell) {}
        };
  }

  /** The trials of one (length, depth) and the wall seconds they took to run. */
  public record Cell(List<Trial> trials, double seconds) {}

  /** Runs every length in order; {@code onRow} sees each finished row (for incremental output). */
  public List<Row> run(InfiniModel model, PrintStream progress, Consumer<Row> onRow)
      throws Exception {
    return run(model, progress, Journal.NONE, onRow);
  }

  /**
   * Runs every length in order, cell by cell (one depth column of a row at a time), skipping the
   * cells {@code journal} already holds and handing it each one that finishes.
   */
  public List<Row> run(
      InfiniModel model, PrintStream progress, Journal journal, Consumer<Row> onRow)
      throws Exception {
    List<Row> rows = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      for (int length : lengths) {
        long t0 = System.nanoTime();
        List<Trial> planned = new ArrayList<>(plan(length, model.config().segmentLength()));
        List<Trial> done = new ArrayList<>();
        List<Trial> todo = new ArrayList<>();
        double earlier = 0; // seconds of the cells read back, run by an earlier process
        int readBack = 0;
        for (int j = 0; j < depths.size(); j++) {
          Cell kept = journal.done(length, j);
          if (kept != null) {
            done.addAll(kept.trials());
            earlier += kept.seconds();
            readBack++;
          }
        }
        for (Trial t : planned) {
          if (journal.done(length, t.depthIndex()) == null) {
            todo.add(t);
          }
        }
        if (readBack > 0) {
          progress.printf(
              "passkey length %d: %d of %d cells read back from the journal%n",
              length, readBack, depths.size());
        }
        Map<Trial, StreamState> forks = forks(model, todo);
        for (int j = 0; j < depths.size(); j++) {
          final int column = j;
          List<Trial> cell = todo.stream().filter(t -> t.depthIndex() == column).toList();
          if (cell.isEmpty()) {
            continue;
          }
          long c0 = System.nanoTime();
          List<Trial> result = runCell(model, pool, cell, forks);
          double sec = (System.nanoTime() - c0) / 1e9;
          journal.finished(length, j, new Cell(result, sec));
          done.addAll(result);
          if (sec >= 30) {
            progress.printf(
                "passkey length %d depth %.2f: %d/%d pass in %.0f s%n",
                length,
                depths.get(j),
                result.stream().filter(Trial::pass).count(),
                result.size(),
                sec);
            progress.flush();
          }
        }
        done.sort(Comparator.comparingInt(Trial::depthIndex).thenComparingInt(Trial::index));
        long pass = done.stream().filter(Trial::pass).count();
        double sec = (System.nanoTime() - t0) / 1e9 + earlier;
        Row row = new Row(length, done, sec);
        rows.add(row);
        progress.printf(
            "passkey length %d: %d/%d pass (%.1f%%) in %.0f s%n",
            length, pass, done.size(), 100.0 * pass / done.size(), sec);
        progress.flush();
        onRow.accept(row);
      }
    } finally {
      pool.shutdownNow();
    }
    return rows;
  }

  /**
   * Each trial's state after the shared prefix ({@code INTRO + filler(0, a)}): one base stream
   * walks the filler once, in order of {@code a}, and each trial keeps the base as it was at its
   * own {@code a} (states are immutable values).
   */
  private static Map<Trial, StreamState> forks(InfiniModel model, List<Trial> trials) {
    Map<Trial, StreamState> forks = new IdentityHashMap<>();
    if (trials.isEmpty()) {
      return forks;
    }
    List<Trial> sorted = new ArrayList<>(trials);
    sorted.sort(Comparator.comparingInt(Trial::fillerBefore));
    StreamState base =
        model.absorb(model.newState(), ByteTokenizer.encode(PasskeyDocument.INTRO), false).state();
    int position = 0; // filler characters absorbed into base
    for (Trial t : sorted) {
      if (t.fillerBefore() > position) {
        base =
            model
                .absorb(
                    base,
                    ByteTokenizer.encode(
                        PasskeyDocument.filler(position, t.fillerBefore() - position)),
                    false)
                .state();
        position = t.fillerBefore();
      }
      forks.put(t, base);
    }
    return forks;
  }

  /**
   * The trials of one cell in lockstep (InfiniModel.absorbAll: one batched forward per segment
   * round, bit-identical to absorbing each alone), split over the threads.
   */
  private List<Trial> runCell(
      InfiniModel model, ExecutorService pool, List<Trial> cell, Map<Trial, StreamState> forks)
      throws Exception {
    int groups = Math.max(1, Math.min(threads, cell.size()));
    List<Future<List<Trial>>> futures = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      List<Trial> trialsOfGroup = new ArrayList<>();
      List<StreamState> states = new ArrayList<>();
      for (int i = g; i < cell.size(); i += groups) {
        trialsOfGroup.add(cell.get(i));
        states.add(forks.get(cell.get(i)));
      }
      futures.add(pool.submit(() -> runTrials(model, states, trialsOfGroup)));
    }
    List<Trial> out = new ArrayList<>();
    for (Future<List<Trial>> f : futures) {
      out.addAll(f.get());
    }
    out.sort(Comparator.comparingInt(Trial::index));
    return out;
  }

  /**
   * Absorbs the rest of each trial's document from its forked prefix state (all trials in
   * lockstep), then asks each and checks the answer.
   */
  static List<Trial> runTrials(InfiniModel model, List<StreamState> prefixes, List<Trial> trials) {
    List<int[]> rests = new ArrayList<>();
    for (Trial t : trials) {
      int capacity = PasskeyDocument.fillerCapacity(t.documentTokens());
      rests.add(
          ByteTokenizer.encode(
              PasskeyDocument.needle(t.key())
                  + PasskeyDocument.filler(t.fillerBefore(), capacity - t.fillerBefore())));
    }
    List<StreamState> states =
        readsNoMemory(model)
            ? openSegmentsOnly(model, prefixes, rests)
            : model.absorbAll(prefixes, rests);
    List<Trial> out = new ArrayList<>();
    for (int i = 0; i < trials.size(); i++) {
      out.add(ask(model, states.get(i), trials.get(i)));
    }
    return out;
  }

  /**
   * True if no head of {@code model} reads its memory: every output gate logit is at or below
   * {@link Weights#LOCAL_GATE_LOGIT}, so sigmoid(beta) is 0 in fp32 and each head's output is its
   * local branch alone (the memory-off baseline, {@link Weights#withMemoryOff()}, and a model
   * trained with {@code train --no-memory}).
   */
  public static boolean readsNoMemory(InfiniModel model) {
    for (Weights.Layer l : model.weights().layers()) {
      for (float beta : l.gate().toFloatArray()) {
        if (!(beta <= Weights.LOCAL_GATE_LOGIT)) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The memory-off baseline without absorbing: a model that {@link #readsNoMemory} says depends
   * only on the open segment and its context, so a state with those and zero memories answers
   * exactly as the fully absorbed one (EvalTest checks it). This makes the baseline grid cost
   * nothing at any length.
   */
  static List<StreamState> openSegmentsOnly(
      InfiniModel model, List<StreamState> prefixes, List<int[]> rests) {
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
      out.add(
          StreamState.of(
              model.config(),
              empty.memories(),
              Arrays.copyOfRange(all, from, from + c),
              Arrays.copyOfRange(all, from + c, all.length),
              p.tokensAbsorbed() + rest.length,
              p.segmentsAbsorbed() + segments));
    }
    return out;
  }

  /** Asks the question after the whole document and checks the first number generated. */
  static Trial ask(InfiniModel model, StreamState s, Trial t) {
    GenerateResult g =
        model.generate(
            s, ByteTokenizer.encode(PasskeyDocument.QUESTION), GenerationSettings.greedy(8));
    String text = ByteTokenizer.decode(g.generated());
    boolean pass = firstNumber(text) == t.key();
    AbsorbResult scored =
        model.absorb(s, ByteTokenizer.encode(PasskeyDocument.QUESTION + " " + t.key()), true);
    float[] lp = scored.logProbs();
    double[] nll = new double[5];
    for (int i = 0; i < 5; i++) {
      nll[i] = -lp[lp.length - 5 + i];
    }
    return new Trial(
        t.length(),
        t.depthIndex(),
        t.index(),
        t.key(),
        t.fillerBefore(),
        text,
        pass,
        nll,
        t.documentTokens(),
        t.openTokens(),
        t.needle());
  }
}
