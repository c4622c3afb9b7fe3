package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link InfiniTransformer#gatedTokens} skips the tokens whose write strength is 0 (a top-k write's
 * unselected ones) without changing a bit of the memory: it is compared with the rule run on every
 * token, written here plainly (the read of each token summed over K in order, grouped as the
 * skipping code groups it, then the update).
 */
class GatedTokensTest {

  @ParameterizedTest
  @CsvSource({
    // K, V, N, tokens that write (0: none, N: all), seed
    "32,32,128,16,1",
    "32,32,128,128,2",
    "32,32,128,1,3",
    "32,32,128,0,4",
    "30,17,40,7,5",
    "7,5,9,3,6",
    "3,4,12,5,7"
  })
  void skippingUnwrittenTokensKeepsEveryBit(int dk, int dv, int n, int written, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    for (int trial = 0; trial < 20; trial++) {
      float[][] memory = new float[dk][dv];
      for (float[] row : memory) {
        for (int j = 0; j < dv; j++) {
          row[j] = trial == 0 ? 0f : (float) rng.nextGaussian();
        }
      }
      int keyStep = dk + 3; // rows of a wider array, as the projections lay them out
      int valueStep = dv + 2;
      float[] keys = new float[n * keyStep];
      float[] values = new float[n * valueStep];
      for (int i = 0; i < keys.length; i++) {
        keys[i] = (float) Math.abs(rng.nextGaussian());
      }
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) rng.nextGaussian();
      }
      float[] beta = new float[n];
      int[] order = shuffled(n, rng);
      for (int i = 0; i < written; i++) {
        beta[order[i]] = (float) rng.nextDouble();
      }
      if (trial == 1
          && written > 0
          && written < n) { // the first token unwritten, the last (n - 1 are run) written
        beta[0] = 0f;
        beta[n - 2] = 0.5f;
      }
      float[][] expected = copy(memory);
      everyToken(expected, keys, 1, keyStep, values, 2, valueStep, beta, n - 1);
      float[][] actual = copy(memory);
      InfiniTransformer.gatedTokens(actual, keys, 1, keyStep, values, 2, valueStep, beta, n - 1);
      for (int k = 0; k < dk; k++) {
        for (int j = 0; j < dv; j++) {
          assertEquals(
              Float.floatToRawIntBits(expected[k][j]),
              Float.floatToRawIntBits(actual[k][j]),
              "M[" + k + "][" + j + "], trial " + trial);
        }
      }
      if (written == 0) {
        assertEquals(Arrays.deepToString(memory), Arrays.deepToString(actual), "nothing written");
      }
    }
  }

  /** The rule on every token: read r_t = k^_t M, u_t = beta_t (v_t - r_t), M += k^_t^T u_t. */
  private static void everyToken(
      float[][] rows,
      float[] keys,
      int keyAt,
      int keyStep,
      float[] values,
      int valueAt,
      int valueStep,
      float[] beta,
      int n) {
    int dk = rows.length;
    int dv = rows[0].length;
    float[] r = new float[dv];
    for (int t = 0; t < n; t++) {
      float[] key = unit(keys, keyAt + t * keyStep, dk);
      Arrays.fill(r, 0f);
      for (int k = 0; k < dk; k++) {
        for (int j = 0; j < dv; j++) {
          r[j] = r[j] + key[k] * rows[k][j];
        }
      }
      for (int k = 0; k < dk; k++) {
        for (int j = 0; j < dv; j++) {
          float u = beta[t] * (values[valueAt + t * valueStep + j] - r[j]);
          rows[k][j] = rows[k][j] + key[k] * u;
        }
      }
    }
  }

  private static float[] unit(float[] keys, int from, int dk) {
    float s = 0f;
    for (int k = 0; k < dk; k++) {
      s += keys[from + k] * keys[from + k];
    }
    float[] out = new float[dk];
    float len = (float) Math.sqrt(s + InfiniTransformer.MEMORY_EPS);
    for (int k = 0; k < dk; k++) {
      out[k] = keys[from + k] / len;
    }
    return out;
  }

  private static int[] shuffled(int n, SplittableRandom rng) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }

  private static float[][] copy(float[][] m) {
    float[][] out = new float[m.length][];
    for (int i = 0; i < m.length; i++) {
      out[i] = m[i].clone();
    }
    return out;
  }
}
