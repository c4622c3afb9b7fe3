package io.infinistreams.model;

/**
 * The control implementation: one Infini-attention layer in plain Java loops over double
 * arrays, written from INFINI_ATTENTION.md without DJL, for one sequence (batch element) and
 * one segment. Layouts match {@link Weights}: W_Q (D, H*K) with head h in columns h*K..h*K+K-1.
 */
final class NaiveInfiniAttention {

  /**
   * Weights of one layer, row-major; write (D, H) and writeBias (H) only under GATED, gateContent
   * (H, 2V) only under a per-token output gate ((H, V) under CONTENT_LOCAL), gateInput (H, D) only under CONTENT_INPUT, else
   * null.
   */
  record LayerWeights(float[] wq, float[] wk, float[] wv, float[] wo, float[] gate, float[] memNorm,
      float[] write, float[] writeBias, float[] gateContent, float[] gateInput) {}

  /** Per-head memory, mutable here: m[h][k][v], z[h][k]. */
  static final class State {
    final double[][][] m;
    final double[][] z;

    State(int heads, int dk, int dv) {
      m = new double[heads][dk][dv];
      z = new double[heads][dk];
    }
  }

  /**
   * Result of one segment.
   *
   * @param out   (T, D) W_O applied to the gated heads
   * @param aMem  [h][t][v] memory branch
   * @param aDot  [h][t][v] local branch
   * @param memOnlyOut (T, D) W_O applied to A_mem alone
   * @param localOnlyOut (T, D) W_O applied to A_dot alone
   */
  record Result(double[][] out, double[][][] aMem, double[][][] aDot, double[][] memOnlyOut,
      double[][] localOnlyOut) {}

  private final ModelConfig c;
  private final LayerWeights w;

  NaiveInfiniAttention(ModelConfig c, LayerWeights w) {
    this.c = c;
    this.w = w;
  }

  static double sigma(double x) {
    return x > 0 ? x + 1 : Math.exp(x);
  }

  /** The config's feature map of the memory's queries and keys. */
  private double features(double x) {
    return c.keyFeatures() == KeyFeatures.SIGNED ? x : sigma(x);
  }

