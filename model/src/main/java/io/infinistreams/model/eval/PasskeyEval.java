package io.infinistreams.model.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.data.PasskeyDocument;
import java.io.PrintStream;
import java.util.ArrayList;
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

  /** One trial's plan and outcome. */
  public record Trial(int length, int depthIndex, int index, int key, int fillerBefore,
      String generated, boolean pass) {}

  /** One row: the trials of a length, and how long it took. */
  public record Row(int length, List<Trial> trials, double seconds) {
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
    int capacity = PasskeyDocument.fillerCapacity(length);
    for (int j = 0; j < depths.size(); j++) {
      Random rng = new Random(seed * 1_000_003L + length * 131L + j);
      int center = PasskeyDocument.prefixFiller(length, depths.get(j));
      for (int i = 0; i < trials; i++) {
        int key = PasskeyDocument.randomKey(rng);
        int offset = rng.nextInt(segmentLength + 1) - segmentLength / 2;
        int before = Math.max(0, Math.min(capacity, center + offset));
        out.add(new Trial(length, j, i, key, before, null, false));
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
        List<Future<Trial>> futures = new ArrayList<>();
        StreamState base = model.absorb(model.newState(),
            ByteTokenizer.encode(PasskeyDocument.INTRO), false).state();
        int position = 0; // filler characters absorbed into base
        for (Trial t : planned) {
          if (t.fillerBefore() > position) {
            base = model.absorb(base, ByteTokenizer.encode(
                PasskeyDocument.filler(position, t.fillerBefore() - position)), false).state();
            position = t.fillerBefore();
          }
          StreamState fork = base;
          futures.add(pool.submit(() -> runTrial(model, fork, t)));
        }
        List<Trial> done = new ArrayList<>();
        int pass = 0;
        for (Future<Trial> f : futures) {
          Trial t = f.get();
          done.add(t);
          pass += t.pass() ? 1 : 0;
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

  /** Absorbs the rest of the trial's document from the forked prefix state, asks, checks. */
  static Trial runTrial(InfiniModel model, StreamState prefix, Trial t) {
    int capacity = PasskeyDocument.fillerCapacity(t.length());
    String rest = PasskeyDocument.needle(t.key())
        + PasskeyDocument.filler(t.fillerBefore(), capacity - t.fillerBefore());
    StreamState s = model.absorb(prefix, ByteTokenizer.encode(rest), false).state();
    GenerateResult g = model.generate(s, ByteTokenizer.encode(PasskeyDocument.QUESTION),
        GenerationSettings.greedy(8));
    String text = ByteTokenizer.decode(g.generated());
    boolean pass = firstNumber(text) == t.key();
    return new Trial(t.length(), t.depthIndex(), t.index(), t.key(), t.fillerBefore(), text,
        pass);
  }
}
