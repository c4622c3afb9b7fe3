package io.infinistreams.model.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.data.PasskeyDocument;
import java.util.Random;

/**
 * Where a model with a per-token gate ({@link io.infinistreams.model.OutputGate#perToken}) trusts its memory: the mean
 * output gate (0 = local branch, 1 = memory) per layer and head over the open segment when the
 * question has been read, by position: filler (and intro), the question's tokens, and the
 * question's last token (the one that predicts the key's first digit) split by where the needle
 * is: wholly in memory (before the open segment's local view, its overlap included) or at least
 * partly in that view. Half the documents put the needle at a depth drawn in [0, 0.9], half at
 * depth 1.0 (right before the question), so both kinds of answer positions occur.
 *
 * @param length tokens per document (document + question), less 0..N-1 drawn per document
 * @param trials documents
 */
record OutputGateEval(int length, int trials, long seed) {

  /** Position classes of the open segment. */
  static final String[] CLASSES = {"filler", "question", "answerNeedleInMemory",
      "answerNeedleInView"};

  /** Mean gate [layer][head][class] (classes as {@link #CLASSES}), and each class's count. */
  record Result(double[][][] mean, long[] positions) {}

  Result run(InfiniModel model) {
    ModelConfig c = model.config();
    double[][][] sum = new double[c.layers()][c.heads()][CLASSES.length];
    long[] count = new long[CLASSES.length];
    Random rng = new Random(seed);
    for (int t = 0; t < trials; t++) {
      double depth = t % 2 == 0 ? 0.9 * rng.nextDouble() : 1.0;
      // as in PasskeyEval, 0..N-1 tokens shorter, so the question ends anywhere in its segment
      int chars = length - rng.nextInt(c.segmentLength());
      PasskeyDocument doc = PasskeyDocument.of(chars, depth, PasskeyDocument.randomKey(rng));
      String text = doc.document() + doc.question();
      int[] tokens = ByteTokenizer.encode(text);
      StreamState s = model.absorb(model.newState(), tokens, false).state();
      float[][][] g = model.outputGates(s);
      int open = g[0][0].length;
      int start = tokens.length - open; // document index of the open segment's first position
      int needleEnd = doc.needleOffset() + PasskeyDocument.needle(doc.key()).length();
      boolean inView = needleEnd > start - c.overlap();
      int question = doc.document().length();
      for (int j = 0; j < open; j++) {
        int i = start + j;
        int cls = i == tokens.length - 1 ? (inView ? 3 : 2) : i >= question ? 1 : 0;
        if (cls == 0 && i >= doc.needleOffset() && i < needleEnd) {
          continue; // needle tokens in the open segment: not a class of their own
        }
        count[cls]++;
        for (int l = 0; l < c.layers(); l++) {
          for (int h = 0; h < c.heads(); h++) {
            sum[l][h][cls] += g[l][h][j];
          }
        }
      }
    }
    WriteStrengthEval.meansInPlace(sum, count);
    return new Result(sum, count);
  }
}
