package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The whole model, as {@link InfiniModel#absorb} runs it on a stream, against {@link
 * NaiveInfiniModel}: the complete Infini-Transformer in plain loops over doubles, independent of
 * DJL except for reading the weights. It checks the composition: embedding, every block, the final
 * norm and the tied head, the stream's segmenting into full segments and an open one, the overlap
 * context (PAD for a new stream, then the previous segment's last C tokens, read and attended to
 * but never written), and M and z carried from segment to segment through the stream state.
 *
 * <p>For the shipped checkpoint (3 layers, GATED, NORMALIZED read, signed keys, a short
 * convolution, the sparse write gate with a top-16 write, overlap 32, static output gate) on
 * English text and on random bytes, and for random-weight models of the paper's LINEAR and DELTA
 * rules and of GATED, with and without overlap, it feeds at least six full segments and a partial
 * open one, one segment per call, and asserts after every call that each (layer, head)'s M and z
 * equal the reference's and that every token's log-probability (every row of the logits, the last
 * full segment's and the open segment's included) does.
 *
 * <p>Tolerances, fp32 against double. The production code rounds every op to fp32 (unit roundoff u
 * = 6e-8); a value in M comes out of a chain of dot products of length up to F = 512 (projections,
 * attention over up to C + N = 160 rows, the feed-forward layer of the block below), each adding
 * about sqrt(length) u of relative error, and M sums up to ~900 writes, so its error relative to
 * its largest entry is of order 1e-6; measured here, at most 1.4e-6 (random weights of the default
 * shape), 7e-6 (the same with the sparse write gate) and 4e-7 (tiny models), and 2.1e-5 for the
 * shipped model, one of whose heads the sparse gate lets write almost nothing, so that its largest
 * entry is small beside the rounding of the values written. {@link #MEMORY_TOL} = 1e-4 leaves a
 * factor of 5 there and of 14 or more elsewhere for other summation orders (libtorch builds, CPUs),
 * and is far below what any change of a formula does to M (percents: see the mutations below). The
 * log-probabilities are compared absolutely: a logit is a dot product of a unit-RMS row with an
 * embedding row, so its absolute error is its magnitude (up to ~30 here) times the hidden state's
 * relative error; measured, at most 3e-5 nats (random weights of the default shape) and 1.1e-5 (the
 * shipped model). {@link #LOG_PROB_TOL} = 1e-3 nats leaves a factor of 30.
 *
 * <p>Checked to fail (mutating the reference, or the production code in a scratch clone, one change
 * at a time) when: RoPE is applied to the memory's queries (or queries and keys); the overlap
 * context is written into memory; the gate mixes 1 - g instead of g; memory is written before it is
 * read; RoPE pairs dimensions (2i, 2i+1) instead of (i, i + K/2); local scores are scaled by
 * 1/sqrt(D) instead of 1/sqrt(K); GELU is the tanh approximation; the delta rule divides by the z
 * after the segment; the write gate is the rational sigmoid, or 1; a new stream's context is byte 0
 * instead of PAD. It passes, as it should, when every RoPE position is shifted by a constant (only
 * differences matter), when the NORMALIZED read's eps moves outside the square root (1e-6 against
 * an RMS of order 1 is below fp32), and when the GATED write runs in blocks of 16 or 32 tokens in
 * closed form instead of token by token (the same rule).
 */
class WholeModelReferenceTest {
  /** max |M - M_ref| <= MEMORY_TOL * max |M_ref| per (layer, head), and likewise for z. */
  static final double MEMORY_TOL = 1e-4;

  /** max |log p - log p_ref| in nats over the tokens of one call. */
  static final double LOG_PROB_TOL = 1e-3;

  /** Full segments in each stream (the open segment comes on top). */
  private static final int SEGMENTS = 7;

  private static InfiniModel shipped;

  @BeforeAll
  static void load() {
    assertTrue(InfiniModel.isTrainedDefaultAvailable(), "no shipped checkpoint on the classpath");
    shipped = InfiniModel.loadDefault();
  }

  @AfterAll
  static void close() {
    shipped.close();
  }

  @Test
  void shippedModelOnEnglishText() {
    assertShippedRecipe(shipped.config());
    int n = shipped.config().segmentLength();
    int[] text = ByteTokenizer.encode(ENGLISH);
    assertTrue(text.length > 6 * n + n / 2, "six full segments and a partial one");
    compare(shipped, Arrays.copyOf(text, 6 * n + n / 2));
  }

  @Test
  void shippedModelOnRandomBytes() {
    assertShippedRecipe(shipped.config());
    compare(shipped, randomBytes(new SplittableRandom(21), shipped.config()));
  }

  /**
   * Random weights under the paper's rules and GATED, without and with overlap (C = N too). GATED
   * starts from the default configuration (its logistic write gate; D 128, K 32, H 4) with 40-token
   * segments, so that the write crosses the production code's 32-token block boundary; the others
   * from {@link ModelConfig#tiny()}.
   */
  @ParameterizedTest(name = "{0} update, {1} read, overlap {2}")
  @CsvSource({
    "LINEAR,PAPER,0",
    "LINEAR,PAPER,7",
    "DELTA,PAPER,0",
    "DELTA,PAPER,7",
    "DELTA,NORMALIZED,0",
    "DELTA,NORMALIZED,7",
    "DELTA,NORMALIZED,16",
    "GATED,NORMALIZED,0",
    "GATED,NORMALIZED,7"
  })
  void randomModelMatchesReference(UpdateRule rule, MemoryRead read, int overlap) {
    randomModel(rule, read, overlap, 0);
  }

  /**
   * As {@link #randomModelMatchesReference} with a short convolution over the projections (taps
   * drawn away from the identity), its width up to the overlap + 1: the segment's first rows read
   * their predecessors in the context, the context's first rows see zeros before the window.
   */
  @ParameterizedTest(name = "{0} update, {1} read, overlap {2}, short convolution {3}")
  @CsvSource({
    "DELTA,PAPER,7,2",
    "DELTA,NORMALIZED,3,4",
    "GATED,NORMALIZED,7,4",
    "GATED,NORMALIZED,7,8",
    "GATED,NORMALIZED,0,1"
  })
  void randomModelWithShortConvolutionMatchesReference(
      UpdateRule rule, MemoryRead read, int overlap, int conv) {
    randomModel(rule, read, overlap, conv);
  }

  /**
   * As {@link #randomModelMatchesReference} with signed features ({@link FeatureMap#IDENTITY}): the
   * memory reads and writes the raw pre-RoPE queries and keys, the write's keys made unit.
   */
  @ParameterizedTest(name = "identity features, overlap {0}, short convolution {1}")
  @CsvSource({"0,0", "7,0", "7,4"})
  void randomModelWithIdentityFeaturesMatchesReference(int overlap, int conv) {
    ModelConfig c =
        ModelConfig.defaults()
            .withSegmentLength(40)
            .withOverlap(overlap)
            .withShortConv(conv)
            .withFeatureMap(FeatureMap.IDENTITY);
    try (NDManager m = NDManager.newBaseManager()) {
      InfiniModel model = InfiniModel.fromWeights(perturbedWeights(c, 41 + overlap, m));
      compare(model, randomBytes(new SplittableRandom(42 + overlap), c));
    }
  }

  /**
   * As {@link #randomModelMatchesReference} with a top-k write ({@link ModelConfig#writeTopK}):
   * each head writes only the segment's k tokens of largest write logit.
   */
  @ParameterizedTest(name = "top-{0} write, overlap {1}, short convolution {2}")
  @CsvSource({"1,0,0", "5,7,0", "12,7,4"})
  void randomModelWithTopKWriteMatchesReference(int k, int overlap, int conv) {
    ModelConfig c =
        ModelConfig.defaults()
            .withSegmentLength(40)
            .withOverlap(overlap)
            .withShortConv(conv)
            .withFeatureMap(FeatureMap.IDENTITY)
            .withWriteTopK(k);
    try (NDManager m = NDManager.newBaseManager()) {
      InfiniModel model = InfiniModel.fromWeights(perturbedWeights(c, 51 + k, m));
      compare(model, randomBytes(new SplittableRandom(52 + k), c));
    }
  }

  /**
   * As {@link #randomModelWithTopKWriteMatchesReference} with the sparse write gate ({@link
   * WriteGate#SPARSE}): a token whose write logit is not positive writes nothing.
   */
  @ParameterizedTest(name = "sparse write gate, top-{0} write, overlap {1}")
  @CsvSource({"0,7", "12,7"})
  void randomModelWithSparseWriteGateMatchesReference(int k, int overlap) {
    ModelConfig c =
        ModelConfig.defaults()
            .withSegmentLength(40)
            .withOverlap(overlap)
            .withShortConv(4)
            .withFeatureMap(FeatureMap.IDENTITY)
            .withWriteTopK(k)
            .withWriteGate(WriteGate.SPARSE);
    try (NDManager m = NDManager.newBaseManager()) {
      InfiniModel model = InfiniModel.fromWeights(perturbedWeights(c, 61 + k, m));
      compare(model, randomBytes(new SplittableRandom(62 + k), c));
    }
  }

  /**
   * As {@link #randomModelWithSparseWriteGateMatchesReference} with a large read eps ({@link
   * ModelConfig#readEps}), which damps the reads of weak memories instead of normalising them: the
   * model still equals the reference, and the eps changes what the reference computes.
   */
  @Test
  void randomModelWithReadEpsMatchesReference() {
    ModelConfig c =
        ModelConfig.defaults()
            .withSegmentLength(40)
            .withOverlap(7)
            .withShortConv(4)
            .withFeatureMap(FeatureMap.IDENTITY)
            .withWriteGate(WriteGate.SPARSE)
            .withReadEps(0.5f);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = perturbedWeights(c, 71, m);
      int[] tokens = randomBytes(new SplittableRandom(72), c);
      compare(InfiniModel.fromWeights(w), tokens);
      int[] stream = new int[tokens.length + 1];
      stream[0] = ByteTokenizer.BOS;
      System.arraycopy(tokens, 0, stream, 1, tokens.length);
      double[] damped = new NaiveInfiniModel(w).run(stream).logProbs();
      double[] normalised =
          new NaiveInfiniModel(w.withReadEps(ModelConfig.DEFAULT_READ_EPS)).run(stream).logProbs();
      double most = 0;
      for (int i = 0; i < damped.length; i++) {
        most = Math.max(most, Math.abs(damped[i] - normalised[i]));
      }
      assertTrue(most > 1e-3, "the read eps changes the model's predictions, by " + most);
    }
  }

  private void randomModel(UpdateRule rule, MemoryRead read, int overlap, int conv) {
    // GATED at the default width with N = 40: the block solve crosses its 32-token boundary
    ModelConfig base =
        rule == UpdateRule.GATED
            ? ModelConfig.defaults().withSegmentLength(40)
            : ModelConfig.tiny();
    ModelConfig c =
        base.withUpdateRule(rule).withMemoryRead(read).withOverlap(overlap).withShortConv(conv);
    try (NDManager m = NDManager.newBaseManager()) {
      InfiniModel model = InfiniModel.fromWeights(perturbedWeights(c, 31 + overlap, m));
      compare(model, randomBytes(new SplittableRandom(32 + overlap), c));
    }
  }

  // ---- harness --------------------------------------------------------------------------------

  private static void assertShippedRecipe(ModelConfig c) {
    assertEquals(3, c.layers());
    assertEquals(UpdateRule.GATED, c.updateRule());
    assertEquals(MemoryRead.NORMALIZED, c.memoryRead());
    assertEquals(32, c.overlap());
    assertEquals(4, c.shortConv());
    assertEquals(FeatureMap.IDENTITY, c.featureMap());
    assertEquals(16, c.writeTopK());
    assertEquals(WriteGate.SPARSE, c.writeGate());
  }

  /**
   * Feeds BOS + {@code tokens} to the model one segment per call (each call compresses exactly one
   * full segment; the last call leaves a partial open one) and to the reference in one go, and
   * compares every call's memories and log-probabilities.
   */
  static void compare(InfiniModel model, int[] tokens) {
    ModelConfig c = model.config();
    int n = c.segmentLength();
    int full = tokens.length / n;
    assertTrue(full >= 6 && tokens.length % n != 0, "6+ full segments and a partial one");
    int[] stream = new int[tokens.length + 1]; // as a new stream: BOS, then the tokens
    stream[0] = ByteTokenizer.BOS;
    System.arraycopy(tokens, 0, stream, 1, tokens.length);
    NaiveInfiniModel.Run want = new NaiveInfiniModel(model.weights()).run(stream);
    assertEquals(full, want.m().size());

    StreamState state = model.newState();
    for (int s = 0; s <= full; s++) {
      int from = s * n;
      int to = Math.min(tokens.length, from + n);
      AbsorbResult r = model.absorb(state, Arrays.copyOfRange(tokens, from, to), true);
      state = r.state();
      String where = s < full ? "segment " + s : "open segment";
      assertEquals(s < full ? 1 : 0, r.segmentsCompressed(), where + ": segments compressed");
      // tokens[from + j] = stream[from + j + 1], whose log-probability is want[from + j]
      assertLogProbs(where, r.logProbs(), Arrays.copyOfRange(want.logProbs(), from, to));
      if (s < full) {
        for (int l = 0; l < c.layers(); l++) {
          for (int h = 0; h < c.heads(); h++) {
            HeadMemory got = state.memory(l, h);
            String head = where + ", layer " + l + ", head " + h;
            assertClose("M after " + head, got.m(), flatten(want.m().get(s)[l][h]));
            assertClose("z after " + head, got.z(), want.z().get(s)[l][h]);
          }
        }
      }
    }
    assertEquals(1 + tokens.length - full * n, state.openLength());
  }

  /** max |got - want| <= MEMORY_TOL * max |want|; an all-zero reference must be matched exactly. */
  private static void assertClose(String what, float[] got, double[] want) {
    assertEquals(want.length, got.length, what + ": length");
    double maxRef = 0;
    double maxDiff = 0;
    for (int i = 0; i < got.length; i++) {
      assertTrue(Float.isFinite(got[i]), what + ": non-finite at " + i);
      maxRef = Math.max(maxRef, Math.abs(want[i]));
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    }
    assertTrue(
        maxDiff <= MEMORY_TOL * maxRef,
        what + ": max diff " + maxDiff + " > " + MEMORY_TOL + " * max " + maxRef);
  }

  private static void assertLogProbs(String what, float[] got, double[] want) {
    assertEquals(want.length, got.length, what + ": tokens scored");
    double maxDiff = 0;
    for (int i = 0; i < got.length; i++) {
      assertTrue(Float.isFinite(got[i]) && got[i] <= 0, what + ": log p " + got[i] + " at " + i);
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    }
    assertTrue(
        maxDiff <= LOG_PROB_TOL,
        what + ": log-probabilities differ by up to " + maxDiff + " nats > " + LOG_PROB_TOL);
  }

  private static double[] flatten(double[][] a) {
    int cols = a[0].length;
    double[] out = new double[a.length * cols]; // row-major, as HeadMemory.m()
    for (int i = 0; i < a.length; i++) {
      System.arraycopy(a[i], 0, out, i * cols, cols);
    }
    return out;
  }

  /** SEGMENTS full segments and a partial one of random byte tokens. */
  private static int[] randomBytes(SplittableRandom rng, ModelConfig c) {
    int n = c.segmentLength();
    int[] out = new int[SEGMENTS * n + n / 2 + 1];
    for (int i = 0; i < out.length; i++) {
      out[i] = rng.nextInt(256);
    }
    return out;
  }

  /**
   * {@link InfiniModel#create}'s weights for {@code c}, made a harder test: the projections
   * rescaled to RMS 1/sqrt(fan-in) (1.5/sqrt(D) for W_Q and W_K: peaked attention, RoPE and the
   * memory's features far from 1), the embedding to RMS 0.5, every gain to 1 +- 0.5, and the
   * parameters that start constant set at random: the output gates beta in +-2 (at 0, g = 1 - g and
   * a swapped gate would pass), the write biases in +-1.5 with write projections of RMS 1/sqrt(D)
   * (write strengths spread over (0, 1) instead of all near sigmoid(4)). Built with {@link
   * Weights#fromNamed}, owned by {@code m}.
   */
  static Weights perturbedWeights(ModelConfig c, long seed, NDManager m) {
    try (InfiniModel created = InfiniModel.create(c, seed)) {
      return perturbed(c, created.weights(), new SplittableRandom(seed), m);
    }
  }

  private static Weights perturbed(ModelConfig c, Weights init, SplittableRandom rng, NDManager m) {
    double d = c.dModel();
    NDList named = new NDList();
    named.add(rescaled(m, "embed", init.embed(), 0.5));
    for (int i = 0; i < c.layers(); i++) {
      Weights.Layer l = init.layers().get(i);
      String p = "layers." + i + ".";
      named.add(gain(m, p + "attn_norm", l.attnNorm(), rng));
      named.add(rescaled(m, p + "attn.wq", l.wq(), 1.5 / Math.sqrt(d)));
      named.add(rescaled(m, p + "attn.wk", l.wk(), 1.5 / Math.sqrt(d)));
      named.add(rescaled(m, p + "attn.wv", l.wv(), 1 / Math.sqrt(d)));
      named.add(rescaled(m, p + "attn.wo", l.wo(), 1 / Math.sqrt((double) c.heads() * c.dValue())));
      named.add(uniform(m, p + "attn.gate", l.gate(), 0, 2, rng));
      named.add(gain(m, p + "attn.mem_norm", l.memNorm(), rng));
      if (c.updateRule() == UpdateRule.GATED) {
        named.add(rescaled(m, p + "attn.write", l.write(), 1 / Math.sqrt(d)));
        named.add(uniform(m, p + "attn.write_bias", l.writeBias(), 0, 1.5, rng));
      }
      if (l.conv() != null) { // every lag of every channel non-zero: the identity tests nothing
        named.add(uniform(m, p + "attn.conv", l.conv(), 0.3, 0.6, rng));
      }
      named.add(gain(m, p + "ffn_norm", l.ffnNorm(), rng));
      named.add(rescaled(m, p + "ffn.w1", l.w1(), 1 / Math.sqrt(d)));
      named.add(rescaled(m, p + "ffn.w2", l.w2(), 1 / Math.sqrt(c.ffnHidden())));
    }
    named.add(gain(m, "final_norm", init.finalNorm(), rng));
    return Weights.fromNamed(c, named);
  }

  /** A copy of {@code a} scaled to root-mean-square {@code rms}. */
  private static NDArray rescaled(NDManager m, String name, NDArray a, double rms) {
    float[] v = a.toFloatArray();
    double sq = 0;
    for (float x : v) {
      sq += (double) x * x;
    }
    double scale = rms / Math.sqrt(sq / v.length);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] * scale);
    }
    return named(m, name, v, a);
  }

  private static NDArray gain(NDManager m, String name, NDArray a, SplittableRandom rng) {
    return uniform(m, name, a, 1, 0.5, rng);
  }

  /** An array of {@code a}'s shape, uniform in center +- halfWidth. */
  private static NDArray uniform(
      NDManager m, String name, NDArray a, double center, double halfWidth, SplittableRandom rng) {
    float[] v = new float[Math.toIntExact(a.size())];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (center + halfWidth * (2 * rng.nextDouble() - 1));
    }
    return named(m, name, v, a);
  }

  private static NDArray named(NDManager m, String name, float[] values, NDArray like) {
    NDArray out = m.create(values, like.getShape());
    out.setName(name);
    return out;
  }

  /** English prose, longer than six segments of 128 bytes plus an open one. */
  private static final String ENGLISH =
      "The lighthouse on the northern cape was built in 1871 "
          + "from granite quarried two valleys inland, and for most of its working life it was kept "
          + "by a single family. The keeper climbed the one hundred and twelve steps at dusk to light "
          + "the lamp, wound the clockwork that turned the lens every four hours through the night, "
          + "and wrote the weather into a log book in a small, careful hand. Ships that passed the "
          + "cape in fog listened for the horn, two long blasts every minute, and counted the seconds "
          + "between the flashes to tell this light from the one on the island to the west. In the "
          + "winter of 1903 a storm broke three panes of the lantern room, and the keeper's daughter "
          + "held a sheet of canvas against the gap for six hours while her father kept the lamp "
          + "burning. The log for that night records only the wind, the pressure and the words "
          + "light shown all night. When the station was automated in 1962 the family moved to the "
          + "village, but the daughter, by then an old woman, still walked out to the cape on clear "
          + "evenings to watch the beam sweep across the water, and she said that she could tell "
          + "from its rhythm whether the clockwork was running true.";
}
