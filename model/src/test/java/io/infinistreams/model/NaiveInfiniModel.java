package io.infinistreams.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The whole Infini-Transformer as a control implementation: plain Java loops over double arrays,
 * one stream at a time, written from the paper's equations and the conventions docs/model.md fixes,
 * without DJL. The only DJL calls read the weights once into Java arrays ({@code
 * NDArray.toFloatArray()}); everything after that is arithmetic here, in double.
 *
 * <p>It shares no code with {@link InfiniTransformer} or {@link InfiniModel}: not the RoPE tables,
 * not the masks, not the segmenting of the stream. Where the production code has a freedom it
 * mirrors the choice made there:
 *
 * <ul>
 *   <li>token embedding unscaled; pre-norm blocks x += Attn(RMSNorm(x)), x += FFN(RMSNorm(x));
 *       RMSNorm x / sqrt(mean(x^2) + {@link InfiniTransformer#NORM_EPS}) * gain; a final RMSNorm;
 *       the LM head tied to the embedding (x E^T); GELU with erf (what libtorch's gelu, behind
 *       DJL's {@code Activation.gelu}, computes);
 *   <li>local branch: RoPE with rotate-half pairing (dimension i with i + K/2), theta_i =
 *       base^(-2i/K), positions 0 .. C+N-1 over the overlap context then the segment; causal
 *       softmax scaled by 1/sqrt(K);
 *   <li>memory branch: sigma = ELU + 1 of the pre-RoPE queries; PAPER read sigma(Q) M / (sigma(Q) z
 *       + eps), NORMALIZED read sigma(Q) M / sqrt(mean_V((sigma(Q) M)^2) + eps') times the per-head
 *       gain, eps = {@link InfiniTransformer#MEMORY_EPS}, eps' = {@link ModelConfig#readEps};
 *   <li>static gate g = sigmoid(beta) per head: A = g A_mem + (1 - g) A_dot (eq. 10), then W_O;
 *   <li>memory written after the read, only from a full segment and only from its own N rows (the C
 *       context rows are read and attended to, never written): LINEAR M += sigma(K)^T V (eq. 8);
 *       DELTA eq. 9 with eps in the denominator; GATED the gated delta rule token by token (the
 *       definition, not the production's closed form per block); z += sum_t sigma(K_t) under every
 *       rule;
 *   <li>a stream starts with {@link ByteTokenizer#BOS} (the caller passes it) and C {@link
 *       ByteTokenizer#PAD} context tokens; a full segment is written when a token follows it; the
 *       context of a segment is the last C tokens before it in the stream.
 * </ul>
 *
 * <p>Layouts match {@link Weights}: W_Q (D, H*K) row-major, head h in columns h*K .. h*K+K-1.
 */
final class NaiveInfiniModel {

  /** One block's weights, row-major copies; write and writeBias are null unless GATED. */
  private record Layer(
      float[] attnNorm, // (D)
      float[] wq, // (D, H*K)
      float[] wk, // (D, H*K)
      float[] wv, // (D, H*V)
      float[] wo, // (H*V, D)
      float[] gate, // (H) beta
      float[] memNorm, // (H, V)
      float[] ffnNorm, // (D)
      float[] w1, // (D, F)
      float[] w2, // (F, D)
      float[] write, // (D, H) or null
      float[] writeBias, // (H) or null
      float[] conv // (S, 2HK+HV) or null
      ) {}

  /**
   * What the reference computes for one stream.
   *
   * @param m per full segment s, in order: M after writing it, [layer][head][k][v]
   * @param z per full segment s: z after writing it, [layer][head][k]
   * @param logProbs (T - 1) logProbs[p - 1] = ln p(stream[p] | stream[0 .. p-1]), p = 1 .. T-1
   */
  record Run(List<double[][][][]> m, List<double[][][]> z, double[] logProbs) {}

  private final ModelConfig c;
  private final float[] embed; // (W, D), also the LM head
  private final float[] finalNorm; // (D)
  private final List<Layer> layers; // (L)

  /** Copies the weights into Java arrays: the only DJL calls of the reference. */
  NaiveInfiniModel(Weights w) {
    this.c = w.config();
    switch (c.updateRule()) {
      case LINEAR, DELTA, GATED -> {}
      default -> throw new IllegalArgumentException("no reference for " + c.updateRule());
    }
    switch (c.memoryRead()) {
      case PAPER, NORMALIZED -> {}
      default -> throw new IllegalArgumentException("no reference for " + c.memoryRead());
    }
    this.embed = w.embed().toFloatArray();
    this.finalNorm = w.finalNorm().toFloatArray();
    List<Layer> list = new ArrayList<>();
    boolean gated = c.updateRule() == UpdateRule.GATED;
    for (Weights.Layer l : w.layers()) {
      list.add(
          new Layer(
              l.attnNorm().toFloatArray(),
              l.wq().toFloatArray(),
              l.wk().toFloatArray(),
              l.wv().toFloatArray(),
              l.wo().toFloatArray(),
              l.gate().toFloatArray(),
              l.memNorm().toFloatArray(),
              l.ffnNorm().toFloatArray(),
              l.w1().toFloatArray(),
              l.w2().toFloatArray(),
              gated ? l.write().toFloatArray() : null,
              gated ? l.writeBias().toFloatArray() : null,
              l.conv() == null ? null : l.conv().toFloatArray()));
    }
    this.layers = List.copyOf(list);
  }

  /**
   * Runs a whole stream from M = 0, z = 0: every full segment that has a successor is read,
   * attended and written in order; the rest is the open segment, read only.
   *
   * @param stream (T) the stream's tokens, {@link ByteTokenizer#BOS} first as a new stream has
   */
  Run run(int[] stream) {
    int n = c.segmentLength();
    int ctx = c.overlap();
    int len = stream.length;
    int[] seq = new int[ctx + len]; // C PAD, then the stream: seq[ctx + p] = stream[p]
    for (int i = 0; i < ctx; i++) {
      seq[i] = ByteTokenizer.PAD;
    }
    System.arraycopy(stream, 0, seq, ctx, len);
    double[][][][] m = new double[c.layers()][c.heads()][c.dKey()][c.dValue()]; // (L, H, K, V)
    double[][][] z = new double[c.layers()][c.heads()][c.dKey()]; // (L, H, K)
    double[] logProbs = new double[len - 1];
    List<double[][][][]> ms = new ArrayList<>();
    List<double[][][]> zs = new ArrayList<>();
    int segments = (len - 1) / n; // full segments followed by at least one token
    for (int s = 0; s < segments; s++) {
      int from = s * n; // stream position of the segment's first token
      int[] window = new int[ctx + n]; // the C tokens before the segment, then the segment
      System.arraycopy(seq, from, window, 0, ctx + n);
      double[][] logits = forward(window, m, z, true); // (N, W)
      score(logits, stream, from, logProbs);
      ms.add(copy(m));
      zs.add(copy(z));
    }
    int rest = segments * n;
    int[] window = new int[ctx + len - rest]; // context, then the open segment
    System.arraycopy(seq, rest, window, 0, window.length);
    score(forward(window, m, z, false), stream, rest, logProbs);
    return new Run(ms, zs, logProbs);
  }

  /** Row r of logits (T', W) is position from + r; it predicts stream[from + r + 1]. */
  private static void score(double[][] logits, int[] stream, int from, double[] out) {
    for (int r = 0; r < logits.length; r++) {
      int target = from + r + 1;
      if (target >= stream.length) {
        continue;
      }
      double max = Double.NEGATIVE_INFINITY;
      for (double v : logits[r]) {
        max = Math.max(max, v);
      }
      double sum = 0;
      for (double v : logits[r]) {
        sum += Math.exp(v - max);
      }
      out[target - 1] = logits[r][stream[target]] - max - Math.log(sum);
    }
  }

  /**
   * One window (the C context tokens, then up to N segment tokens) through every block.
   *
   * @param tokens (C + T) token ids
   * @param m (L, H, K, V) memory before the segment; written in place if {@code write}
   * @param z (L, H, K)
   * @param write write the segment's rows into memory (needs T = N)
   * @return (T, W) logits of the rows after the context
   */
  private double[][] forward(int[] tokens, double[][][][] m, double[][][] z, boolean write) {
    int t = tokens.length;
    int d = c.dModel();
    double[][] x = new double[t][d]; // (C+T, D)
    for (int i = 0; i < t; i++) {
      for (int e = 0; e < d; e++) {
        x[i][e] = embed[tokens[i] * d + e];
      }
    }
    for (int l = 0; l < c.layers(); l++) {
      Layer w = layers.get(l);
      double[][] h = rmsNorm(x, w.attnNorm()); // (C+T, D)
      double[][] a = attention(w, h, m[l], z[l], write); // (C+T, D)
      for (int i = 0; i < t; i++) {
        for (int e = 0; e < d; e++) {
          x[i][e] += a[i][e];
        }
      }
      double[][] up = matMul(rmsNorm(x, w.ffnNorm()), w.w1(), c.ffnHidden()); // (C+T, F)
      for (double[] row : up) {
        for (int f = 0; f < row.length; f++) {
          row[f] = gelu(row[f]);
        }
      }
      double[][] down = matMul(up, w.w2(), d); // (C+T, D)
      for (int i = 0; i < t; i++) {
        for (int e = 0; e < d; e++) {
          x[i][e] += down[i][e];
        }
      }
    }
    int ctx = c.overlap();
    double[][] rows = new double[t - ctx][]; // (T, D): the context rows give no logits
    System.arraycopy(x, ctx, rows, 0, t - ctx);
    double[][] xn = rmsNorm(rows, finalNorm); // (T, D)
    int vocab = c.vocabSize();
    double[][] logits = new double[t - ctx][vocab]; // (T, W) = xn E^T
    for (int i = 0; i < xn.length; i++) {
      for (int v = 0; v < vocab; v++) {
        double acc = 0;
        for (int e = 0; e < d; e++) {
          acc += xn[i][e] * embed[v * d + e];
        }
        logits[i][v] = acc;
      }
    }
    return logits;
  }

  /**
   * out[i][ch] = sum over j < width with i - j >= 0 of taps[j][offset + ch] * x[i - j][ch]: the
   * short convolution of the channels {@code offset ..} of a (S, F) tap table.
   */
  private static double[][] convolve(double[][] x, float[] taps, int width, int f, int offset) {
    double[][] out = new double[x.length][x[0].length];
    for (int i = 0; i < x.length; i++) {
      for (int ch = 0; ch < x[0].length; ch++) {
        double sum = 0;
        for (int j = 0; j < width && i - j >= 0; j++) {
          sum += taps[j * f + offset + ch] * x[i - j][ch];
        }
        out[i][ch] = sum;
      }
    }
    return out;
  }

  /**
   * Infini-attention of one block, all heads, before the residual add.
   *
   * @param h (C+T, D) the normalised block input
   * @param m (H, K, V) this block's memory, written in place if {@code write}
   * @param z (H, K)
   * @return (C+T, D) W_O applied to the gated heads
   */
  private double[][] attention(Layer w, double[][] h, double[][][] m, double[][] z, boolean write) {
    int t = h.length;
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();
    double eps = InfiniTransformer.MEMORY_EPS;
    double[][] qAll = matMul(h, w.wq(), nh * dk); // (C+T, H*K)
    double[][] kAll = matMul(h, w.wk(), nh * dk); // (C+T, H*K)
    double[][] vAll = matMul(h, w.wv(), nh * dv); // (C+T, H*V)
    if (w.conv() != null) { // causal short convolution per channel, zero before the window
      int width = c.shortConv();
      int f = 2 * nh * dk + nh * dv;
      qAll = convolve(qAll, w.conv(), width, f, 0);
      kAll = convolve(kAll, w.conv(), width, f, nh * dk);
      vAll = convolve(vAll, w.conv(), width, f, 2 * nh * dk);
    }
    double[][] gated = new double[t][nh * dv]; // (C+T, H*V): heads side by side
    for (int hd = 0; hd < nh; hd++) {
      double[][] q = new double[t][dk]; // (C+T, K) pre-RoPE
      double[][] k = new double[t][dk]; // (C+T, K) pre-RoPE
      double[][] v = new double[t][dv]; // (C+T, V)
      for (int i = 0; i < t; i++) {
        System.arraycopy(qAll[i], hd * dk, q[i], 0, dk);
        System.arraycopy(kAll[i], hd * dk, k[i], 0, dk);
        System.arraycopy(vAll[i], hd * dv, v[i], 0, dv);
      }

      // Local branch (eq. 5-6): RoPE at positions 0 .. C+T-1, causal softmax(q k / sqrt(K)) V.
      double[][] qr = rope(q); // (C+T, K)
      double[][] kr = rope(k); // (C+T, K)
      double[][] aDot = new double[t][dv]; // (C+T, V)
      for (int i = 0; i < t; i++) {
        double[] s = new double[i + 1]; // (i+1) scores of the keys at or before i
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
          double dot = 0;
          for (int e = 0; e < dk; e++) {
            dot += qr[i][e] * kr[j][e];
          }
          s[j] = dot / Math.sqrt(dk);
          max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        for (int j = 0; j <= i; j++) {
          for (int f = 0; f < dv; f++) {
            aDot[i][f] += s[j] / sum * v[j][f];
          }
        }
      }

      // Memory branch (eq. 7), every row (context rows too), the memory before this segment.
      double[][] aMem = new double[t][dv]; // (C+T, V)
      for (int i = 0; i < t; i++) {
        double[] sq = new double[dk]; // (K) sigma(q_i), q before RoPE
        for (int e = 0; e < dk; e++) {
          sq[e] = feature(c, q[i][e]);
        }
        double[] read = new double[dv]; // (V) sigma(q_i) M
        double den = 0; // sigma(q_i) z
        for (int e = 0; e < dk; e++) {
          den += sq[e] * z[hd][e];
          for (int f = 0; f < dv; f++) {
            read[f] += sq[e] * m[hd][e][f];
          }
        }
        if (c.memoryRead() == MemoryRead.PAPER) {
          for (int f = 0; f < dv; f++) {
            aMem[i][f] = read[f] / (den + eps);
          }
        } else { // NORMALIZED
          double ms = 0;
          for (int f = 0; f < dv; f++) {
            ms += read[f] * read[f];
          }
          double rms = Math.sqrt(ms / dv + c.readEps());
          for (int f = 0; f < dv; f++) {
            aMem[i][f] = read[f] / rms * w.memNorm()[hd * dv + f];
          }
        }
      }

      // Gate (eq. 10): A = g A_mem + (1 - g) A_dot, g = sigmoid(beta) of the head.
      double g = logistic(w.gate()[hd]);
      for (int i = 0; i < t; i++) {
        for (int f = 0; f < dv; f++) {
          gated[i][hd * dv + f] = g * aMem[i][f] + (1 - g) * aDot[i][f];
        }
      }

      // Write (eq. 8 / 9 / gated delta) after the read, from the segment's rows ctx .. t-1 only.
      if (write) {
        writeHead(w, hd, h, k, v, m[hd], z[hd]);
      }
    }
    return matMul(gated, w.wo(), c.dModel()); // (C+T, D), eq. 11
  }

  /**
   * Writes rows C .. C+N-1 of one head into its memory, in place.
   *
   * @param h (C+N, D) normalised block input (the GATED write strength reads it)
   * @param k (C+N, K) pre-RoPE keys
   * @param v (C+N, V) values
   * @param m (K, V) the head's memory
   * @param z (K) the head's normaliser
   */
  private void writeHead(
      Layer w, int hd, double[][] h, double[][] k, double[][] v, double[][] m, double[] z) {
    int ctx = c.overlap();
    int t = h.length;
    int dk = c.dKey();
    int dv = c.dValue();
    double eps = InfiniTransformer.MEMORY_EPS;
    double[][] sk = new double[t][dk]; // (C+N, K) sigma(K); rows < C unused
    for (int i = ctx; i < t; i++) {
      for (int e = 0; e < dk; e++) {
        sk[i][e] = feature(c, k[i][e]);
      }
    }
    switch (c.updateRule()) {
      case LINEAR -> { // eq. 8: M += sigma(K)^T V
        for (int i = ctx; i < t; i++) {
          for (int e = 0; e < dk; e++) {
            for (int f = 0; f < dv; f++) {
              m[e][f] += sk[i][e] * v[i][f];
            }
          }
        }
      }
      case DELTA -> { // eq. 9: M += sigma(K)^T (V - sigma(K) M / (sigma(K) z + eps)), old M, z
        double[][] written = new double[t][dv]; // (C+N, V)
        for (int i = ctx; i < t; i++) {
          double den = 0;
          double[] old = new double[dv]; // (V) sigma(k_i) M
          for (int e = 0; e < dk; e++) {
            den += sk[i][e] * z[e];
            for (int f = 0; f < dv; f++) {
              old[f] += sk[i][e] * m[e][f];
            }
          }
          for (int f = 0; f < dv; f++) {
            written[i][f] = v[i][f] - old[f] / (den + eps);
          }
        }
        for (int i = ctx; i < t; i++) {
          for (int e = 0; e < dk; e++) {
            for (int f = 0; f < dv; f++) {
              m[e][f] += sk[i][e] * written[i][f];
            }
          }
        }
      }
      case GATED -> { // token by token: M <- M + beta_i k^_i^T (v_i - k^_i M)
        int nh = c.heads();
        int d = c.dModel();
        double[] pres = new double[t]; // h_i w_write + b_write of this head
        for (int i = ctx; i < t; i++) {
          pres[i] = w.writeBias()[hd];
          for (int e = 0; e < d; e++) {
            pres[i] += h[i][e] * w.write()[e * nh + hd];
          }
        }
        int topK = c.writeTopK();
        for (int i = ctx; i < t; i++) {
          if (topK > 0) { // only the k largest logits write; the earlier of equal ones first
            int above = 0;
            for (int j = ctx; j < t; j++) {
              if (pres[j] > pres[i] || (pres[j] == pres[i] && j < i)) {
                above++;
              }
            }
            if (above >= topK) {
              continue;
            }
          }
          double n2 = 0;
          for (int e = 0; e < dk; e++) {
            n2 += sk[i][e] * sk[i][e];
          }
          double norm = Math.sqrt(n2 + eps); // eps inside the sqrt, as InfiniTransformer.norm
          double[] unit = new double[dk]; // (K) k^_i
          for (int e = 0; e < dk; e++) {
            unit[e] = sk[i][e] / norm;
          }
          double beta =
              c.writeGate() == WriteGate.SPARSE
                  ? Math.max(0, Math.tanh(pres[i] / 2)) // written apart from WriteGate's form
                  : logistic(pres[i]);
          double[] err = v[i].clone(); // (V) v_i - k^_i M, with M after tokens before i
          for (int e = 0; e < dk; e++) {
            for (int f = 0; f < dv; f++) {
              err[f] -= unit[e] * m[e][f];
            }
          }
          for (int e = 0; e < dk; e++) {
            for (int f = 0; f < dv; f++) {
              m[e][f] += beta * unit[e] * err[f];
            }
          }
        }
      }
      default -> throw new IllegalStateException(c.updateRule().toString());
    }
    for (int i = ctx; i < t; i++) { // z += sum_t sigma(K_t), whatever the rule
      for (int e = 0; e < dk; e++) {
        z[e] += sk[i][e];
      }
    }
  }

  /** Rotate-half RoPE at positions 0 .. T-1: x (T, K) -> (T, K). */
  private double[][] rope(double[][] x) {
    int dk = c.dKey();
    int half = dk / 2;
    double[][] out = new double[x.length][dk];
    for (int p = 0; p < x.length; p++) {
      for (int i = 0; i < half; i++) {
        double angle = p * Math.pow(c.ropeBase(), -2.0 * i / dk);
        double cos = Math.cos(angle);
        double sin = Math.sin(angle);
        out[p][i] = x[p][i] * cos - x[p][i + half] * sin;
        out[p][i + half] = x[p][i + half] * cos + x[p][i] * sin;
      }
    }
    return out;
  }

  /** x (T, D) / sqrt(mean(x^2) + NORM_EPS) * gain (D), row by row. */
  private static double[][] rmsNorm(double[][] x, float[] gain) {
    double[][] out = new double[x.length][]; // (T, D)
    for (int i = 0; i < x.length; i++) {
      int d = x[i].length;
      double ms = 0;
      for (double v : x[i]) {
        ms += v * v;
      }
      double r = Math.sqrt(ms / d + InfiniTransformer.NORM_EPS);
      out[i] = new double[d];
      for (int e = 0; e < d; e++) {
        out[i][e] = x[i][e] / r * gain[e];
      }
    }
    return out;
  }

  /** a (T, R) times w (R, cols) row-major -> (T, cols). */
  private static double[][] matMul(double[][] a, float[] w, int cols) {
    double[][] out = new double[a.length][cols];
    for (int i = 0; i < a.length; i++) {
      double[] row = out[i];
      for (int r = 0; r < a[i].length; r++) {
        double air = a[i][r];
        int base = r * cols;
        for (int j = 0; j < cols; j++) {
          row[j] += air * w[base + j];
        }
      }
    }
    return out;
  }

  /** ELU(x) + 1. */
  static double sigma(double x) {
    return x > 0 ? x + 1 : Math.exp(x);
  }

  /** The configuration's feature map: sigma, or the identity. */
  static double feature(ModelConfig c, double x) {
    return c.featureMap() == FeatureMap.IDENTITY ? x : sigma(x);
  }

  static double logistic(double x) {
    return 1 / (1 + Math.exp(-x));
  }

  /** GELU with the exact normal CDF: x Phi(x) = x (1 + erf(x / sqrt 2)) / 2. */
  static double gelu(double x) {
    return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
  }

  /**
   * erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)): all terms of one sign, so
   * no cancellation, relative error ~1e-15; |erf(x)| = 1 to double precision past |x| = 6.
   */
  static double erf(double x) {
    if (Math.abs(x) > 6) {
      return Math.signum(x);
    }
    double term = x;
    double sum = x;
    for (int n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= 2 * x * x / (2 * n + 1);
      sum += term;
    }
    return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
  }

  private static double[][][][] copy(double[][][][] a) {
    double[][][][] out = new double[a.length][][][];
    for (int i = 0; i < a.length; i++) {
      out[i] = copy(a[i]);
    }
    return out;
  }

  private static double[][][] copy(double[][][] a) {
    double[][][] out = new double[a.length][][];
    for (int i = 0; i < a.length; i++) {
      out[i] = new double[a[i].length][];
      for (int j = 0; j < a[i].length; j++) {
        out[i][j] = a[i][j].clone();
      }
    }
    return out;
  }
}
