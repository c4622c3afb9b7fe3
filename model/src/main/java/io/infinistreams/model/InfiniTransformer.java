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
 * memory): the paper's equations, one line each (INFINI_ATTENTION.md numbers them).
 *
 * <p>Shape legend: B batch, T tokens in this call (T <= N, the segment length), P tokens of the
 * open segment already in a KV cache, L layers, H heads, D d_model, K d_key, V d_value, F ffn
 * width, W vocabulary.
 *
 * <p>Differentiable: only out-of-place DJL ops, so a {@code GradientCollector} can backpropagate
 * through any number of chained segments (the memory {@link Memory} returned by one call is the
 * input of the next). Nothing here detaches or copies to Java.
 *
 * <p>Native memory: every result lands in the manager of the {@code tokens} array (or, for the
 * ops that extend a memory or a KV cache, of that input), never in the weights' manager. Open a
 * sub-manager per unit of work, create {@code tokens} in it, and attach what you keep.
 *
 * <p>Choices the paper leaves open (docs/model.md): {@link #MEMORY_EPS} in the read's and the
 * delta's denominators so that M_0 = 0, z_0 = 0 gives an exactly zero memory term; per-head
 * scale 1/sqrt(K); RoPE (rotate-half pairing, positions restart at 0 in every segment) on the
 * local branch only; memory is written only from a full segment.
 *
 * <p>Overlap (C = {@link ModelConfig#overlap} > 0): a call without a KV cache starts with the C
 * tokens before its segment (the previous segment's last C, or PAD for a new stream). They run
 * through every layer like the rest, reading memory, so the segment's local attention sees them
 * (Transformer-XL-style context, recomputed rather than cached), but they are not written into
 * memory again and produce no logits or write strengths: results cover the segment's own tokens
 * only. RoPE positions then run 0 .. C+N-1 over context and segment; C = 0 is the paper's model.
 */
public final class InfiniTransformer {

  /** Epsilon of the memory read's and the delta rule's denominators, and of the NORMALIZED read. */
  public static final float MEMORY_EPS = 1e-6f;
  /** Epsilon of the blocks' RMSNorms (inside the square root). */
  public static final float NORM_EPS = 1e-5f;

  /** Forces the gate (eq. 10), for evaluation baselines and tests. */
  public enum GateOverride {
    /** The learned gate sigmoid(beta). */
    NONE,
    /** Gate = 0: plain causal attention, memory ignored (the memory-off baseline). */
    LOCAL_ONLY,
    /** Gate = 1: the memory branch alone. */
    MEMORY_ONLY
  }

  /**
   * What one call computes.
   *
   * @param writeMemory   write this segment into memory (eq. 8/9); needs a full segment (T == C + N)
   *                      and no KV cache
   * @param gate          gate override (NONE in training and serving)
   * @param computeLogits compute the LM head; when false the last layer's feed-forward, the final
   *                      norm and the LM head are skipped (they cannot change the memory)
   */
  public record Options(boolean writeMemory, GateOverride gate, boolean computeLogits) {
    /** A full training segment: read, write, logits. */
    public static Options fullSegment() {
      return new Options(true, GateOverride.NONE, true);
    }

    /** A partial segment or a decoding step: read only, logits. */
    public static Options readOnly() {
      return new Options(false, GateOverride.NONE, true);
    }

    public Options withGate(GateOverride g) {
      return new Options(writeMemory, g, computeLogits);
    }

    public Options withLogits(boolean logits) {
      return new Options(writeMemory, gate, logits);
    }

    public Options withWrite(boolean write) {
      return new Options(write, gate, computeLogits);
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
        list.add(new Memory(
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
   * @param keys   (L) of (B, H, P, K)
   * @param values (L) of (B, H, P, V)
   */
  public record KvCache(List<NDArray> keys, List<NDArray> values) {
    /** P, the number of cached positions. */
    public int length() {
      return keys.isEmpty() ? 0 : Math.toIntExact(keys.get(0).getShape().get(2));
    }

    public KvCache attach(NDManager manager) {
      keys.forEach(k -> k.attach(manager));
      values.forEach(v -> v.attach(manager));
      return this;
    }
  }

  /**
   * What a segment produces.
   *
   * @param logits   (B, T', W), or null when not requested; T' = T minus the context rows
   * @param memories (L) the memories after this call (the inputs if nothing was written)
   * @param cache    the KV cache extended by this call's T positions (P + T)
   * @param strengths (L) each layer's GATED write strengths (B, H, N, 1) when this call wrote
   *                 memory under GATED, else null entries
   * @param gates    (L) each layer's CONTENT output gate (B, H, T, 1), context rows included, else
   *                 null entries (STATIC, or a gate override)
   */
  public record Output(NDArray logits, List<Memory> memories, KvCache cache,
      List<NDArray> strengths, List<NDArray> gates) {}

  /**
   * One layer's Infini-attention (before the residual add).
   *
   * @param out     (B, T, D) W_O applied to the gated heads (eq. 11)
   * @param memory  the layer's memory after this call
   * @param keys    (B, H, P+T, K) RoPE keys of the open segment, for the KV cache
   * @param values  (B, H, P+T, V) values of the open segment
   * @param memRead (B, H, T, V) A_mem, the memory branch (eq. 7)
   * @param local   (B, H, T, V) A_dot, the local branch (eq. 5-6)
   * @param strength (B, H, N, 1) the GATED write strengths if this call wrote memory under
   *                GATED, else null
   * @param gate    (B, H, T, 1) the CONTENT output gate, else null (STATIC, or an override)
   */
  public record Attention(NDArray out, Memory memory, NDArray keys, NDArray values,
      NDArray memRead, NDArray local, NDArray strength, NDArray gate) {}

  private InfiniTransformer() {}

  /** One segment (or its first T tokens) with no KV cache: see {@link #forward(Weights, NDArray, List, KvCache, Options)}. */
  public static Output forward(Weights w, NDArray tokens, List<Memory> memories, Options o) {
    return forward(w, tokens, memories, null, o);
  }

  /**
   * Runs T tokens of a segment through every layer.
   *
   * @param tokens   (B, T) token ids (int32 or int64); T <= C + N - P. Without a cache the first C
   *                 are the segment's context (see the class comment)
   * @param memories (L) each layer's memory before this segment
   * @param cache    KV cache of the first P positions (context included), or null (P = 0)
   * @return logits (B, T', W) of the positions after the context, the new memories, and the
   *         extended cache
   */
  public static Output forward(Weights w, NDArray tokens, List<Memory> memories, KvCache cache,
      Options o) {
    return forward(Prepared.of(w, tokens.getManager()), tokens, memories, cache, o);
  }

  /** As {@link #forward(Weights, NDArray, List, KvCache, Options)}, with per-call constants prepared once. */
  static Output forward(Prepared p, NDArray tokens, List<Memory> memories, KvCache cache,
      Options o) {
    ModelConfig c = p.config();
    long t = tokens.getShape().get(1);
    int past = cache == null ? 0 : cache.length();
    int ctx = c.overlap();
    if (past + t > ctx + c.segmentLength() || past + t <= ctx) {
      throw new IllegalArgumentException("segment of " + past + " cached + " + t
          + " tokens: need more than the context C = " + ctx + " and at most C + N = "
          + (ctx + c.segmentLength()));
    }
    if (o.writeMemory() && (past != 0 || t != ctx + c.segmentLength())) {
      throw new IllegalArgumentException("memory is written only from a full segment of "
          + c.segmentLength() + " tokens after " + ctx + " context tokens, with no cache; got P="
          + past + ", T=" + t);
    }
    if (memories.size() != c.layers()) {
      throw new IllegalArgumentException("need " + c.layers() + " memories, got " + memories.size());
    }
    NDManager m = tokens.getManager();
    NDArray ids = tokens.getDataType() == DataType.INT64 ? tokens : tokens.toType(DataType.INT64, false);
    Rope rope = p.rope(m, past, (int) t); // cos, sin: (T, K)
    NDArray mask = p.mask(m, past, (int) t); // (T, P+T), 0 or -inf

    NDArray x = embed(ids, p.weights().embed()); // (B, T, D)
    List<Memory> newMemories = new ArrayList<>();
    List<NDArray> keys = new ArrayList<>();
    List<NDArray> values = new ArrayList<>();
    List<NDArray> strengths = new ArrayList<>();
    List<NDArray> gates = new ArrayList<>();
    for (int l = 0; l < c.layers(); l++) {
      PreparedLayer lp = p.layers().get(l);
      NDArray pastK = cache == null ? null : cache.keys().get(l);
      NDArray pastV = cache == null ? null : cache.values().get(l);
      Attention a = attention(c, lp, rmsNorm(x, lp.w().attnNorm()), memories.get(l), pastK, pastV,
          rope, mask, o);
      x = x.add(a.out()); // (B, T, D) residual
      if (o.computeLogits() || l < c.layers() - 1) {
        x = x.add(feedForward(rmsNorm(x, lp.w().ffnNorm()), lp.w())); // (B, T, D) residual
      }
      newMemories.add(a.memory());
      keys.add(a.keys());
      values.add(a.values());
      strengths.add(a.strength());
      gates.add(a.gate());
    }
    int drop = Math.max(0, ctx - past); // context rows in this call: no logits
    if (o.computeLogits() && drop > 0) {
      x = x.get(":, " + drop + ":, :"); // (B, T', D)
    }
    NDArray logits = o.computeLogits() ? lmHead(rmsNorm(x, p.weights().finalNorm()),
        p.weights().embed()) : null; // (B, T', W)
    return new Output(logits, newMemories, new KvCache(keys, values), strengths, gates);
  }

  /**
   * Infini-attention of one layer (INFINI_ATTENTION.md steps 1-5), all heads at once. A call that
   * writes memory writes rows C .. C+N-1 (the segment after its context).
   *
   * @param h     (B, T, D) the normalised layer input
   * @param mem   the layer's memory before this segment: M (B, H, K, V), z (B, H, K)
   * @param pastK (B, H, P, K) cached RoPE keys of the open segment, or null
   * @param pastV (B, H, P, V) cached values, or null
   * @param rope  RoPE tables for positions P .. P+T-1
   * @param mask  (T, P+T) additive causal mask
   */
  public static Attention attention(ModelConfig c, PreparedLayer lp, NDArray h, Memory mem,
      NDArray pastK, NDArray pastV, Rope rope, NDArray mask, Options o) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();

    // Projections shared by both branches: [Q K V] = X [W_Q W_K W_V], one matmul.
    NDList qkv = h.matMul(lp.wqkv()).split(new long[] {2L * nh * dk}, 2); // (B, T, 2HK), (B, T, HV)
    NDArray qk = qkv.get(0).reshape(b, t, 2L * nh, dk).transpose(0, 2, 1, 3); // (B, 2H, T, K): Q heads, then K heads
    NDArray v = qkv.get(1).reshape(b, t, nh, dv).transpose(0, 2, 1, 3); // (B, H, T, V)

    // Eq. 5-6, local branch: A_dot = softmax(Q_rope K_rope^T / sqrt(K) + causal) V.
    NDList qkRope = rope.apply(qk).split(2, 1); // Q_rope, K_rope: (B, H, T, K)
    NDArray keys = pastK == null ? qkRope.get(1) : pastK.concat(qkRope.get(1), 2); // (B, H, P+T, K)
    NDArray vals = pastV == null ? v : pastV.concat(v, 2); // (B, H, P+T, V)
    NDArray scores = Scalars.mul(qkRope.get(0).matMul(keys.transpose(0, 1, 3, 2)),
        (float) (1.0 / Math.sqrt(dk))).add(mask); // (B, H, T, P+T)
    NDArray aDot = scores.softmax(3).matMul(vals); // (B, H, T, V)

    // Eq. 7, memory read with pre-RoPE Q: sigma(Q) M / (sigma(Q) z + eps), RMS-normalised, or
    // with unit-length sigma(Q); sigma is the config's feature map.
    NDList sqk = features(qk, c.keyFeatures()).split(2, 1); // sigma(Q), sigma(K): (B, H, T, K)
    NDArray sq = sqk.get(0); // (B, H, T, K)
    NDArray read = sq.matMul(mem.m()); // (B, H, T, V) sigma(Q) M
    NDArray aMem = switch (c.memoryRead()) {
      case PAPER -> read.div(sq.matMul(mem.z().expandDims(3)).add(MEMORY_EPS)); // (B, H, T, V)
      case NORMALIZED -> read.div(read.square().mean(new int[] {3}, true).add(MEMORY_EPS).sqrt())
          .mul(lp.memGain()); // (B, H, T, V)
      case UNIT -> read.div(norm(sq)); // (B, H, T, V)
    };

    // Eq. 8 / 9, memory write with pre-RoPE K, after the read; z += sum_t sigma(K_t).
    Memory next = mem;
    NDArray strength = null;
    if (o.writeMemory()) {
      int skip = c.overlap(); // the context rows are not written again
      NDArray sk = sqk.get(1); // (B, H, C+N, K)
      NDArray hw = h;
      NDArray wmask = mask;
      if (skip > 0) {
        String rows = ":, :, " + skip + ":, :";
        sk = sk.get(rows); // (B, H, N, K)
        v = v.get(rows); // (B, H, N, V)
        hw = h.get(":, " + skip + ":, :"); // (B, N, D)
        wmask = mask.get(skip + ":, " + skip + ":"); // (N, N)
      }
      NDArray newM;
      if (c.updateRule().sequential()) {
        strength = c.updateRule() == UpdateRule.GATED
            ? writeStrength(hw, lp.w(), c.writeGate()) : null; // (B, H, N, 1) or none
        newM = sequentialWrite(h.getManager(), sk, v, mem.m(), wmask, strength);
      } else if (c.updateRule() == UpdateRule.BOUNDED) {
        NDArray unit = sk.div(norm(sk)); // (B, H, T, K)
        NDArray gram = unit.matMul(unit.transpose(0, 1, 3, 2)); // (B, H, T, T)
        // the step 1 / bound: the bound (Gershgorin's, on the Gram matrix's largest eigenvalue)
        // is a step size, not a path for gradients, like an optimizer's normaliser; abs() is a
        // no-op for ELU + 1 features, whose Gram entries are all >= 0
        NDArray bound = gram.abs().sum(new int[] {3}).max(new int[] {2}, true).expandDims(3)
            .stopGradient(); // (B, H, 1, 1)
        NDArray written = v.sub(unit.matMul(mem.m())); // (B, H, T, V)
        newM = unit.transpose(0, 1, 3, 2).matMul(written).div(bound).add(mem.m()); // (B, H, K, V)
      } else {
        NDArray written = c.updateRule() == UpdateRule.LINEAR
            ? v // (B, H, T, V) eq. 8
            : v.sub(sk.matMul(mem.m()).div(sk.matMul(mem.z().expandDims(3)).add(MEMORY_EPS))); // eq. 9
        newM = sk.transpose(0, 1, 3, 2).matMul(written).add(mem.m()); // (B, H, K, V)
      }
      NDArray newZ = sk.sum(new int[] {2}).add(mem.z()); // (B, H, K)
      next = new Memory(newM, newZ);
    }

    // Eq. 10, gate: A = g A_mem + (1 - g) A_dot, g = sigmoid(beta) per head (STATIC) or
    // sigmoid(beta + A_mem w_mem + A_dot w_dot [+ h w_in]) per token and head (CONTENT[_INPUT]),
    // sigmoid(beta + A_dot w_dot) under CONTENT_LOCAL.
    NDArray g = o.gate() == GateOverride.NONE && lp.gateDot() != null
        ? contentGate(aMem, aDot, h, lp) : null; // (B, H, T, 1) or none
    NDArray gated = switch (o.gate()) {
      case LOCAL_ONLY -> aDot;
      case MEMORY_ONLY -> aMem;
      case NONE -> g == null
          ? aMem.mul(lp.gate()).add(aDot.mul(lp.oneMinusGate())) // (B, H, T, V)
          : aMem.mul(g).add(aDot.mul(g.neg().add(1f))); // (B, H, T, V)
    };

    // Eq. 11: concatenate heads, project with W_O.
    NDArray out = gated.transpose(0, 2, 1, 3).reshape(b, t, (long) nh * dv).matMul(lp.w().wo()); // (B, T, D)
    return new Attention(out, next, keys, vals, aMem, aDot, strength, g);
  }

  /**
   * The per-token gate g = sigmoid(beta + A_mem w_mem + A_dot w_dot) of each token and head
   * ({@link OutputGate#CONTENT}), plus h w_in under {@link OutputGate#CONTENT_INPUT}, without
   * A_mem w_mem under {@link OutputGate#CONTENT_LOCAL}: aMem, aDot
   * (B, H, T, V), h (B, T, D) -> (B, H, T, 1). Each stream's row is computed alone, a buffer of
   * the same size whatever the batch (libtorch's vectorised exp rounds by buffer position; see
   * {@link WriteGate#LOGISTIC}), so absorbAll equals absorb bit for bit.
   */
  static NDArray contentGate(NDArray aMem, NDArray aDot, NDArray h, PreparedLayer lp) {
    NDList rows = new NDList();
    long b = aMem.getShape().get(0);
    for (long i = 0; i < b; i++) {
      NDArray dot = aDot.get(i).matMul(lp.gateDot());
      NDArray x = (lp.gateMem() == null ? dot : aMem.get(i).matMul(lp.gateMem()).add(dot))
          .add(lp.gateLogit()); // (H, T, 1)
      if (lp.gateIn() != null) {
        x = x.add(h.get(i).matMul(lp.gateIn()).transpose(1, 0).expandDims(2)); // (H, T, 1)
      }
      rows.add(Activation.sigmoid(contiguous(x)));
    }
    return NDArrays.stack(rows); // (B, H, T, 1)
  }

  /** Tokens per block of {@link #sequentialWrite}: blocks run in order, tokens in a block at once. */
  static final int SEQUENTIAL_BLOCK = 32;

  /**
   * The {@link UpdateRule#GATED} write strength beta = s(h w_beta + b_beta) of each token and head,
   * s the config's {@link WriteGate}. h (B, T, D) -> (B, H, T, 1). The rational sigmoid uses only
   * exactly rounded operations; the logistic one runs on each stream's row alone, a contiguous
   * buffer of the same size whatever the batch, because libtorch's vectorised exp rounds an
   * element differently depending on where it falls in the buffer (and absorbAll must equal
   * absorb bit for bit).
   */
  static NDArray writeStrength(NDArray h, Weights.Layer w, WriteGate gate) {
    NDArray x = h.matMul(w.write()).add(w.writeBias()); // (B, T, H)
    NDArray beta;
    if (gate == WriteGate.LOGISTIC) {
      NDList rows = new NDList();
      long b = x.getShape().get(0);
      for (long i = 0; i < b; i++) {
        rows.add(Activation.sigmoid(contiguous(x.get(i)))); // (T, H)
      }
      beta = NDArrays.stack(rows); // (B, T, H)
    } else {
      beta = Scalars.mul(x.div(x.abs().add(1f)).add(1f), 0.5f); // (B, T, H)
    }
    return beta.transpose(0, 2, 1).expandDims(3); // (B, H, T, 1)
  }

  /**
   * The {@link UpdateRule#SEQUENTIAL} (or {@link UpdateRule#GATED}) write of one full segment: the
   * delta rule token by token, in closed form per block of {@link #SEQUENTIAL_BLOCK} tokens. With
   * write strengths beta_i (1 under SEQUENTIAL), within a block the writes
   * u_i = beta_i (v_i - k^_i M_(i-1)) solve (I + diag(beta) tril(K^ K^^T, -1)) U =
   * diag(beta) (V - K^ M_start) (the lower-triangular system of DeltaNet's chunked form); then
   * M += K^^T U. Blocks of 32 instead of the whole segment keep the inverses small (a 128x128
   * inverse per head cost more than the rest of the training step).
   *
   * @param sk       (B, H, T, K) sigma(K) of the segment
   * @param v        (B, H, T, V) values
   * @param m        (B, H, K, V) the memory before the segment
   * @param mask     (T, T) additive causal mask (0 on and below the diagonal, -inf above)
   * @param strength (B, H, T, 1) write strengths in (0, 1), or null for 1 (SEQUENTIAL)
   * @return (B, H, K, V) the memory after the segment
   */
  static NDArray sequentialWrite(NDManager mgr, NDArray sk, NDArray v, NDArray m, NDArray mask,
      NDArray strength) {
    long t = sk.getShape().get(2);
    // contiguous copies: on the strided views the projections leave, the batched products below
    // round differently for different batch sizes, and absorbAll must equal absorb bit for bit
    NDArray unit = contiguous(sk.div(norm(sk))); // (B, H, T, K)
    v = contiguous(v); // (B, H, T, V)
    NDArray beta = strength == null ? null : contiguous(strength); // (B, H, T, 1)
    for (long a = 0; a < t; a += SEQUENTIAL_BLOCK) {
      long b = Math.min(t, a + SEQUENTIAL_BLOCK);
      String rows = ":, :, " + a + ":" + b + ", :";
      NDArray k = unit.get(rows); // (B, H, C, K)
      NDArray eye = mgr.eye((int) (b - a)); // (C, C)
      NDArray strictLower = mask.get(a + ":" + b + ", " + a + ":" + b).exp().sub(eye); // (C, C)
      NDArray lower = k.matMul(k.transpose(0, 1, 3, 2)).mul(strictLower); // (B, H, C, C)
      NDArray rhs = v.get(rows).sub(k.matMul(m)); // (B, H, C, V)
      if (beta != null) {
        NDArray bb = beta.get(rows); // (B, H, C, 1): scales row i
        lower = lower.mul(bb);
        rhs = rhs.mul(bb);
      }
      NDArray errors = lower.add(eye).inverse().matMul(rhs); // (B, H, C, V)
      m = k.transpose(0, 1, 3, 2).matMul(errors).add(m); // (B, H, K, V)
    }
    return m;
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

  /** The memory's feature map sigma(x), elementwise: ELU(x) + 1, or x itself (SIGNED). */
  static NDArray features(NDArray x, KeyFeatures f) {
    return f == KeyFeatures.SIGNED ? x : sigma(x);
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

  /** A weight brought into {@code m} (0 + w: differentiable, keeps results off the weights' manager). */
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
   * @param w            the layer's parameters
   * @param wqkv         (D, 2HK + HV) [W_Q W_K W_V]
   * @param gate         (H, 1, 1) sigmoid(beta)
   * @param oneMinusGate (H, 1, 1) 1 - sigmoid(beta)
   * @param memGain      (H, 1, V) gain of the NORMALIZED read
   * @param gateLogit    (H, 1, 1) beta, for the per-token gate; null under STATIC
   * @param gateMem      (H, V, 1) w_mem of the per-token gate; null under STATIC and CONTENT_LOCAL
   * @param gateDot      (H, V, 1) w_dot of the per-token gate; null under STATIC
   * @param gateIn       (D, H) w_in transposed, of the CONTENT_INPUT gate; null otherwise
   */
  public record PreparedLayer(Weights.Layer w, NDArray wqkv, NDArray gate, NDArray oneMinusGate,
      NDArray memGain, NDArray gateLogit, NDArray gateMem, NDArray gateDot, NDArray gateIn) {
    public static PreparedLayer of(ModelConfig c, Weights.Layer w, NDManager m) {
      NDArray wqkv = NDArrays.concat(new NDList(local(m, w.wq()), w.wk(), w.wv()), 1);
      NDArray beta = local(m, w.gate()).reshape(c.heads(), 1, 1);
      NDArray g = Activation.sigmoid(beta);
      NDArray gain = local(m, w.memNorm()).reshape(c.heads(), 1, c.dValue());
      if (w.gateContent() == null) {
        return new PreparedLayer(w, wqkv, g, g.neg().add(1f), gain, null, null, null, null);
      }
      int dv = c.dValue();
      NDArray content = local(m, w.gateContent()); // (H, 2V): [w_mem w_dot], or (H, V): w_dot
      NDArray in = w.gateInput() == null ? null
          : contiguous(local(m, w.gateInput()).transpose(1, 0)); // (D, H)
      if (!c.outputGate().readsMemory()) {
        return new PreparedLayer(w, wqkv, g, g.neg().add(1f), gain, beta, null,
            content.reshape(c.heads(), dv, 1), in);
      }
      return new PreparedLayer(w, wqkv, g, g.neg().add(1f), gain, beta,
          content.get(":, :" + dv).reshape(c.heads(), dv, 1),
          content.get(":, " + dv + ":").reshape(c.heads(), dv, 1), in);
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
   * context tokens, then the segment),
   * rotate-half pairing (dimension i with i + K/2), theta_i = base^(-2i/K):
   * rope(x) = x * cos + rotateHalf(x) * sin, where rotateHalf(x) = [-x2, x1] = x R.
   *
   * @param cos (T, K) cos(pos * theta_{i mod K/2})
   * @param sin (T, K) sin(pos * theta_{i mod K/2})
   * @param rot (K, K) the rotate-half matrix R
   */
  public record Rope(NDArray cos, NDArray sin, NDArray rot) {
    private static final Map<String, float[][]> TABLES = new ConcurrentHashMap<>();

    public static Rope of(NDManager m, ModelConfig c, int start, int t) {
      int dk = c.dKey();
      float[][] full = TABLES.computeIfAbsent(dk + "/" + c.ropeBase() + "/"
          + (c.overlap() + c.segmentLength()),
          key -> tables(c));
      float[] cos = Arrays.copyOfRange(full[0], start * dk, (start + t) * dk);
      float[] sin = Arrays.copyOfRange(full[1], start * dk, (start + t) * dk);
      int half = dk / 2;
      float[] rot = new float[dk * dk];
      for (int i = 0; i < half; i++) {
        rot[(i + half) * dk + i] = -1f; // out[i] = -x[i + K/2]
        rot[i * dk + i + half] = 1f; // out[i + K/2] = x[i]
      }
      return new Rope(m.create(cos, new Shape(t, dk)), m.create(sin, new Shape(t, dk)),
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
