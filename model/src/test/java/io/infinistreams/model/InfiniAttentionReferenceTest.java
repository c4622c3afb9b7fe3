package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.infinistreams.model.InfiniTransformer.Attention;
import io.infinistreams.model.InfiniTransformer.GateOverride;
import io.infinistreams.model.InfiniTransformer.KvCache;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.PreparedLayer;
import io.infinistreams.model.InfiniTransformer.Output;
import io.infinistreams.model.InfiniTransformer.Rope;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The DJL Infini-attention layer against {@link NaiveInfiniAttention} (plain loops, doubles):
 * random weights and inputs, batch 2, several chained segments, every update rule and read.
 */
class InfiniAttentionReferenceTest {
  private static final double TOL = 1e-5;
  private static final int BATCH = 2;
  private static final int SEGMENTS = 5;

  @ParameterizedTest(name = "{0} update, {1} read")
  @CsvSource({"LINEAR,PAPER", "DELTA,PAPER", "LINEAR,NORMALIZED", "DELTA,NORMALIZED",
      "BOUNDED,NORMALIZED", "SEQUENTIAL,NORMALIZED", "SEQUENTIAL,UNIT", "BOUNDED,UNIT", "GATED,NORMALIZED",
      "GATED,UNIT"})
  void matchesNaiveReferenceAcrossSegments(UpdateRule rule, MemoryRead read) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(read);
    SplittableRandom rng = new SplittableRandom(42);
    float[] gate = random(rng, c.heads(), 1.0);
    run(c, rng, gate, (djl, ref, s) -> {
      compare("out", djl.out(), ref, r -> r.out(), s);
      compareHeads("A_mem", djl.memRead(), ref, r -> r.aMem(), s);
      compareHeads("A_dot", djl.local(), ref, r -> r.aDot(), s);
    });
  }

  /** SIGNED keys (the identity feature map) under every rule that allows them. */
  @ParameterizedTest(name = "{0} update, {1} read, signed keys")
  @CsvSource({"BOUNDED,NORMALIZED", "SEQUENTIAL,UNIT", "GATED,NORMALIZED", "GATED,UNIT"})
  void signedKeysMatchNaiveReferenceAcrossSegments(UpdateRule rule, MemoryRead read) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(read)
        .withKeyFeatures(KeyFeatures.SIGNED);
    SplittableRandom rng = new SplittableRandom(44);
    float[] gate = random(rng, c.heads(), 1.0);
    run(c, rng, gate, (djl, ref, s) -> {
      compare("out", djl.out(), ref, r -> r.out(), s);
      compareHeads("A_mem", djl.memRead(), ref, r -> r.aMem(), s);
    });
  }

  /** The logistic write gate, with either key features. */
  @ParameterizedTest(name = "GATED, logistic write gate, {0} keys")
  @CsvSource({"ELU_PLUS_ONE", "SIGNED"})
  void logisticWriteGateMatchesNaiveReferenceAcrossSegments(KeyFeatures keys) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withWriteGate(WriteGate.LOGISTIC).withKeyFeatures(keys);
    SplittableRandom rng = new SplittableRandom(45);
    float[] gate = random(rng, c.heads(), 1.0);
    run(c, rng, gate, (djl, ref, s) -> {
      compare("out", djl.out(), ref, r -> r.out(), s);
      compareHeads("A_mem", djl.memRead(), ref, r -> r.aMem(), s);
    });
  }

  /**
   * The per-token output gates, from both branches (CONTENT), also from the layer's input
   * (CONTENT_INPUT), or from the local branch alone (CONTENT_LOCAL), under the shipped rule and
   * others.
   */
  @ParameterizedTest(name = "{2} gate, {0} update, {1} read")
  @CsvSource({"GATED,NORMALIZED,CONTENT", "DELTA,PAPER,CONTENT", "SEQUENTIAL,UNIT,CONTENT",
      "GATED,NORMALIZED,CONTENT_INPUT", "DELTA,PAPER,CONTENT_INPUT", "GATED,NORMALIZED,CONTENT_LOCAL",
      "DELTA,PAPER,CONTENT_LOCAL"})
  void contentGateMatchesNaiveReferenceAcrossSegments(UpdateRule rule, MemoryRead read,
      OutputGate outputGate) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(read)
        .withOutputGate(outputGate);
    SplittableRandom rng = new SplittableRandom(46);
    float[] gate = random(rng, c.heads(), 1.0);
    run(c, rng, gate, (djl, ref, s) -> {
      compare("out", djl.out(), ref, r -> r.out(), s);
      compareHeads("A_mem", djl.memRead(), ref, r -> r.aMem(), s);
    });
  }

  /**
   * A per-token gate with its weights at 0 (how training starts it) computes what the STATIC gate
   * does, so a STATIC model can be continued with it.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"CONTENT", "CONTENT_INPUT", "CONTENT_LOCAL"})
  void contentGateAtZeroIsTheStaticGate(OutputGate outputGate) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED);
    ModelConfig content = c.withOutputGate(outputGate);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights.Layer lw = randomLayer(m, c, new SplittableRandom(6), new float[] {0.8f, -1.3f});
      Weights.Layer zero = new Weights.Layer(lw.attnNorm(), lw.wq(), lw.wk(), lw.wv(), lw.wo(),
          lw.gate(), lw.memNorm(), lw.ffnNorm(), lw.w1(), lw.w2(), lw.write(), lw.writeBias(),
          m.zeros(new Shape(c.heads(), outputGate.branchWeights(c.dValue()))),
          outputGate.readsInput() ? m.zeros(new Shape(c.heads(), c.dModel())) : null);
      NDArray h = m.create(random(new SplittableRandom(7), BATCH * c.segmentLength() * c.dModel(),
          1.0), new Shape(BATCH, c.segmentLength(), c.dModel()));
      Rope rope = Rope.of(m, c, 0, c.segmentLength());
      NDArray mask = InfiniTransformer.causalMask(m, 0, c.segmentLength());
      Memory mem = InfiniTransformer.Memory.zeros(m, c, BATCH).get(0);
      PreparedLayer staticGate = PreparedLayer.of(c, lw, m);
      PreparedLayer contentGate = PreparedLayer.of(content, zero, m);
      Memory written = InfiniTransformer.attention(c, staticGate, h, mem, null, null, rope, mask,
          Options.fullSegment()).memory();
      Attention want = InfiniTransformer.attention(c, staticGate, h, written, null, null, rope,
          mask, Options.readOnly());
      Attention got = InfiniTransformer.attention(content, contentGate, h, written, null, null,
          rope, mask, Options.readOnly());
      assertTrue(want.memRead().abs().sum().getFloat() > 0, "memory is read");
      float[] g = got.out().toFloatArray();
      float[] w = want.out().toFloatArray();
      for (int i = 0; i < g.length; i++) {
        assertEquals(w[i], g[i], 1e-6f * (1 + Math.abs(w[i])), "out[" + i + "]");
      }
    }
  }

  /** SEQUENTIAL and GATED write in blocks of 32 tokens: a 72-token segment spans 32 + 32 + 8. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"SEQUENTIAL", "GATED"})
  void sequentialUpdateAcrossBlocksMatchesTokenByTokenLoop(UpdateRule rule) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule).withSegmentLength(72);
    SplittableRandom rng = new SplittableRandom(43);
    float[] gate = random(rng, c.heads(), 1.0);
    run(c, rng, gate, (djl, ref, s) -> {
      compare("out", djl.out(), ref, r -> r.out(), s);
      compareHeads("A_mem", djl.memRead(), ref, r -> r.aMem(), s);
    });
  }

  @Test
  void gateTowardsPlusInfinityIsTheMemoryBranchAlone() {
    ModelConfig c = ModelConfig.tiny();
    SplittableRandom rng = new SplittableRandom(3);
    run(c, rng, new float[] {100f, 100f}, (djl, ref, s) -> {
      if (s > 0) { // from the second segment on the memory is not empty
        compare("out vs memory branch", djl.out(), ref, r -> r.memOnlyOut(), s);
      }
    });
  }

  @Test
  void gateTowardsMinusInfinityIsPlainCausalAttention() {
    ModelConfig c = ModelConfig.tiny().withMemoryRead(MemoryRead.PAPER);
    SplittableRandom rng = new SplittableRandom(4);
    run(c, rng, new float[] {-100f, -100f}, (djl, ref, s) ->
        compare("out vs local branch", djl.out(), ref, r -> r.localOnlyOut(), s));
  }

  @Test
  void gateOverridesSelectOneBranch() {
    ModelConfig c = ModelConfig.tiny();
    SplittableRandom rng = new SplittableRandom(5);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights.Layer lw = randomLayer(m, c, rng, new float[] {0.3f, -0.7f});
      PreparedLayer lp = PreparedLayer.of(c, lw, m);
      NDArray h = m.create(random(rng, BATCH * c.segmentLength() * c.dModel(), 1.0),
          new Shape(BATCH, c.segmentLength(), c.dModel()));
      Memory mem = InfiniTransformer.Memory.zeros(m, c, BATCH).get(0);
      Rope rope = Rope.of(m, c, 0, c.segmentLength());
      NDArray mask = InfiniTransformer.causalMask(m, 0, c.segmentLength());
      Attention first = InfiniTransformer.attention(c, lp, h, mem, null, null, rope, mask,
          Options.fullSegment());
      Attention memOnly = InfiniTransformer.attention(c, lp, h, first.memory(), null, null, rope,
          mask, Options.readOnly().withGate(GateOverride.MEMORY_ONLY));
      Attention localOnly = InfiniTransformer.attention(c, lp, h, first.memory(), null, null, rope,
          mask, Options.readOnly().withGate(GateOverride.LOCAL_ONLY));
      NDArray wo = lw.wo();
      long b = BATCH;
      long t = c.segmentLength();
      long hv = (long) c.heads() * c.dValue();
      assertArrayEquals(memOnly.memRead().transpose(0, 2, 1, 3).reshape(b, t, hv).matMul(wo),
          memOnly.out());
      assertArrayEquals(localOnly.local().transpose(0, 2, 1, 3).reshape(b, t, hv).matMul(wo),
          localOnly.out());
    }
  }

  /** The KV-cache path (prefix, then one token at a time) gives the logits of one full pass. */
  @Test
  void kvCacheMatchesFullPass() {
    ModelConfig c = ModelConfig.tiny();
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = Weights.init(c, 11, m);
      SplittableRandom rng = new SplittableRandom(6);
      int n = c.segmentLength();
      long[] ids = new long[BATCH * n];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = rng.nextInt(256);
      }
      NDArray tokens = m.create(ids, new Shape(BATCH, n));
      List<Memory> mem = Memory.zeros(m, c, BATCH);
      // a first segment so the memory is not empty
      mem = InfiniTransformer.forward(w, tokens, mem, Options.fullSegment()).memories();
      NDArray full = InfiniTransformer.forward(w, tokens, mem, Options.readOnly()).logits();
      int prefix = 5;
      Output out = InfiniTransformer.forward(w, tokens.get(":, 0:" + prefix), mem,
          Options.readOnly());
      KvCache cache = out.cache();
      assertArrayEquals(full.get(":, 0:" + prefix), out.logits());
      for (int p = prefix; p < n; p++) {
        Output step = InfiniTransformer.forward(w, tokens.get(":, " + p + ":" + (p + 1)), mem,
            cache, Options.readOnly());
        cache = step.cache();
        assertArrayEquals(full.get(":, " + p + ":" + (p + 1)), step.logits());
      }
      assertEquals(n, cache.length());
    }
  }

  // ---- harness --------------------------------------------------------------------------------

  interface Check {
    void check(Attention djl, NaiveInfiniAttention.Result[] ref, int segment);
  }

  interface Pick {
    double[][] of(NaiveInfiniAttention.Result r);
  }

  interface PickHeads {
    double[][][] of(NaiveInfiniAttention.Result r);
  }

  private static void run(ModelConfig c, SplittableRandom rng, float[] gate, Check check) {
    int n = c.segmentLength();
    int d = c.dModel();
    try (NDManager m = NDManager.newBaseManager()) {
      Weights.Layer lw = randomLayer(m, c, rng, gate);
      NaiveInfiniAttention.LayerWeights rw = new NaiveInfiniAttention.LayerWeights(
          lw.wq().toFloatArray(), lw.wk().toFloatArray(), lw.wv().toFloatArray(),
          lw.wo().toFloatArray(), lw.gate().toFloatArray(), lw.memNorm().toFloatArray(),
          lw.write() == null ? null : lw.write().toFloatArray(),
          lw.writeBias() == null ? null : lw.writeBias().toFloatArray(),
          lw.gateContent() == null ? null : lw.gateContent().toFloatArray(),
          lw.gateInput() == null ? null : lw.gateInput().toFloatArray());
      NaiveInfiniAttention ref = new NaiveInfiniAttention(c, rw);
      PreparedLayer lp = PreparedLayer.of(c, lw, m);
      NaiveInfiniAttention.State[] refState = new NaiveInfiniAttention.State[BATCH];
      for (int b = 0; b < BATCH; b++) {
        refState[b] = new NaiveInfiniAttention.State(c.heads(), c.dKey(), c.dValue());
      }
      Memory mem = Memory.zeros(m, c, BATCH).get(0);
      Rope rope = Rope.of(m, c, 0, n);
      NDArray mask = InfiniTransformer.causalMask(m, 0, n);
      for (int s = 0; s < SEGMENTS; s++) {
        float[] x = random(rng, BATCH * n * d, 1.0);
        Attention djl = InfiniTransformer.attention(c, lp, m.create(x, new Shape(BATCH, n, d)), mem,
            null, null, rope, mask, Options.fullSegment());
        NaiveInfiniAttention.Result[] results = new NaiveInfiniAttention.Result[BATCH];
        for (int b = 0; b < BATCH; b++) {
          double[][] h = new double[n][d];
          for (int i = 0; i < n; i++) {
            for (int e = 0; e < d; e++) {
              h[i][e] = x[(b * n + i) * d + e];
            }
          }
          results[b] = ref.segment(h, refState[b], true);
        }
        check.check(djl, results, s);
        mem = djl.memory();
        // the written memory matches too
        float[] mm = mem.m().toFloatArray();
        float[] zz = mem.z().toFloatArray();
        double[] refM = new double[mm.length];
        double[] refZ = new double[zz.length];
        int kv = c.dKey() * c.dValue();
        for (int b = 0; b < BATCH; b++) {
          for (int hd = 0; hd < c.heads(); hd++) {
            for (int e = 0; e < c.dKey(); e++) {
              refZ[(b * c.heads() + hd) * c.dKey() + e] = refState[b].z[hd][e];
              for (int f = 0; f < c.dValue(); f++) {
                refM[(b * c.heads() + hd) * kv + e * c.dValue() + f] = refState[b].m[hd][e][f];
              }
            }
          }
        }
        assertClose("M after segment " + s, mm, refM);
        assertClose("z after segment " + s, zz, refZ);
      }
    }
  }

  private static void compare(String what, NDArray djl, NaiveInfiniAttention.Result[] ref, Pick pick,
      int s) {
    float[] got = djl.toFloatArray(); // (B, T, D)
    int t = pick.of(ref[0]).length;
    int d = pick.of(ref[0])[0].length;
    double[] want = new double[got.length];
    for (int b = 0; b < ref.length; b++) {
      double[][] r = pick.of(ref[b]);
      for (int i = 0; i < t; i++) {
        for (int e = 0; e < d; e++) {
          want[(b * t + i) * d + e] = r[i][e];
        }
      }
    }
    assertClose(what + " in segment " + s, got, want);
  }

  private static void compareHeads(String what, NDArray djl, NaiveInfiniAttention.Result[] ref,
      PickHeads pick, int s) {
    float[] got = djl.toFloatArray(); // (B, H, T, V)
    double[][][] first = pick.of(ref[0]);
    int nh = first.length;
    int t = first[0].length;
    int dv = first[0][0].length;
    double[] want = new double[got.length];
    for (int b = 0; b < ref.length; b++) {
      double[][][] r = pick.of(ref[b]);
      for (int hd = 0; hd < nh; hd++) {
        for (int i = 0; i < t; i++) {
          for (int f = 0; f < dv; f++) {
            want[((b * nh + hd) * t + i) * dv + f] = r[hd][i][f];
          }
        }
      }
    }
    assertClose(what + " in segment " + s, got, want);
  }

  /** max |got - want| <= TOL * max |want|; an all-zero reference must be matched exactly. */
  static void assertClose(String what, float[] got, double[] want) {
    assertEquals(want.length, got.length, what + ": length");
    double maxRef = 0;
    double maxDiff = 0;
    for (int i = 0; i < got.length; i++) {
      assertTrue(Float.isFinite(got[i]), what + ": non-finite at " + i);
      maxRef = Math.max(maxRef, Math.abs(want[i]));
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    }
    if (maxRef == 0) {
      assertEquals(0.0, maxDiff, what + ": reference is exactly 0");
    } else {
      assertTrue(maxDiff <= TOL * maxRef, what + ": max diff " + maxDiff + " > " + TOL + " * "
          + maxRef);
    }
  }

  static void assertArrayEquals(NDArray want, NDArray got) {
    float[] g = got.toFloatArray();
    float[] w = want.toFloatArray();
    double[] wd = new double[w.length];
    for (int i = 0; i < w.length; i++) {
      wd[i] = w[i];
    }
    assertClose("arrays", g, wd);
  }

  static Weights.Layer randomLayer(NDManager m, ModelConfig c, SplittableRandom rng, float[] gate) {
    int d = c.dModel();
    int hk = c.heads() * c.dKey();
    int hv = c.heads() * c.dValue();
    double std = 1.0 / Math.sqrt(d);
    return new Weights.Layer(
        m.create(random(rng, d, 1.0), new Shape(d)),
        m.create(random(rng, d * hk, std), new Shape(d, hk)),
        m.create(random(rng, d * hk, std), new Shape(d, hk)),
        m.create(random(rng, d * hv, std), new Shape(d, hv)),
        m.create(random(rng, hv * d, 1.0 / Math.sqrt(hv)), new Shape(hv, d)),
        m.create(gate, new Shape(c.heads())),
        m.create(random(rng, c.heads() * c.dValue(), 1.0), new Shape(c.heads(), c.dValue())),
        m.create(random(rng, d, 1.0), new Shape(d)),
        m.create(random(rng, d * c.ffnHidden(), std), new Shape(d, c.ffnHidden())),
        m.create(random(rng, c.ffnHidden() * d, std), new Shape(c.ffnHidden(), d)),
        // GATED: write strengths spread over (0, 1) around sigmoid(0.5)
        c.updateRule() != UpdateRule.GATED ? null
            : m.create(random(rng, d * c.heads(), std), new Shape(d, c.heads())),
        c.updateRule() != UpdateRule.GATED ? null
            : m.create(random(rng, c.heads(), 0.5), new Shape(c.heads())),
        // per-token gates: logits that move by a few units from token to token
        !c.outputGate().perToken() ? null
            : m.create(random(rng, (int) (c.heads() * c.outputGate().branchWeights(c.dValue())),
                1.0), new Shape(c.heads(), c.outputGate().branchWeights(c.dValue()))),
        !c.outputGate().readsInput() ? null
            : m.create(random(rng, c.heads() * d, std), new Shape(c.heads(), d)));
  }

  static float[] random(SplittableRandom rng, int size, double std) {
    float[] out = new float[size];
    for (int i = 0; i < size; i++) {
      // sum of uniforms: cheap, bounded, roughly normal
      out[i] = (float) ((rng.nextDouble() + rng.nextDouble() + rng.nextDouble() - 1.5) * 2 * std);
    }
    return out;
  }
}
