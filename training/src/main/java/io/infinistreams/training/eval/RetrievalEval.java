package io.infinistreams.training.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.tasks.prose.Phrasing;
import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.RetrievalDocument;
import io.infinistreams.tasks.prose.RetrievalTask;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * A retrieval task's grid, RULER and BABILong style: for each length (tokens of the document,
 * question prompt included) and depth of the answering statement, several trials, each a document
 * made by {@link RetrievalTask#document} from the trial's seed. A trial absorbs the document's
 * {@link RetrievalDocument#context()}, then generates greedily after its {@link
 * RetrievalDocument#prompt()} (up to {@value #MAX_NEW_TOKENS} tokens, stopping at EOS) and is
 * scored by {@link RetrievalDocument#correct}: the first word generated must be the value.
 *
 * <p>Every trial runs twice on the same document: with memory, and with the memory switched off
 * (the same weights with every head's output gate at its local branch, {@link
 * io.infinistreams.model.Weights#withMemoryOff()}). The trials of a cell absorb in lockstep ({@link
 * InfiniModel#absorbAll}, split over the threads); a model that reads no memory needs only the open
 * segment and its context ({@link PasskeyEval#openSegmentsOnly}), so the memory-off run costs
 * nothing at any length.
 *
 * <p>Prefix sharing (exact, not an approximation): trial {@code i} of every depth column of a row
 * draws from the same seed ({@link #document} leaves the depth out), so its documents have the same
 * prose and the same other statements and differ from the first statement that the depth moves on.
 * Before a row's cells run, one stream per trial walks the deepest of its documents and keeps its
 * state where each other document leaves it ({@link #forks}: a longest common prefix, so any task's
 * documents are shared exactly as far as they agree); each cell then absorbs only the rest of its
 * documents from those states. Absorbing is split-invariant (the model's contract), so a trial's
 * state is bit-identical to absorbing its whole document alone. For the needle and multi-key tasks,
 * whose other statements do not depend on the depth, a row with depths 0, 0.1, ..., 1 costs about
 * 6.5 documents per trial instead of 11.
 *
 * <p>Cells are handed to a {@link TrialJournal} as they finish, so {@code eval --resume} runs only
 * the cells an interrupted run did not finish (after walking the shared prefixes of their row
 * again). A document is a pure function of the seed, the task, the prose, the length, the depth and
 * the trial's index.
 *
 * @param task what makes the documents (built with {@link Phrasing#EVAL}, or TRAIN for a diagnosis,
 *     on held-out prose)
 * @param lengths tokens per document, one row each
 * @param depths depths of the answering statement in [0, 1], one column each
 * @param trials trials per cell
 * @param seed seed of the documents
 * @param threads worker threads (the model is thread-safe)
 */
public record RetrievalEval(
    RetrievalTask task,
    List<Integer> lengths,
    List<Double> depths,
    int trials,
    long seed,
    int threads) {

  /**
   * How the grid's documents are drawn, in the cell journal's header so that a journal of documents
   * drawn otherwise is not resumed: the trial's seed leaves the depth out.
   */
  public static final String DOCUMENTS = "one seed per trial, shared by its depths";

  /** Most tokens generated after the prompt; an answer is a value and a period. */
  public static final int MAX_NEW_TOKENS = 16;

  /** The retrieval tasks, as {@code eval} names its parts. */
  public static final List<String> TASKS = RetrievalTask.NAMES;

  /** Lengths below this are checked by {@link #check} (longer ones always hold a document). */
  static final int CHECKED_BELOW = 8192;

  /**
   * The evaluation build of task {@code name} ({@link #TASKS}) on {@code prose}: the {@link
   * Phrasing#EVAL} share of templates and values (loss weights play no part here).
   */
  public static RetrievalTask task(String name, ProseSource prose) {
    return RetrievalTask.evaluation(name, prose);
  }

  /** Task {@code name} with the {@code phrasing} share ({@link RetrievalTask#evaluation}). */
  public static RetrievalTask task(String name, ProseSource prose, Phrasing phrasing) {
    return RetrievalTask.evaluation(name, prose, phrasing);
  }

  /**
   * What one model generated for a trial.
   *
   * @param generated the text after the prompt (special tokens dropped)
   * @param correct {@link RetrievalDocument#correct} of it
   * @param distractor wrong, and its first word is the value of another statement of the document
   *     (a near copy's, an earlier move's, another fact's)
   */
  public record Outcome(String generated, boolean correct, boolean distractor) {}

  /**
   * One trial: its document, described, and what the model generated with memory and without.
   *
   * @param corpus the corpus of the document's prose
   * @param expected the value asked for
   * @param distance tokens from the start of the answering statement to the prompt
   * @param depth where the answering statement was placed (fraction of the haystack)
   * @param statements statements in the document (the answering one and the distractors)
   */
  public record Trial(
      int length,
      int depthIndex,
      int index,
      String corpus,
      String expected,
      int distance,
      double depth,
      int statements,
      Outcome memory,
      Outcome memoryOff) {

    Outcome outcome(boolean withMemory) {
      return withMemory ? memory : memoryOff;
    }
  }

  /** One row: the trials of a length, and the wall seconds they took. */
  public record Row(int length, List<Trial> trials, double seconds) {

    /** Correct trials per depth column, with memory or without. */
    public int[] correct(int depths, boolean withMemory) {
      int[] out = new int[depths];
      for (Trial t : trials) {
        out[t.depthIndex()] += t.outcome(withMemory).correct() ? 1 : 0;
      }
      return out;
    }

    /** Share of the row's trials answered correctly. */
    public double accuracy(boolean withMemory) {
      return trials.stream().filter(t -> t.outcome(withMemory).correct()).count()
          / (double) trials.size();
    }

    /** Share of the row's trials answered with a distractor's value. */
    public double distractorShare(boolean withMemory) {
      return trials.stream().filter(t -> t.outcome(withMemory).distractor()).count()
          / (double) trials.size();
    }

    /** Mean tokens from the answering statement to the prompt. */
    public double meanDistance() {
      return trials.stream().mapToInt(Trial::distance).average().orElse(Double.NaN);
    }
  }

  /**
   * The document of trial {@code index} of cell (length, depth column). Its random draws depend on
   * the seed, the task, the length and the index, not on the depth: the trial's documents of a row
   * are the same prose with the answering statement moved, which lets the row share their prefixes.
   */
  public RetrievalDocument document(int length, int depthIndex, int index) {
    long h = seed;
    for (long x : new long[] {task.name().hashCode(), length, index}) {
      h = h * 0x9E3779B97F4A7C15L + x;
    }
    return task.document(new Random(h), length, depths.get(depthIndex));
  }

  /**
   * Refuses, before anything runs, a length too short for some trial's document, naming the task,
   * the length and what did not fit. Only lengths below {@value #CHECKED_BELOW} are tried (each
   * task keeps its statements to about half of a longer stream).
   *
   * @throws IllegalArgumentException for the first document that cannot be made
   */
  public void check() {
    for (int length : lengths) {
      for (int j = 0; length < CHECKED_BELOW && j < depths.size(); j++) {
        for (int i = 0; i < trials; i++) {
          try {
            document(length, j, i);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                task.name() + ": " + length + " tokens is too" + " short (" + e.getMessage() + ")",
                e);
          }
        }
      }
    }
  }

  /**
   * Runs every length in order, cell by cell, skipping the cells {@code journal} already holds and
   * handing it each one that finishes; {@code onRow} sees each finished row.
   *
   * @param model the model with memory
   * @param off the same model with its memory switched off
   * @param journal where finished cells are kept, or null to keep none
   */
  public List<Row> run(
      InfiniModel model,
      InfiniModel off,
      PrintStream progress,
      TrialJournal<Trial> journal,
      Consumer<Row> onRow)
      throws Exception {
    List<Row> rows = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      for (int length : lengths) {
        double seconds = 0;
        int readBack = 0;
        List<Trial> done = new ArrayList<>();
        List<Integer> todo = new ArrayList<>();
        for (int j = 0; j < depths.size(); j++) {
          if (journal == null || journal.done(length, j) == null) {
            todo.add(j);
          }
        }
        Fork[][] forks = null;
        if (!todo.isEmpty()) {
          long c0 = System.nanoTime();
          forks = forks(model, pool, length, todo);
          seconds += (System.nanoTime() - c0) / 1e9;
          long documents = documentTokens(forks);
          progress.printf(
              "%s length %d: the depths' documents share prefixes: %,d of their %,d tokens to"
                  + " absorb (%.0f%%)%n",
              task.name(), length, work(forks), documents, 100.0 * work(forks) / documents);
          progress.flush();
        }
        for (int j = 0; j < depths.size(); j++) {
          TrialJournal.Cell<Trial> cell = journal == null ? null : journal.done(length, j);
          if (cell == null) {
            long c0 = System.nanoTime();
            cell =
                new TrialJournal.Cell<>(
                    runCell(model, off, pool, length, j, forks), (System.nanoTime() - c0) / 1e9);
            if (journal != null) {
              journal.finished(length, j, cell);
            }
            if (cell.seconds() >= 30) {
              progress.printf(
                  "%s length %d depth %.2f: %d/%d correct in %.0f s%n",
                  task.name(),
                  length,
                  depths.get(j),
                  cell.trials().stream().filter(t -> t.memory().correct()).count(),
                  trials,
                  cell.seconds());
              progress.flush();
            }
          } else {
            readBack++;
          }
          done.addAll(cell.trials());
          seconds += cell.seconds();
        }
        if (readBack > 0) {
          progress.printf(
              "%s length %d: %d of %d cells read back from the journal%n",
              task.name(), length, readBack, depths.size());
        }
        Row row = new Row(length, List.copyOf(done), seconds);
        rows.add(row);
        progress.printf(
            "%s length %d: %.1f%% correct with memory, %.1f%% memory off, in %.0f s%n",
            task.name(), length, 100 * row.accuracy(true), 100 * row.accuracy(false), seconds);
        progress.flush();
        onRow.accept(row);
      }
    } finally {
      pool.shutdownNow();
    }
    return rows;
  }

  /**
   * Where a trial's document of one depth starts its own work: the state after its first {@code
   * shared} tokens (after BOS), which it has in common with the trial's documents of other depths,
   * of its {@code tokens} before the prompt.
   */
  record Fork(StreamState state, int shared, int tokens) {}

  /**
   * The forks of a row's trials for the depth columns {@code todo}, indexed [trial][depth column]
   * (null for the columns not in {@code todo}). Per trial, one stream walks the document of the
   * deepest column and keeps its state at each other document's longest common prefix with it, in
   * the order of those prefixes' lengths. The trials of a thread's group walk in lockstep (step k:
   * each trial's k-th shortest prefix).
   */
  Fork[][] forks(InfiniModel model, ExecutorService pool, int length, List<Integer> todo)
      throws Exception {
    List<Integer> order = new ArrayList<>(todo);
    order.sort(Comparator.comparingDouble((Integer j) -> depths.get(j)).thenComparingInt(j -> j));
    Fork[][] out = new Fork[trials][depths.size()];
    int groups = Math.max(1, Math.min(threads, trials));
    List<Future<?>> futures = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      List<Integer> indices = new ArrayList<>();
      for (int i = g; i < trials; i += groups) {
        indices.add(i);
      }
      futures.add(pool.submit(() -> walk(model, length, order, indices, out)));
    }
    for (Future<?> f : futures) {
      f.get();
    }
    return out;
  }

  /** {@link #forks} of the trials {@code indices}, in lockstep, into {@code out}. */
  private void walk(
      InfiniModel model, int length, List<Integer> order, List<Integer> indices, Fork[][] out) {
    int b = indices.size();
    int k = order.size();
    int[][] deepest = new int[b][];
    int[][] share = new int[b][k];
    int[][] sizes = new int[b][k];
    for (int t = 0; t < b; t++) {
      deepest[t] = afterBos(document(length, order.get(k - 1), indices.get(t)));
      for (int d = 0; d < k; d++) {
        int[] text =
            d == k - 1 ? deepest[t] : afterBos(document(length, order.get(d), indices.get(t)));
        share[t][d] = commonPrefix(text, deepest[t]);
        sizes[t][d] = text.length;
      }
    }
    // per trial, its columns by the length of their prefix in common with the deepest document
    Integer[][] byShare = new Integer[b][];
    for (int t = 0; t < b; t++) {
      int[] sh = share[t];
      byShare[t] = new Integer[k];
      for (int d = 0; d < k; d++) {
        byShare[t][d] = d;
      }
      Arrays.sort(byShare[t], Comparator.comparingInt((Integer d) -> sh[d]));
    }
    StreamState[] base = new StreamState[b];
    int[] consumed = new int[b];
    Arrays.fill(base, model.newState());
    for (int step = 0; step < k; step++) {
      List<Integer> movers = new ArrayList<>();
      List<StreamState> states = new ArrayList<>();
      List<int[]> steps = new ArrayList<>();
      for (int t = 0; t < b; t++) {
        int to = share[t][byShare[t][step]];
        if (to > consumed[t]) {
          movers.add(t);
          states.add(base[t]);
          steps.add(Arrays.copyOfRange(deepest[t], consumed[t], to));
        }
      }
      List<StreamState> moved = absorbed(model, states, steps);
      for (int m = 0; m < movers.size(); m++) {
        int t = movers.get(m);
        base[t] = moved.get(m);
        consumed[t] = share[t][byShare[t][step]];
      }
      for (int t = 0; t < b; t++) {
        int d = byShare[t][step];
        out[indices.get(t)][order.get(d)] = new Fork(base[t], consumed[t], sizes[t][d]);
      }
    }
  }

  /** Tokens the row absorbs with memory: each walk once, then every document after its fork. */
  static long work(Fork[][] forks) {
    long total = 0;
    for (Fork[] trial : forks) {
      int walked = 0;
      for (Fork f : trial) {
        if (f != null) {
          walked = Math.max(walked, f.shared());
          total += f.tokens() - f.shared();
        }
      }
      total += walked;
    }
    return total;
  }

  /** Tokens of the documents (before their prompts) that {@code forks} start. */
  static long documentTokens(Fork[][] forks) {
    long total = 0;
    for (Fork[] trial : forks) {
      for (Fork f : trial) {
        total += f == null ? 0 : f.tokens();
      }
    }
    return total;
  }

  private static int commonPrefix(int[] a, int[] b) {
    int n = Math.min(a.length, b.length);
    int i = 0;
    while (i < n && a[i] == b[i]) {
      i++;
    }
    return i;
  }

  /** The trials of one cell, split over the threads, each group in lockstep from its forks. */
  private List<Trial> runCell(
      InfiniModel model,
      InfiniModel off,
      ExecutorService pool,
      int length,
      int depthIndex,
      Fork[][] forks)
      throws Exception {
    int groups = Math.max(1, Math.min(threads, trials));
    List<Future<List<Trial>>> futures = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      final int first = g;
      futures.add(
          pool.submit(
              () -> {
                List<Integer> indices = new ArrayList<>();
                List<RetrievalDocument> docs = new ArrayList<>();
                List<Fork> starts = new ArrayList<>();
                for (int i = first; i < trials; i += groups) {
                  indices.add(i);
                  docs.add(document(length, depthIndex, i));
                  starts.add(forks[i][depthIndex]);
                }
                return runTrials(model, off, length, depthIndex, indices, docs, starts);
              }));
    }
    List<Trial> out = new ArrayList<>();
    for (Future<List<Trial>> f : futures) {
      out.addAll(f.get());
    }
    out.sort(Comparator.comparingInt(Trial::index));
    return out;
  }

  /**
   * Absorbs the documents' contexts in lockstep, with memory (from each one's fork) and without,
   * and asks each.
   */
  static List<Trial> runTrials(
      InfiniModel model,
      InfiniModel off,
      int length,
      int depthIndex,
      List<Integer> indices,
      List<RetrievalDocument> docs,
      List<Fork> forks) {
    List<int[]> texts = new ArrayList<>();
    List<StreamState> starts = new ArrayList<>();
    List<int[]> rests = new ArrayList<>();
    for (int i = 0; i < docs.size(); i++) {
      int[] text = afterBos(docs.get(i));
      Fork f = forks.get(i);
      texts.add(text);
      starts.add(f.state());
      rests.add(Arrays.copyOfRange(text, f.shared(), text.length));
    }
    List<StreamState> with = absorbed(model, starts, rests);
    List<StreamState> without =
        absorbed(off, Collections.nCopies(texts.size(), off.newState()), texts);
    List<Trial> out = new ArrayList<>();
    for (int i = 0; i < docs.size(); i++) {
      RetrievalDocument d = docs.get(i);
      out.add(
          new Trial(
              length,
              depthIndex,
              indices.get(i),
              d.corpus(),
              d.expected(),
              d.distance(),
              d.depth(),
              d.needles().size(),
              ask(model, with.get(i), d),
              ask(off, without.get(i), d)));
    }
    return out;
  }

  /**
   * The context of {@code d} after its BOS: a new stream's open segment already holds BOS ({@link
   * InfiniModel#newState}).
   */
  static int[] afterBos(RetrievalDocument d) {
    int[] context = d.context();
    if (context.length == 0 || context[0] != ByteTokenizer.BOS) {
      throw new IllegalArgumentException("a document starts with BOS: " + d);
    }
    return Arrays.copyOfRange(context, 1, context.length);
  }

  /**
   * {@code states} after {@code texts}: in lockstep, or, for a model that reads no memory, the open
   * segments only.
   */
  private static List<StreamState> absorbed(
      InfiniModel model, List<StreamState> states, List<int[]> texts) {
    return PasskeyEval.readsNoMemory(model)
        ? PasskeyEval.openSegmentsOnly(model, states, texts)
        : model.absorbAll(states, texts);
  }

  /** Generates after the prompt from {@code s} (the absorbed context) and scores it. */
  static Outcome ask(InfiniModel model, StreamState s, RetrievalDocument d) {
    int[] generated =
        model.generate(s, d.prompt(), GenerationSettings.greedy(MAX_NEW_TOKENS)).generated();
    return outcome(d, ByteTokenizer.decode(generated));
  }

  /** The score of {@code generated} as the answer to {@code d}. */
  static Outcome outcome(RetrievalDocument d, String generated) {
    boolean correct = d.correct(generated);
    String word = RetrievalDocument.firstWord(generated);
    boolean distractor =
        !correct
            && !word.isEmpty()
            && d.needles().stream().anyMatch(n -> !n.answers() && n.value().equals(word));
    return new Outcome(generated, correct, distractor);
  }
}
