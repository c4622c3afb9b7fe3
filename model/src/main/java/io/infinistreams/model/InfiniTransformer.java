package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Infini-Transformer's forward pass over one segment, as pure functions of (weights, tokens,
 * memory): Infini-attention (Munkhdalai et al., 2024, arXiv 2404.07143) one equation a line, the
 * paper's equation numbers in the comments.
 *
 * <p>Shape legend: B batch, T tokens in this call, P tokens of the open segment already in a KV
 * cache, N segment length, C overlap, L layers, H heads, D d_model, K d_key, V d_value, F ffn
 * width, W vocabulary.
 *
 * <p>Differentiable: only out-of-place DJL ops, so a {@code GradientCollector} can backpropagate
 * through any number of chained segments (the {@link Memory} returned by one call is the input of
 * the next). Nothing here detaches or copies to Java.
 *
 * <p>Native memory: every result lands in the manager of the {@code tokens} array (or, for the ops
 * that extend a memory or a KV cache, of that input), never in the weights' manager. Open a
 * sub-manager per unit of work, create {@code tokens} in it, and attach what you keep.
 *
 * <p>Choices the paper leaves open (docs/model.md): {@link #MEMORY_EPS} in the read's and the
 * delta's denominators, so that M_0 = 0, z_0 = 0 gives an exactly zero memory term; per-head scale
 * 1/sqrt(K); RoPE (rotate-half pairing) on the local branch only, the memory's queries and keys are
 * pre-RoPE; memory is written only from a full segment, after it has been read.
 *
 * <p>Overlap (C = {@link ModelConfig#overlap} > 0): a call without a KV cache starts with the C
 * tokens before its segment (the previous segment's last C, or PAD for a new stream). They run
 * through every layer like the rest, reading memory, so the segment's local attention sees them
 * (Transformer-XL-style context, recomputed rather than cached), but they are not written into
 * memory again and produce no logits: results cover the segment's own tokens only. RoPE positions
 * run 0 .. C+N-1 over context and segment; C = 0 is the paper's model.
 */
public final class InfiniTransformer {

  /** Epsilon of the memory read's and the delta rule's denominators, and of the normalised read. */
  public static final float MEMORY_EPS = 1e-6f;

  /** Epsilon of the blocks' RMSNorms (inside the square root). */
  public static final float NORM_EPS = 1e-5f;

  /**
   * What one call computes.
   *
   * @param writeMemory write this segment into memory (eq. 8/9, or the gated delta rule); needs a
   *     full segment (T == C + N) and no KV cache
   * @param computeLogits compute the LM head; when false the last layer's feed-forward, the final
   *     norm and the LM head are skipped (they cannot change the memory)
   */
  public record Options(boolean writeMemory, boolean computeLogits) {
    /** A full segment: read, write, logits. */
    public static Options fullSegment() {
      return new Options(true, true);
    }

    /** A partial segment or a decoding step: read only, logits. */
    public static Options readOnly() {
      return new Options(false, true);
    }

    public Options withLogits(boolean logits) {
      return new Options(writeMemory, logits);
    }
  }

  /**
   * One layer's compressive memories for a batch, fp32.
   *
   * @param m (B, H, K, V)
   * @param z (B, H, K)
   */
  public record Memory(NDArray m, NDArray z) {
    /** M_0 = 0, z_0 = 0 for every layer. */
    public static List<Memory> zeros(NDManager manager, ModelConfig c, int batch) {
      List<Memory> list = new ArrayList<>();
      for (int l = 0; l < c.layers(); l++) {
        list.add(
            new Memory(
                manager.zeros(new Shape(batch, c.heads(), c.dKey(), c.dValue()), DataType.FLOAT32),
                manager.zeros(new Shape(batch, c.heads(), c.dKey()), DataType.FLOAT32)));
      }
      return list;
    }

    /** Moves both arrays to {@code manager}. */
    public Memory attach(NDManager manager) {
      m.attach(manager);
      z.attach(manager);
      return this;
    }
  }

  /**
   * Keys (after RoPE) and values of the open segment's first P positions, per layer.
   *
   * @param keys (L) of (B, H, P, K)
   * @param values (L) of (B, H, P, V)
   * @param tails (L) of (B, S-1, 2HK+HV): the projections of the last S-1 positions before the
   *     convolution (zero rows before the window's start), what the next position's short
   *     convolution reads; null entries when the model has none (S <= 1)
   */
  public record KvCache(List<NDArray> keys, List<NDArray> values, List<NDArray> tails) {
    /** P, the number of cached positions. */
    public int length() {
      return keys.isEmpty() ? 0 : Math.toIntExact(keys.get(0).getShape().get(2));
    }

    public KvCache attach(NDManager manager) {
      keys.forEach(k -> k.attach(manager));
      values.forEach(v -> v.attach(manager));
      for (NDArray t : tails) {
        if (t != null) {
          t.attach(manager);
        }
      }
      return this;
    }
  }

  /**
   * What a segment produces.
   *
   * @param logits (B, T', W), or null when not requested; T' = T minus the context rows
   * @param memories (L) the memories after this call (the inputs if nothing was written)
   * @param cache the KV cache extended by this call's T positions (P + T)
   * @param strengths (L) each layer's write strengths beta (B, H, N, 1) when this call wrote memory
   *     under {@link UpdateRule#GATED}, else null entries (training penalises them)
   */
  public record Output(
      NDArray logits, List<Memory> memories, KvCache cache, List<NDArray> strengths) {}

  /**
   * One layer's Infini-attention, before the residual add.
   *
   * @param out (B, T, D) W_O applied to the gated heads (eq. 11)
   * @param memory the layer's memory after this call
   * @param keys (B, H, P+T, K) RoPE keys of the open segment, for the KV cache
   * @param values (B, H, P+T, V) values of the open segment
   * @param strength (B, H, N, 1) the write strengths if this call wrote under GATED, else null
   * @param tail (B, S-1, 2HK+HV) the last S-1 projections before the convolution, or null
   */
  record Attention(
      NDArray out, Memory memory, NDArray keys, NDArray values, NDArray strength, NDArray tail) {}

  private InfiniTransformer() {}

  /** One segment (or its first T tokens) with no KV cache. */
  public static Output forward(Weights w, NDArray tokens, List<Memory> memories, Options o) {
    return forward(w, tokens, memories, null, o);
  }

  /**
   * Runs T tokens of a segment through every layer.
   *
   * @param tokens (B, T) token ids (int32 or int64); T <= C + N - P. Without a cache the first C
   *     are the segment's context (see the class comment)
   * @param memories (L) each layer's memory before this segment
   * @param cache KV cache of the first P positions (context included), or null (P = 0)
   * @return logits (B, T', W) of the positions after the context, the new memories, and the
   *     extended cache
   */
  public static Output forward(
      Weights w, NDArray tokens, List<Memory> memories, KvCache cache, Options o) {
    return forward(Prepared.of(w, tokens.getManager()), tokens, memories, cache, o);
  }

  /** As {@link #forward(Weights, NDArray, List, KvCache, Options)}, constants prepared once. */
  static Output forward(
      Prepared p, NDArray tokens, List<Memory> memories, KvCache cache, Options o) {
    ModelConfig c = p.config();
    int t = Math.toIntExact(tokens.getShape().get(1));
    int past = cache == null ? 0 : cache.length();
    checkCall(c, past, t, memories.size(), o);
    NDManager m = tokens.getManager();
    Rope rope = p.rope(m, past, t); // cos, sin: (T, K)
    NDArray mask = p.mask(m, past, t); // (T, P+T), 0 or -inf

    NDArray x = embed(tokens.toType(DataType.INT64, false), p.weights().embed()); // (B, T, D)
    List<Memory> newMemories = new ArrayList<>();
    List<NDArray> keys = new ArrayList<>();
    List<NDArray> values = new ArrayList<>();
    List<NDArray> strengths = new ArrayList<>();
    List<NDArray> tails = new ArrayList<>();
    for (int l = 0; l < c.layers(); l++) {
      PreparedLayer lp = p.layers().get(l);
      NDArray pastK = cache == null ? null : cache.keys().get(l);
      NDArray pastV = cache == null ? null : cache.values().get(l);
      NDArray pastTail = cache == null ? null : cache.tails().get(l);
      NDArray h = rmsNorm(x, lp.w().attnNorm()); // (B, T, D)
      Attention a =
          attention(c, lp, h, memories.get(l), pastK, pastV, pastTail, rope, mask, o.writeMemory());
      x = x.add(a.out()); // (B, T, D) residual
      if (o.computeLogits() || l < c.layers() - 1) {
        x = x.add(feedForward(rmsNorm(x, lp.w().ffnNorm()), lp.w())); // (B, T, D) residual
      }
      newMemories.add(a.memory());
      keys.add(a.keys());
      values.add(a.values());
      strengths.add(a.strength());
      tails.add(a.tail());
    }
    NDArray logits = null;
    if (o.computeLogits()) {
      int context = Math.max(0, c.overlap() - past); // context rows in this call: no logits
      NDArray own = context > 0 ? x.get(":, " + context + ":, :") : x; // (B, T', D)
      logits = lmHead(rmsNorm(own, p.weights().finalNorm()), p.weights().embed()); // (B, T', W)
    }
    return new Output(logits, newMemories, new KvCache(keys, values, tails), strengths);
  }

  /**
   * Infini-attention of one layer, all heads at once. A call that writes memory writes rows C ..
   * C+N-1 (the segment after its context).
   *
   * @param h (B, T, D) the normalised layer input
   * @param mem the layer's memory before this segment: M (B, H, K, V), z (B, H, K)
   * @param pastK (B, H, P, K) cached RoPE keys of the open segment, or null
   * @param pastV (B, H, P, V) cached values, or null
   * @param rope RoPE tables for positions P .. P+T-1
   * @param mask (T, P+T) additive causal mask
   */
  static Attention attention(
      ModelConfig c,
      PreparedLayer lp,
      NDArray h,
      Memory mem,
      NDArray pastK,
      NDArray pastV,
      NDArray pastTail,
      Rope rope,
      NDArray mask,
      boolean write) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();

    // Q, K, V = X W_Q, X W_K, X W_V, shared by both branches (one fused matmul), then the causal
    // short convolution if the model has one: P_t = sum_j conv_j * P_{t-j}, per channel.
    NDArray proj = h.matMul(lp.wqkv()); // (B, T, 2HK+HV)
    NDArray tail = null;
    if (lp.conv() != null) {
      NDArray padded = withHistory(proj, pastTail, c.shortConv() - 1); // (B, S-1+T, 2HK+HV)
      proj = shortConv(padded, lp.conv(), t);
      tail = padded.get(":, " + t + ":, :"); // the last S-1 rows, for the next call
    }
    NDList qkv = proj.split(new long[] {2L * nh * dk}, 2); // (B,T,2HK), (B,T,HV)
    NDArray qk = qkv.get(0).reshape(b, t, 2L * nh, dk).transpose(0, 2, 1, 3); // (B, 2H, T, K)
    NDArray v = qkv.get(1).reshape(b, t, nh, dv).transpose(0, 2, 1, 3); // (B, H, T, V)

    // Eq. 5-6, local branch: A_dot = softmax(Q_rope K_rope^T / sqrt(K) + causal mask) V.
    NDList qkRope = rope.apply(qk).split(2, 1); // Q_rope, K_rope: (B, H, T, K)
    NDArray keys = pastK == null ? qkRope.get(1) : pastK.concat(qkRope.get(1), 2); // (B,H,P+T,K)
    NDArray vals = pastV == null ? v : pastV.concat(v, 2); // (B, H, P+T, V)
    NDArray scores = qkRope.get(0).matMul(keys.transpose(0, 1, 3, 2)); // (B, H, T, P+T)
    scores = Scalars.mul(scores, (float) (1 / Math.sqrt(dk))).add(mask);
    NDArray aDot = scores.softmax(3).matMul(vals); // (B, H, T, V)

    // Eq. 7, memory read with the pre-RoPE queries: A_mem = read(sigma(Q), M, z).
    NDList sqk = sigma(qk).split(2, 1); // sigma(Q), sigma(K): (B, H, T, K)
    NDArray aMem = read(c, lp, sqk.get(0), mem); // (B, H, T, V)

    // Eq. 8 / 9, or the gated delta rule: write the segment's own rows, after the read.
    Memory next = mem;
    NDArray strength = null;
    if (write) {
      String own = ":, :, " + c.overlap() + ":, :";
      NDArray sk = sqk.get(1).get(own); // (B, H, N, K) sigma(K), context rows dropped
      NDArray sv = v.get(own); // (B, H, N, V)
      NDArray skT = sk.transpose(0, 1, 3, 2); // (B, H, K, N)
      NDArray newM =
          switch (c.updateRule()) {
            case LINEAR -> mem.m().add(skT.matMul(sv)); // eq. 8
            case DELTA -> mem.m().add(skT.matMul(sv.sub(paperRead(sk, mem)))); // eq. 9
            case GATED -> {
              strength = writeStrength(h.get(":, " + c.overlap() + ":, :"), lp.w()); // (B,H,N,1)
              yield gatedDeltaWrite(h.getManager(), sk, sv, mem.m(), strength);
            }
          }; // (B, H, K, V)
      NDArray newZ = mem.z().add(sk.sum(new int[] {2})); // (B, H, K): z += sum_t sigma(K_t)
      next = new Memory(newM, newZ);
    }

    // Eq. 10, gate per head: A = sigmoid(beta) A_mem + (1 - sigmoid(beta)) A_dot.
    NDArray mixed = aMem.mul(lp.gate()).add(aDot.mul(lp.oneMinusGate())); // (B, H, T, V)

    // Eq. 11: concatenate the heads, project with W_O.
    NDArray out = mixed.transpose(0, 2, 1, 3).reshape(b, t, (long) nh * dv).matMul(lp.w().wo());
    return new Attention(out, next, keys, vals, strength, tail); // out: (B, T, D)
  }

  /**
   * {@code proj} (B, T, F) after its history: the cached rows {@code past} (B, S-1, F), or S-1 zero
   * rows when nothing precedes the window.
   */
  private static NDArray withHistory(NDArray proj, NDArray past, int history) {
    if (history == 0) {
      return proj;
    }
    NDArray before =
        past != null
            ? past
            : proj.getManager()
                .zeros(new Shape(proj.getShape().get(0), history, proj.getShape().get(2)));
    return before.concat(proj, 1);
  }

  /**
   * The causal depthwise convolution: row t of the result is sum over j of {@code taps[j] *
   * padded[S-1+t-j]}, lag 0 first, summed in that order. {@code padded} (B, S-1+T, F), {@code taps}
   * S of (1, F) -> (B, T, F).
   */
  static NDArray shortConv(NDArray padded, NDList taps, long t) {
    int width = taps.size();
    NDArray out = null;
    for (int j = 0; j < width; j++) {
      long from = width - 1 - j;
      NDArray term = padded.get(":, " + from + ":" + (from + t) + ", :").mul(taps.get(j));
      out = out == null ? term : out.add(term);
    }
    return out;
  }

  /**
   * The memory read of queries sq = sigma(Q) (B, H, T, K) -> (B, H, T, V): the paper's (eq. 7), or
   * sigma(Q) M normalised to unit RMS over V, times the head's gain.
   */
  static NDArray read(ModelConfig c, PreparedLayer lp, NDArray sq, Memory mem) {
    return switch (c.memoryRead()) {
      case PAPER -> paperRead(sq, mem);
      case NORMALIZED -> {
        NDArray sqm = sq.matMul(mem.m()); // (B, H, T, V) sigma(Q) M
        yield sqm.div(sqm.square().mean(new int[] {3}, true).add(MEMORY_EPS).sqrt())
            .mul(lp.memGain());
      }
    };
  }

  /** Eq. 7: sigma(Q) M / (sigma(Q) z + eps); sq (B, H, T, K) -> (B, H, T, V). */
  static NDArray paperRead(NDArray sq, Memory mem) {
    return sq.matMul(mem.m()).div(sq.matMul(mem.z().expandDims(3)).add(MEMORY_EPS));
  }

  private static void checkCall(ModelConfig c, int past, int t, int memories, Options o) {
    int ctx = c.overlap();
    if (past + t > ctx + c.segmentLength() || past + t <= ctx) {
      throw new IllegalArgumentException(
          "segment of "
              + past
              + " cached + "
              + t
              + " tokens: need more than the context C = "
              + ctx
              + " and at most C + N = "
              + (ctx + c.segmentLength()));
    }
    if (o.writeMemory() && (past != 0 || t != ctx + c.segmentLength())) {
      throw new IllegalArgumentException(
          "memory is written only from a full segment of "
              + c.segmentLength()
              + " tokens after "
              + ctx
              + " context tokens, with no cache; got P="
              + past
              + ", T="
              + t);
    }
    if (memories != c.layers()) {
      throw new IllegalArgumentException("need " + c.layers() + " memories, got " + memories);
    }
  }

  /**
   * Tokens per block of {@link #gatedDeltaWrite}: blocks run in order, a block's tokens at once.
   */
  static final int BLOCK = 32;

  /**
   * The write strength beta_t = logistic(h_t w_write + b_write) of each token and head: h (B, T, D)
   * -> (B, H, T, 1). The logistic runs on each stream's row alone, a contiguous buffer of the same
   * size whatever the batch, because libtorch's vectorised exp rounds an element differently
   * depending on where it falls in the buffer: so a stream's memory is the same bit for bit whether
   * it is compressed alone or batched with others ({@link InfiniModel#absorbAll}).
   */
  static NDArray writeStrength(NDArray h, Weights.Layer w) {
    NDArray x = h.matMul(w.write()).add(w.writeBias()); // (B, T, H)
    NDList rows = new NDList();
    for (long i = 0; i < x.getShape().get(0); i++) {
      rows.add(Activation.sigmoid(contiguous(x.get(i)))); // (T, H)
    }
    return NDArrays.stack(rows).transpose(0, 2, 1).expandDims(3); // (B, H, T, 1)
  }

  /**
   * The gated delta rule ({@link UpdateRule#GATED}) over one segment: for t = 1..N in order, M +=
   * beta_t k^_t^T (v_t - k^_t M), with unit keys k^_t = sigma(k_t) / |sigma(k_t)|. Computed in
   * closed form per block of {@link #BLOCK} tokens: the block's writes u_t = beta_t (v_t - k^_t
   * M_(t-1)) solve (I + diag(beta) tril(K^ K^^T, -1)) U = diag(beta) (V - K^ M_start), the
   * lower-triangular system of DeltaNet's chunked form; then M += K^^T U.
   *
   * @param sk (B, H, N, K) sigma(K) of the segment
   * @param v (B, H, N, V) values
   * @param m (B, H, K, V) the memory before the segment
   * @param beta (B, H, N, 1) write strengths in (0, 1)
   * @return (B, H, K, V) the memory after the segment
   */
  static NDArray gatedDeltaWrite(NDManager mgr, NDArray sk, NDArray v, NDArray m, NDArray beta) {
    long n = sk.getShape().get(2);
    // contiguous copies: on the strided views the projections leave, the batched products below
    // round differently for different batch sizes
    NDArray unit = contiguous(sk.div(norm(sk))); // (B, H, N, K) k^
    v = contiguous(v); // (B, H, N, V)
    beta = contiguous(beta); // (B, H, N, 1)
    for (long a = 0; a < n; a += BLOCK) {
      long b = Math.min(n, a + BLOCK);
      String rows = ":, :, " + a + ":" + b + ", :";
      NDArray k = unit.get(rows); // (B, H, S, K), S = b - a
      NDArray bb = beta.get(rows); // (B, H, S, 1), scales row t
      NDArray eye = mgr.eye((int) (b - a)); // (S, S)
      NDArray lower = k.matMul(k.transpose(0, 1, 3, 2)).mul(strictLower(mgr, (int) (b - a)));
      NDArray rhs = v.get(rows).sub(k.matMul(m)).mul(bb); // (B, H, S, V) diag(beta)(V - K^ M)
      NDArray u = lower.mul(bb).add(eye).inverse().matMul(rhs); // (B, H, S, V) the writes
      m = k.transpose(0, 1, 3, 2).matMul(u).add(m); // (B, H, K, V)
    }
    return m;
  }

  /** (S, S): 1 strictly below the diagonal, 0 elsewhere. */
  static NDArray strictLower(NDManager m, int s) {
    float[] values = new float[s * s];
    for (int i = 0; i < s; i++) {
      for (int j = 0; j < i; j++) {
        values[i * s + j] = 1f;
      }
    }
    return m.create(values, new Shape(s, s));
  }

  /** The Euclidean norm of each row, eps inside the sqrt: x (.., K) -> (.., 1). */
  static NDArray norm(NDArray x) {
    int last = x.getShape().dimension() - 1;
    return x.square().sum(new int[] {last}, true).add(MEMORY_EPS).sqrt();
  }

  /** x laid out row-major (a copy if it is a strided view): flattening cannot be a view then. */
  static NDArray contiguous(NDArray x) {
    return x.reshape(-1).reshape(x.getShape());
  }

  /** sigma(x) = ELU(x) + 1, elementwise. */
  public static NDArray sigma(NDArray x) {
    return x.getNDArrayInternal().elu(1f).add(1f);
  }

  /** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * gain. x (.., D), gain (D). */
  public static NDArray rmsNorm(NDArray x, NDArray gain) {
    int last = x.getShape().dimension() - 1;
    return x.div(x.square().mean(new int[] {last}, true).add(NORM_EPS).sqrt()).mul(gain);
  }

  /** GELU feed-forward: gelu(h W_1) W_2. h (B, T, D) -> (B, T, D). */
  static NDArray feedForward(NDArray h, Weights.Layer lw) {
    return Activation.gelu(h.matMul(lw.w1())).matMul(lw.w2());
  }

  /** Token embedding lookup; the result lands in the ids' manager. ids (B, T) -> (B, T, D). */
  static NDArray embed(NDArray ids, NDArray table) {
    return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
  }

  /** Tied LM head: x E^T. x (B, T, D), E (W, D) -> (B, T, W), in x's manager. */
  static NDArray lmHead(NDArray x, NDArray table) {
    return x.getNDArrayInternal().linear(x, table, null).singletonOrThrow();
  }

  /**
   * A weight brought into {@code m} (0 + w: differentiable, keeps results off the weights'
   * manager).
   */
  static NDArray local(NDManager m, NDArray w) {
    return m.zeros(new Shape(), DataType.FLOAT32).add(w);
  }

  /** (T, P+T) additive mask: query i (position P+i) sees keys j <= P+i. */
  static NDArray causalMask(NDManager m, int past, int t) {
    int width = past + t;
    float[] mask = new float[t * width];
    for (int i = 0; i < t; i++) {
      for (int j = past + i + 1; j < width; j++) {
        mask[i * width + j] = Float.NEGATIVE_INFINITY;
      }
    }
    return m.create(mask, new Shape(t, width));
  }

  /**
   * One layer's weights with what a call derives from them, in the call's manager: the fused
   * projection and the gate, computed once per call instead of once per segment.
   *
   * @param w the layer's parameters
   * @param wqkv (D, 2HK + HV) [W_Q W_K W_V]
   * @param gate (H, 1, 1) sigmoid(beta)
   * @param oneMinusGate (H, 1, 1) 1 - sigmoid(beta)
   * @param memGain (H, 1, V) gain of the NORMALIZED read
   * @param conv the short convolution's taps, lag 0 first, each (1, 2HK + HV); or null
   */
  record PreparedLayer(
      Weights.Layer w,
      NDArray wqkv,
      NDArray gate,
      NDArray oneMinusGate,
      NDArray memGain,
      NDList conv) {
    static PreparedLayer of(ModelConfig c, Weights.Layer w, NDManager m) {
      NDArray wqkv = NDArrays.concat(new NDList(local(m, w.wq()), w.wk(), w.wv()), 1);
      NDArray g = Activation.sigmoid(local(m, w.gate()).reshape(c.heads(), 1, 1));
      NDArray gain = local(m, w.memNorm()).reshape(c.heads(), 1, c.dValue());
      NDList taps = w.conv() == null ? null : local(m, w.conv()).split(c.shortConv(), 0);
      return new PreparedLayer(w, wqkv, g, g.neg().add(1f), gain, taps);
    }
  }

  /**
   * Per-call constants: every layer's {@link PreparedLayer} and the full segment's RoPE tables and
   * mask, all in the manager given to {@link #of}. Reuse one across the segments of a call.
   */
  record Prepared(Weights weights, List<PreparedLayer> layers, Rope fullRope, NDArray fullMask) {
    static Prepared of(Weights w, NDManager m) {
      ModelConfig c = w.config();
      List<PreparedLayer> layers = new ArrayList<>();
      for (Weights.Layer l : w.layers()) {
        layers.add(PreparedLayer.of(c, l, m));
      }
      int window = c.overlap() + c.segmentLength();
      return new Prepared(w, layers, Rope.of(m, c, 0, window), causalMask(m, 0, window));
    }

    ModelConfig config() {
      return weights.config();
    }

    Rope rope(NDManager m, int start, int t) {
      return start == 0 && t == window() ? fullRope : Rope.of(m, config(), start, t);
    }

    NDArray mask(NDManager m, int past, int t) {
      return past == 0 && t == window() ? fullMask : causalMask(m, past, t);
    }

    /** C + N: the positions of a full call (context and segment). */
    int window() {
      return config().overlap() + config().segmentLength();
    }
  }

  /**
   * Rotary position embedding for positions {@code start .. start+T-1} within a window (the C
   * context tokens, then the segment), rotate-half pairing (dimension i with i + K/2), theta_i =
   * base^(-2i/K): rope(x) = x * cos + rotateHalf(x) * sin, where rotateHalf(x) = [-x2, x1] = x R.
   *
   * @param cos (T, K) cos(pos * theta_{i mod K/2})
   * @param sin (T, K) sin(pos * theta_{i mod K/2})
   * @param rot (K, K) the rotate-half matrix R
   */
  public record Rope(NDArray cos, NDArray sin, NDArray rot) {
    private static final Map<String, float[][]> TABLES = new ConcurrentHashMap<>();

    public static Rope of(NDManager m, ModelConfig c, int start, int t) {
      int dk = c.dKey();
      float[][] full =
          TABLES.computeIfAbsent(
              dk + "/" + c.ropeBase() + "/" + (c.overlap() + c.segmentLength()), key -> tables(c));
      float[] cos = Arrays.copyOfRange(full[0], start * dk, (start + t) * dk);
      float[] sin = Arrays.copyOfRange(full[1], start * dk, (start + t) * dk);
      int half = dk / 2;
      float[] rot = new float[dk * dk];
      for (int i = 0; i < half; i++) {
        rot[(i + half) * dk + i] = -1f; // out[i] = -x[i + K/2]
        rot[i * dk + i + half] = 1f; // out[i + K/2] = x[i]
      }
      return new Rope(
          m.create(cos, new Shape(t, dk)),
          m.create(sin, new Shape(t, dk)),
          m.create(rot, new Shape(dk, dk)));
    }

    /** cos and sin for positions 0..C+N-1 as flat (C+N, K) arrays, computed in double. */
    static float[][] tables(ModelConfig c) {
      int dk = c.dKey();
      int half = dk / 2;
      int n = c.overlap() + c.segmentLength();
      float[] cos = new float[n * dk];
      float[] sin = new float[n * dk];
      for (int p = 0; p < n; p++) {
        for (int i = 0; i < dk; i++) {
          double angle = p * Math.pow(c.ropeBase(), -2.0 * (i % half) / dk);
          cos[p * dk + i] = (float) Math.cos(angle);
          sin[p * dk + i] = (float) Math.sin(angle);
        }
      }
      return new float[][] {cos, sin};
    }

    /** x (B, H', T, K) -> (B, H', T, K). */
    public NDArray apply(NDArray x) {
      return x.mul(cos).add(x.matMul(rot).mul(sin));
    }
  }
}