  /** Runs one segment h (T, D); updates {@code state} in place if {@code write}. */
  Result segment(double[][] h, State state, boolean write) {
    int t = h.length;
    int d = c.dModel();
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();
    double eps = InfiniTransformer.MEMORY_EPS;
    double[][][] q = new double[nh][t][dk];
    double[][][] k = new double[nh][t][dk];
    double[][][] v = new double[nh][t][dv];
    for (int hd = 0; hd < nh; hd++) {
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < dk; j++) {
          double sq = 0;
          double sk = 0;
          for (int e = 0; e < d; e++) {
            sq += h[i][e] * w.wq()[e * nh * dk + hd * dk + j];
            sk += h[i][e] * w.wk()[e * nh * dk + hd * dk + j];
          }
          q[hd][i][j] = sq;
          k[hd][i][j] = sk;
        }
        for (int j = 0; j < dv; j++) {
          double sv = 0;
          for (int e = 0; e < d; e++) {
            sv += h[i][e] * w.wv()[e * nh * dv + hd * dv + j];
          }
          v[hd][i][j] = sv;
        }
      }
    }
    double[][][] aDot = new double[nh][t][dv];
    double[][][] aMem = new double[nh][t][dv];
    double[][][] gated = new double[nh][t][dv];
    for (int hd = 0; hd < nh; hd++) {
      // local branch: RoPE (rotate-half, positions 0..T-1), causal softmax attention
      double[][] qr = rope(q[hd]);
      double[][] kr = rope(k[hd]);
      for (int i = 0; i < t; i++) {
        double[] s = new double[i + 1];
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
          for (int e = 0; e < dv; e++) {
            aDot[hd][i][e] += s[j] / sum * v[hd][j][e];
          }
        }
      }
      // memory read with pre-RoPE q
      for (int i = 0; i < t; i++) {
        double[] sq = new double[dk];
        for (int e = 0; e < dk; e++) {
          sq[e] = features(q[hd][i][e]);
        }
        double[] read = new double[dv];
        double den = 0;
        for (int e = 0; e < dk; e++) {
          den += sq[e] * state.z[hd][e];
          for (int f = 0; f < dv; f++) {
            read[f] += sq[e] * state.m[hd][e][f];
          }
        }
        if (c.memoryRead() == MemoryRead.PAPER) {
          for (int f = 0; f < dv; f++) {
            aMem[hd][i][f] = read[f] / (den + eps);
          }
        } else if (c.memoryRead() == MemoryRead.UNIT) {
          double n2 = 0;
          for (int e = 0; e < dk; e++) {
            n2 += sq[e] * sq[e];
          }
          for (int f = 0; f < dv; f++) {
            aMem[hd][i][f] = read[f] / Math.sqrt(n2 + eps);
          }
        } else {
          double ms = 0;
          for (int f = 0; f < dv; f++) {
            ms += read[f] * read[f];
          }
          double rms = Math.sqrt(ms / dv + eps);
          for (int f = 0; f < dv; f++) {
            aMem[hd][i][f] = read[f] / rms * w.memNorm()[hd * dv + f];
          }
        }
      }
      // gate: per head, or per token from [A_mem A_dot] (CONTENT) and h (CONTENT_INPUT)
      for (int i = 0; i < t; i++) {
        double x = w.gate()[hd];
        if (w.gateContent() != null && c.outputGate().readsMemory()) {
          for (int f = 0; f < dv; f++) {
            x += aMem[hd][i][f] * w.gateContent()[hd * 2 * dv + f]
                + aDot[hd][i][f] * w.gateContent()[hd * 2 * dv + dv + f];
          }
        } else if (w.gateContent() != null) { // CONTENT_LOCAL: w_dot alone, (H, V)
          for (int f = 0; f < dv; f++) {
            x += aDot[hd][i][f] * w.gateContent()[hd * dv + f];
          }
        }
        if (w.gateInput() != null) {
          for (int e = 0; e < h[i].length; e++) {
            x += h[i][e] * w.gateInput()[hd * h[i].length + e];
          }
        }
        double g = 1 / (1 + Math.exp(-x));
        for (int f = 0; f < dv; f++) {
          gated[hd][i][f] = g * aMem[hd][i][f] + (1 - g) * aDot[hd][i][f];
        }
      }
    }
    if (write) {
      for (int hd = 0; hd < nh; hd++) {
        double[][] sk = new double[t][dk];
        for (int i = 0; i < t; i++) {
          for (int e = 0; e < dk; e++) {
            sk[i][e] = features(k[hd][i][e]);
          }
        }
        double eta = 1;
        boolean unitKeys = c.updateRule() == UpdateRule.BOUNDED
            || c.updateRule() == UpdateRule.SEQUENTIAL || c.updateRule() == UpdateRule.GATED;
        if (unitKeys) {
          for (int i = 0; i < t; i++) { // unit-length key features
            double n2 = 0;
            for (int e = 0; e < dk; e++) {
              n2 += sk[i][e] * sk[i][e];
            }
            double norm = Math.sqrt(n2 + eps);
            for (int e = 0; e < dk; e++) {
              sk[i][e] /= norm;
            }
          }
        }
        if (c.updateRule() == UpdateRule.SEQUENTIAL || c.updateRule() == UpdateRule.GATED) {
          double[][] mm = state.m[hd]; // one token at a time, in order
          for (int i = 0; i < t; i++) {
            double beta = 1; // GATED: s(h_i w_beta + b_beta) of this head, s the config's gate
            if (c.updateRule() == UpdateRule.GATED) {
              double pre = w.writeBias()[hd];
              for (int e = 0; e < d; e++) {
                pre += h[i][e] * w.write()[e * nh + hd];
              }
              beta = c.writeGate() == WriteGate.LOGISTIC ? 1 / (1 + Math.exp(-pre))
                  : (1 + pre / (1 + Math.abs(pre))) / 2;
            }
            double[] err = v[hd][i].clone();
            for (int e = 0; e < dk; e++) {
              for (int f = 0; f < dv; f++) {
                err[f] -= sk[i][e] * mm[e][f];
              }
            }
            for (int e = 0; e < dk; e++) {
              for (int f = 0; f < dv; f++) {
                mm[e][f] += sk[i][e] * beta * err[f];
              }
            }
          }
          for (int e = 0; e < dk; e++) {
            for (int i = 0; i < t; i++) {
              state.z[hd][e] += features(k[hd][i][e]);
            }
          }
          continue;
        }
        if (c.updateRule() == UpdateRule.BOUNDED) {
          double maxRow = 0;
          for (int i = 0; i < t; i++) {
            double row = 0; // Gershgorin: sum_j |k^_i . k^_j|
            for (int j = 0; j < t; j++) {
              double dot = 0;
              for (int e = 0; e < dk; e++) {
                dot += sk[i][e] * sk[j][e];
              }
              row += Math.abs(dot);
            }
            maxRow = Math.max(maxRow, row);
          }
          eta = 1 / maxRow;
        }
        double[][] written = new double[t][dv];
        for (int i = 0; i < t; i++) {
          if (c.updateRule() == UpdateRule.BOUNDED) {
            double[] old = new double[dv];
            for (int e = 0; e < dk; e++) {
              for (int f = 0; f < dv; f++) {
                old[f] += sk[i][e] * state.m[hd][e][f];
              }
            }
            for (int f = 0; f < dv; f++) {
              written[i][f] = eta * (v[hd][i][f] - old[f]);
            }
          } else if (c.updateRule() == UpdateRule.LINEAR) {
            written[i] = v[hd][i].clone();
          } else {
            double den = 0;
            double[] old = new double[dv];
            for (int e = 0; e < dk; e++) {
              den += sk[i][e] * state.z[hd][e];
              for (int f = 0; f < dv; f++) {
                old[f] += sk[i][e] * state.m[hd][e][f];
              }
            }
            for (int f = 0; f < dv; f++) {
              written[i][f] = v[hd][i][f] - old[f] / (den + eps);
            }
          }
        }
        double[][] newM = new double[dk][dv];
        for (int e = 0; e < dk; e++) {
          for (int f = 0; f < dv; f++) {
            double acc = state.m[hd][e][f];
            for (int i = 0; i < t; i++) {
              acc += sk[i][e] * written[i][f];
            }
            newM[e][f] = acc;
          }
        }
        for (int e = 0; e < dk; e++) {
          for (int i = 0; i < t; i++) {
            state.z[hd][e] += features(k[hd][i][e]); // z sums sigma(K) whatever the rule
          }
        }
        state.m[hd] = newM;
      }
    }
    return new Result(project(gated), aMem, aDot, project(aMem), project(aDot));
  }

  private double[][] project(double[][][] heads) {
    int t = heads[0].length;
    int d = c.dModel();
    int dv = c.dValue();
    double[][] out = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int o = 0; o < d; o++) {
        double acc = 0;
        for (int hd = 0; hd < c.heads(); hd++) {
          for (int f = 0; f < dv; f++) {
            acc += heads[hd][i][f] * w.wo()[(hd * dv + f) * d + o];
          }
        }
        out[i][o] = acc;
      }
    }
    return out;
  }

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
        out[p][i + half] = x[p][i] * sin + x[p][i + half] * cos;
      }
    }
    return out;
  }
}
