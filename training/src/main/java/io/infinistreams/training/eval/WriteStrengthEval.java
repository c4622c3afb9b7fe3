package io.infinistreams.model.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.data.PasskeyDocument;
import java.util.Arrays;
import java.util.Random;

/**
 * Which tokens a {@link io.infinistreams.model.UpdateRule#GATED} model stores: the mean write
 * strength per layer and head over the key's digits, the rest of the needle sentence, and the
 * filler, in the segment that holds the needle's first mention of the key, over passkey documents
 * drawn from a seed. A model that has learned to keep a needle across a long stream writes the
 * digits strongly and the filler weakly.
 *
 * @param length tokens per document (document + question)
 * @param trials documents, needles at depths drawn in [0, 0.9]
 */
record WriteStrengthEval(int length, int trials, long seed) {

  /** Token classes of the needle's segment. */
  static final String[] CLASSES = {"keyDigits", "needleText", "filler"};

  /**
   * Mean write strength [layer][head][class] (classes as {@link #CLASSES}), and the token count
   * of each class.
   */
  record Result(double[][][] mean, long[] tokens) {}

  Result run(InfiniModel model) {
    ModelConfig c = model.config();
    int n = c.segmentLength();
    double[][][] sum = new double[c.layers()][c.heads()][CLASSES.length];
    long[] count = new long[CLASSES.length];
    Random rng = new Random(seed);
    for (int t = 0; t < trials; t++) {
      double depth = 0.9 * rng.nextDouble();
      PasskeyDocument doc = PasskeyDocument.of(length, depth, PasskeyDocument.randomKey(rng));
      int[] tokens = ByteTokenizer.encode(doc.document());
      String needle = PasskeyDocument.needle(doc.key());
      int needleEnd = doc.needleOffset() + needle.length();
      String digits = Integer.toString(doc.key());
      int first = doc.needleOffset() + needle.indexOf(digits); // first mention's first digit
      int second = doc.needleOffset() + needle.lastIndexOf(digits);
      StreamState s = model.absorb(model.newState(), Arrays.copyOf(tokens, first), false).state();
      int open = s.openTokens().length;
      int start = first - open; // document index of the segment's position 0 (may be < 0: BOS)
      if (start + n > tokens.length) {
        throw new IllegalArgumentException("document of " + length + " tokens too short for a "
            + "segment after its needle");
      }
      float[][][] beta = model.writeStrengths(s, Arrays.copyOfRange(tokens, first, start + n));
      for (int j = 0; j < n; j++) {
        int i = start + j;
        if (i < 0) {
          continue; // a token before the document (BOS)
        }
        boolean digit = (i >= first && i < first + digits.length())
            || (i >= second && i < second + digits.length());
        int cls = digit ? 0 : i >= doc.needleOffset() && i < needleEnd ? 1 : 2;
        count[cls]++;
        for (int l = 0; l < c.layers(); l++) {
          for (int h = 0; h < c.heads(); h++) {
            sum[l][h][cls] += beta[l][h][j];
          }
        }
      }
    }
    meansInPlace(sum, count);
    return new Result(sum, count);
  }

  /** Divides each [layer][head][class] sum by its class's count (NaN for an empty class). */
  static void meansInPlace(double[][][] sum, long[] count) {
    for (double[][] layer : sum) {
      for (double[] head : layer) {
        for (int k = 0; k < count.length; k++) {
          head[k] = count[k] == 0 ? Double.NaN : head[k] / count[k];
        }
      }
    }
  }
}
