package io.infinistreams.training.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniTransformer;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.RetrievalDocument;
import io.infinistreams.tasks.prose.RetrievalTask;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * How selectively the memory writes: under the GATED rule each token's write strength beta (0..1)
 * scales how much of it a head stores, and how much of what the head held before along its key it
 * overwrites. Over documents of held-out prose of one of the evaluation's retrieval tasks (the
 * needle's unless the command names another), this measures the mean beta per layer and head on the
 * tokens of the answering statement's value, on the rest of the statements and on the prose around
 * them. A memory that keeps a fact across a long stream must write its value far more strongly than
 * the prose: every prose write also erases a little of the fact.
 */
final class WritesEval {
  private WritesEval() {}

  /** Tokens of each document: 32 segments of the shipped segment length. */
  static final int LENGTH = 4096;

  /**
   * The mean write strength of one head on each kind of token.
   *
   * @param value on the answering statement's value
   * @param statement on the rest of the statements
   * @param prose on every token outside the statements
   * @param proseWritten the share of the prose tokens the head writes at all (beta above 0): 1
   *     under the logistic gate, which is never exactly 0, at most k / N under a top-k write
   */
  record Row(
      int layer, int head, double value, double statement, double prose, double proseWritten) {
    /** How many times more strongly the value is written than the prose. */
    double selectivity() {
      return value / prose;
    }
  }

  /**
   * The rows of every layer and head over {@code trials} documents of {@code task} of {@link
   * #LENGTH} tokens (statements placed as the task places them in training), or an empty list if
   * the model's rule has no write strength.
   */
  static List<Row> run(Weights w, RetrievalTask task, int trials, long seed) {
    ModelConfig c = w.config();
    List<Row> rows = new ArrayList<>();
    if (c.updateRule() != UpdateRule.GATED) {
      return rows;
    }
    int layers = c.layers();
    int heads = c.heads();
    double[][][] sum = new double[3][layers][heads];
    long[][] written = new long[layers][heads]; // prose tokens with beta > 0
    long[] count = new long[3];
    for (int trial = 0; trial < trials; trial++) {
      RetrievalDocument doc =
          task.document(new Random(seed * 1_000_003L + trial), LENGTH, Double.NaN);
      int[] kind = kinds(doc);
      int[] stream = doc.context(); // BOS, the haystack with the statement
      accumulate(w, stream, kind, sum, written, count);
    }
    for (int l = 0; l < layers; l++) {
      for (int h = 0; h < heads; h++) {
        rows.add(
            new Row(
                l,
                h,
                sum[0][l][h] / count[0],
                sum[1][l][h] / count[1],
                sum[2][l][h] / count[2],
                (double) written[l][h] / count[2]));
      }
    }
    return rows;
  }

  /** 0 for the answering value's tokens, 1 for the rest of any statement, 2 for prose. */
  private static int[] kinds(RetrievalDocument doc) {
    int[] kind = new int[doc.promptStart()];
    java.util.Arrays.fill(kind, 2);
    for (RetrievalDocument.Needle n : doc.needles()) {
      for (int i = n.start(); i < n.start() + n.length() && i < kind.length; i++) {
        kind[i] = 1;
      }
      if (n.answers()) {
        int len = ByteTokenizer.encode(n.value()).length;
        for (int i = n.valueStart(); i < n.valueStart() + len && i < kind.length; i++) {
          kind[i] = 0;
        }
      }
    }
    return kind;
  }

  /**
   * Runs the stream's full segments as the application does (a new stream's context is C PAD
   * tokens, then each segment sees the C tokens before it), adds each token's beta to its kind's
   * sums and counts the prose tokens each head writes.
   */
  private static void accumulate(
      Weights w, int[] stream, int[] kind, double[][][] sum, long[][] written, long[] count) {
    ModelConfig c = w.config();
    int n = c.segmentLength();
    int ctx = c.overlap();
    try (NDManager trialManager = NDManager.newBaseManager()) {
      List<Memory> mem = Memory.zeros(trialManager, c, 1);
      for (int s = 0; (s + 1) * n <= stream.length; s++) {
        try (NDManager seg = trialManager.newSubManager()) {
          long[] ids = new long[ctx + n];
          for (int i = 0; i < ctx + n; i++) {
            int pos = s * n - ctx + i;
            ids[i] = pos < 0 ? ByteTokenizer.PAD : stream[pos];
          }
          NDArray tokens = seg.create(ids, new Shape(1, ctx + n));
          InfiniTransformer.Output o =
              InfiniTransformer.forward(w, tokens, mem, Options.fullSegment().withLogits(false));
          for (int l = 0; l < c.layers(); l++) {
            float[] beta = o.strengths().get(l).toFloatArray(); // (1, H, N, 1)
            for (int h = 0; h < c.heads(); h++) {
              for (int i = 0; i < n; i++) {
                int k = kind[s * n + i];
                sum[k][l][h] += beta[h * n + i];
                if (k == 2 && beta[h * n + i] > 0f) {
                  written[l][h]++;
                }
              }
            }
          }
          for (int i = 0; i < n; i++) {
            count[kind[s * n + i]]++;
          }
          mem = o.memories();
          for (Memory m : mem) {
            m.m().attach(trialManager);
            m.z().attach(trialManager);
          }
        }
      }
    }
  }

  /** The measurement on the evaluation's needle task over {@code prose}. */
  static List<Row> run(Weights w, ProseSource prose, int trials, long seed) {
    return run(w, RetrievalEval.task("needle", prose), trials, seed);
  }
}
