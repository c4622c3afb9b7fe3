package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
 * the next). Nothing here detaches; the copies to Java (the gated write's block inverses, {@link
 * #unitLowerInverse}, taken only when no gradient flows through them) belong to inference, as does
 * {@link #compress}, the segment step that writes memory there, which is not differentiable (it
 * writes the gated rule token by token in Java and adds in place).
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

  /**
   * Epsilon of the PAPER read's and the delta rule's denominators and of the unit keys. The
   * NORMALIZED read's eps is the configuration's ({@link ModelConfig#readEps}, by default the same
   * value).
   */
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
   * @param strengths (B*H) the mean write strength beta over the tokens of the segment that wrote
   *     this memory, per stream and head (after the top-k write, which counts the tokens it leaves
   *     out as 0), when the inference's gated write wrote it; else null
   */
  public record Memory(NDArray m, NDArray z, float[] strengths) {
    /** A memory without write strengths. */
    public Memory(NDArray m, NDArray z) {
      this(m, z, null);
    }

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
    Rope rope = p.rope(m, past, t); // cos, sin: (2, 1, T, K)
    NDArray mask = p.mask(m, past, t); // (T, P+T), 0 or -inf

    NDArray x = embed(tokens.toType(DataType.INT64, false), p.weights().embed()); // (B, T, D)
    List<Memory> newMemories = new ArrayList<>();
    List<NDArray> keys = new ArrayList<>();
    List<NDArray> values = new ArrayList<>();
    List<NDArray> strengths = new ArrayList<>();
    List<NDArray> tails = new ArrayList<>();
    int context = Math.max(0, c.overlap() - past); // context rows in this call: no logits
    for (int l = 0; l < c.layers(); l++) {
      PreparedLayer lp = p.layers().get(l);
      NDArray pastK = cache == null ? null : cache.keys().get(l);
      NDArray pastV = cache == null ? null : cache.values().get(l);
      NDArray pastTail = cache == null ? null : cache.tails().get(l);
      // The last layer's context rows feed nothing (no logits, no later layer): its queries,
      // memory read and feed-forward cover the rows after the context only.
      int from = l == c.layers() - 1 ? context : 0;
      NDArray h = unitRms(x, p.normEps()); // (B, T, D), the norm's gain folded into W_QKV
      Attention a =
          attention(
              c,
              p,
              lp,
              h,
              memories.get(l),
              pastK,
              pastV,
              pastTail,
              rope,
              from > 0 ? p.maskRows(m, past, t, from) : mask,
              o.writeMemory(),
              from);
      x = from > 0 ? x.get(p.rowsFrom(from)) : x; // (B, T - from, D)
      x = x.add(a.out()); // residual
      if (o.computeLogits() || l < c.layers() - 1) {
        x = x.add(feedForward(unitRms(x, p.normEps()), lp)); // residual
      }
      newMemories.add(a.memory());
      keys.add(a.keys());
      values.add(a.values());
      strengths.add(a.strength());
      tails.add(a.tail());
    }
    NDArray logits = null;
    if (o.computeLogits()) { // x holds the rows after the context: (B, T', D)
      logits = lmHead(rmsNorm(x, p.weights().finalNorm(), p.normEps()), p.weights().embed());
    }
    return new Output(logits, newMemories, new KvCache(keys, values, tails), strengths);
  }

  /**
   * The memories after one full segment (C + N tokens after nothing: no KV cache), computing only
   * what the memory depends on: the last layer runs its write alone (no local branch, memory read,
   * W_O or feed-forward), from its input's rows C - (MAX_SHORT_CONV - 1) on, and the layer before
   * it computes its queries, read, W_O and feed-forward for those rows only. The memories are those
   * of {@code forward(p, tokens, memories, null, Options.fullSegment())} up to float rounding; this
   * is the only code that writes a stream's memory at inference, so the memory never depends on
   * which caller compressed its segments. No logits, no KV cache.
   *
   * @param tokens (B, C + N) the segment after its context
   * @return (L) the memories after the segment
   */
  static List<Memory> compress(Prepared p, NDArray tokens, List<Memory> memories) {
    return compress(p, tokens, memories, false).memories();
  }

  /**
   * {@link #compress} and the logits of the segment's N rows (those of {@code forward(p, tokens,
   * memories, null, Options.readOnly())} up to float rounding), from the same layers' work: the
   * memories are computed by the very same operations as without logits, bit for bit; what the
   * logits need beyond them is the layer before the last on rows 0 .. C - 8 (the rows the write
   * does not read) and the last layer's attention, W_O, feed-forward and LM head.
   *
   * @return the memories and logits (B, N, W); no KV cache
   */
  static Output compressScored(Prepared p, NDArray tokens, List<Memory> memories) {
    return compress(p, tokens, memories, true);
  }

  private static Output compress(Prepared p, NDArray tokens, List<Memory> memories, boolean score) {
    ModelConfig c = p.config();
    int t = Math.toIntExact(tokens.getShape().get(1));
    checkCall(c, 0, t, memories.size(), Options.fullSegment());
    int ctx = c.overlap();
    int layers = c.layers();
    // The last layer's write reads its input on rows C - S + 1 .. (its own and the short
    // convolution's history); the same rows from C - (MAX_SHORT_CONV - 1) on whatever S, so a
    // model computes on the same shapes with identity taps as without a convolution.
    int last = layers >= 2 ? p.trimFrom() : 0; // first row of the last layer's input
    // The embedding rows and the first layer's normalised input, gathered from the tables of
    // Prepared: x (B, T - x0, D) from row x0 on (what the first residual add needs), h (B, T, D).
    int x0 = layers == 2 ? last : 0;
    long[] ids = tokens.toType(DataType.INT64, false).toLongArray();
    int b0 = ids.length / t;
    NDManager m = tokens.getManager();
    NDArray x = tableRows(p.embedRows(), p, ids, b0, t, x0, t, m);
    NDArray h0 = tableRows(p.unitEmbed(), p, ids, b0, t, 0, t, m);
    List<Memory> out = new ArrayList<>();
    NDArray prefix = null; // scoring: the layer before the last's output on rows 0 .. last-1
    for (int l = 0; l < layers - 1; l++) {
      PreparedLayer lp = p.layers().get(l);
      int from = l == layers - 2 ? last : 0; // first row whose output is needed
      NDArray h = l == 0 ? h0 : unitRms(x, p.normEps()); // (B, T, D)
      if (score && from > 0) {
        NDArray residual =
            l == 0 ? tableRows(p.embedRows(), p, ids, b0, t, 0, from, m) : x.get(p.rowsTo(from));
        prefix = prefixRows(c, p, lp, h.get(p.rowsTo(from)), residual, memories.get(l), from);
      }
      Attention a =
          attention(
              c,
              p,
              lp,
              h,
              memories.get(l),
              null,
              null,
              null,
              p.fullRope(),
              from > 0 ? p.trimMask() : p.fullMask(),
              true,
              from,
              true);
      x = from > 0 && l > 0 ? x.get(p.rowsFrom(from)) : x; // (B, T - from, D)
      x = x.addi(a.out()); // in place: x is this segment's own (or a view of it no one reads)
      x = x.addi(feedForward(unitRms(x, p.normEps()), lp));
      out.add(a.memory());
    }
    // The scores: the last layer's input on all rows, then that layer as forward runs it.
    NDArray logits = null;
    if (score) {
      NDArray input = prefix == null ? x : prefix.concat(x, 1); // (B, T, D)
      logits = lastLayerLogits(c, p, input, memories.get(layers - 1));
    }
    // The last layer: its write alone, from its input's rows last .. T-1.
    PreparedLayer lp = p.layers().get(layers - 1);
    NDArray h = layers == 1 ? h0 : unitRms(x, p.normEps()); // (B, T - last, D)
    long b = h.getShape().get(0);
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();
    int own = ctx - last; // the segment's first row in h
    NDArray proj = h.matMul(lp.kvw()); // (B, T - last, HK+HV [+H])
    long n = t - ctx;
    Memory mem = memories.get(layers - 1);
    if (lp.fusedWrite()) { // GATED: sigma(K), V and the logits to Java, the write there
      int hk = nh * dk;
      int width = hk + nh * dv; // K and V columns
      NDArray rows; // (B, N, HK+HV [+H]): the segment's K and V (then the logits if no conv)
      float[] writeLogits;
      Layout logitLayout;
      if (lp.conv() != null) {
        NDList parts = proj.split(new long[] {width}, 2);
        int history = c.shortConv() - 1; // <= own: C >= S - 1, and last <= C - S + 1
        rows = shortConv(parts.get(0).get(p.rowsFrom(own - history)), lp.convKv(), n);
        writeLogits = parts.get(1).get(p.rowsFrom(own)).toFloatArray(); // (B, N, H)
        logitLayout = new Layout(0, (int) n * nh, 1, nh);
      } else {
        rows = proj.get(p.rowsFrom(own));
        writeLogits = null; // in the raw rows
        logitLayout = new Layout(width, (int) n * (width + nh), 1, width + nh);
      }
      int stride = Math.toIntExact(rows.getShape().get(2));
      float[] keys = feature(c, rows.get(p.columnsTo(hk)), p.one()).toFloatArray(); // (B, N, HK)
      float[] raw = rows.toFloatArray();
      out.add(
          gatedWrite(
              lp,
              mem,
              Math.toIntExact(b),
              (int) n,
              keys,
              new Layout(0, (int) n * hk, dk, hk),
              raw,
              new Layout(hk, (int) n * stride, dv, stride),
              writeLogits == null ? raw : writeLogits,
              logitLayout,
              h.getManager()));
      return new Output(logits, out, null, null);
    }
    if (lp.conv() != null) {
      int history = c.shortConv() - 1; // <= own: C >= S - 1, and last <= C - S + 1
      proj = shortConv(proj.get(p.rowsFrom(own - history)), lp.convKv(), t - ctx);
    } else {
      proj = proj.get(p.rowsFrom(own)); // (B, N, HK+HV)
    }
    NDList kv = proj.split(new long[] {(long) nh * dk}, 2);
    NDArray sk =
        feature(c, kv.get(0).reshape(b, n, nh, dk).transpose(0, 2, 1, 3), p.one()); // (B,H,N,K)
    NDArray sv = kv.get(1).reshape(b, n, nh, dv).transpose(0, 2, 1, 3); // (B, H, N, V)
    out.add(write(c, p, lp, sk, sv, null, mem).memory());
    return new Output(logits, out, null, null);
  }

  /**
   * Rows 0 .. r-1 of a layer's output (attention and feed-forward, residuals included) for {@link
   * #compressScored}: causal, they depend on those rows alone, so they are the window's first r
   * rows run as a window of their own, with no write.
   *
   * @param h (B, r, D) the layer's normalised input on those rows
   * @param residual (B, r, D) its input on those rows
   */
  private static NDArray prefixRows(
      ModelConfig c, Prepared p, PreparedLayer lp, NDArray h, NDArray residual, Memory mem, int r) {
    NDManager m = h.getManager();
    Attention a =
        attention(c, p, lp, h, mem, null, null, null, p.rope(m, 0, r), p.mask(m, 0, r), false, 0);
    NDArray x = residual.add(a.out());
    return x.add(feedForward(unitRms(x, p.normEps()), lp));
  }

  /**
   * The last layer as {@link #forward} runs it on a full segment without writing: attention over
   * all T rows of {@code input}, then W_O, feed-forward, final norm and LM head on the rows after
   * the context. Returns the logits (B, N, W).
   */
  private static NDArray lastLayerLogits(ModelConfig c, Prepared p, NDArray input, Memory mem) {
    PreparedLayer lp = p.layers().get(c.layers() - 1);
    NDManager m = input.getManager();
    int t = Math.toIntExact(input.getShape().get(1));
    int ctx = c.overlap();
    Attention a =
        attention(
            c,
            p,
            lp,
            unitRms(input, p.normEps()),
            mem,
            null,
            null,
            null,
            p.fullRope(),
            ctx > 0 ? p.maskRows(m, 0, t, ctx) : p.fullMask(),
            false,
            ctx);
    NDArray x = (ctx > 0 ? input.get(p.rowsFrom(ctx)) : input).add(a.out());
    x = x.add(feedForward(unitRms(x, p.normEps()), lp));
    return lmHead(rmsNorm(x, p.weights().finalNorm(), p.normEps()), p.weights().embed());
  }

  /**
   * Rows {@code from .. to-1} of {@code table} (vocabulary-sized, D-wide rows: the embedding, or
   * its rows normalised) for the tokens of each of the {@code b} windows of {@code ids}: (b, to -
   * from, D).
   */
  private static NDArray tableRows(
      float[] table, Prepared p, long[] ids, int b, int t, int from, int to, NDManager m) {
    int d = p.config().dModel();
    float[] rows = new float[b * (to - from) * d];
    for (int i = 0; i < b; i++) {
      for (int j = from; j < to; j++) {
        int id = Math.toIntExact(ids[i * t + j]);
        System.arraycopy(table, id * d, rows, (i * (to - from) + j - from) * d, d);
      }
    }
    return m.create(rows, new Shape(b, to - from, d));
  }

  /**
   * The FLOPs of the matrix products {@link #compress} executes for one segment of one stream, 2
   * per multiply-add, derived from its code path: with T = C + N, r = {@link Prepared#trimFrom} (C
   * - 7, at least 0, when L >= 2) and R = T - r,
   *
   * <pre>
   * a layer before the last two  2TD(2HK+HV+G) + 2HT^2(K+V) + read(T) + write + 2T(HV)D + 4TDF
   * the layer before the last    2TD(2HK+HV+G) + 2HRT(K+V) + read(R) + write + 2R(HV)D + 4RDF
   * the last layer               2RD(HK+HV+G) + write        (2TD(HK+HV+G) + write if L = 1)
   * read(X) = 2XHKV (+ 2XHK for PAPER)
   * write   = LINEAR 2NHKV; DELTA 4NHKV + 2NHK; GATED 4WHKV ({@link #gatedTokens}: one read and
   *           one update of K x V per writing token and head)
   * </pre>
   *
   * where G = H under GATED (W_write's columns fused into the projection), else 0, and W the tokens
   * of a segment that write: k under a top-k write, else N (the sparse gate's further zero-strength
   * tokens depend on the text and are counted). Elementwise work is not counted.
   */
  public static long compressFlops(ModelConfig c) {
    long d = c.dModel();
    long h = c.heads();
    long k = c.dKey();
    long v = c.dValue();
    long n = c.segmentLength();
    long t = c.overlap() + n;
    long g = c.updateRule() == UpdateRule.GATED ? h : 0;
    long wide = 2 * h * k + h * v + g;
    long kvw = h * k + h * v + g;
    long write =
        switch (c.updateRule()) {
          case LINEAR -> 2 * n * h * k * v;
          case DELTA -> 4 * n * h * k * v + 2 * n * h * k;
          case GATED -> 4 * (c.writeTopK() > 0 ? Math.min(c.writeTopK(), n) : n) * h * k * v;
        };
    int layers = c.layers();
    if (layers == 1) {
      return 2 * t * d * kvw + write;
    }
    long r = Math.max(0, c.overlap() - (ModelConfig.MAX_SHORT_CONV - 1));
    long rows = t - r;
    long total = 0;
    for (int l = 0; l < layers - 1; l++) {
      long q = l == layers - 2 ? rows : t; // query rows: those whose output is needed
      total +=
          2 * t * d * wide
              + 2 * h * q * t * (k + v)
              + readFlops(c, q)
              + write
              + 2 * q * h * v * d
              + 4 * q * d * c.ffnHidden();
    }
    return total + 2 * rows * d * kvw + write;
  }

  /**
   * The FLOPs of the matrix products a scored segment step ({@link #compressScored}) executes
   * beyond {@link #compressFlops}: the layer before the last on its first r rows as a window of
   * their own (r = {@link Prepared#trimFrom}, when L >= 2), then the last layer on all T rows
   * without a write (projections of all T rows; local branch, read, W_O and feed-forward of the N
   * rows after the context), then the LM head 2NDW. Counted as {@link #compressFlops}:
   *
   * <pre>
   * prefix      2rD(2HK+HV+G) + 2Hr^2(K+V) + read(r) + 2r(HV)D + 4rDF
   * last layer  2TD(2HK+HV+G) + 2HNT(K+V) + read(N) + 2N(HV)D + 4NDF
   * </pre>
   */
  public static long scoringFlops(ModelConfig c) {
    long d = c.dModel();
    long h = c.heads();
    long k = c.dKey();
    long v = c.dValue();
    long n = c.segmentLength();
    long t = c.overlap() + n;
    long g = c.updateRule() == UpdateRule.GATED ? h : 0;
    long wide = 2 * h * k + h * v + g;
    long f = c.ffnHidden();
    long r = c.layers() >= 2 ? Math.max(0, c.overlap() - (ModelConfig.MAX_SHORT_CONV - 1)) : 0;
    long prefix =
        2 * r * d * wide
            + 2 * h * r * r * (k + v)
            + readFlops(c, r)
            + 2 * r * h * v * d
            + 4 * r * d * f;
    long last =
        2 * t * d * wide
            + 2 * h * n * t * (k + v)
            + readFlops(c, n)
            + 2 * n * h * v * d
            + 4 * n * d * f;
    return prefix + last + 2 * n * d * c.vocabSize();
  }

  private static long readFlops(ModelConfig c, long rows) {
    long h = c.heads();
    long k = c.dKey();
    return 2 * rows * h * k * c.dValue()
        + (c.memoryRead() == MemoryRead.PAPER ? 2 * rows * h * k : 0);
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
   * @param mask (T - from, P+T) additive causal mask of the query rows
   * @param from the first row whose output is computed: the queries, the memory read and the result
   *     cover rows from .. T-1; keys, values and the write (rows C ..) all rows
   */
  static Attention attention(
      ModelConfig c,
      Prepared p,
      PreparedLayer lp,
      NDArray h,
      Memory mem,
      NDArray pastK,
      NDArray pastV,
      NDArray pastTail,
      Rope rope,
      NDArray mask,
      boolean write,
      int from) {
    return attention(c, p, lp, h, mem, pastK, pastV, pastTail, rope, mask, write, from, false);
  }

  /**
   * {@link #attention(ModelConfig, Prepared, PreparedLayer, NDArray, Memory, NDArray, NDArray,
   * NDArray, Rope, NDArray, boolean, int)}; {@code compressing}: the write is that of {@link
   * #compress} ({@link #gatedWrite} under GATED, not differentiable).
   */
  static Attention attention(
      ModelConfig c,
      Prepared p,
      PreparedLayer lp,
      NDArray h,
      Memory mem,
      NDArray pastK,
      NDArray pastV,
      NDArray pastTail,
      Rope rope,
      NDArray mask,
      boolean write,
      int from,
      boolean compressing) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int nh = c.heads();
    int dk = c.dKey();
    int dv = c.dValue();

    // Q, K, V = X W_Q, X W_K, X W_V, shared by both branches (one fused matmul, with the write
    // strength's projection when GATED), then the causal short convolution if the model has one:
    // P_t = sum_j conv_j * P_{t-j}, per channel.
    NDArray proj = h.matMul(lp.wide()); // (B, T, 2HK+HV [+H])
    NDArray raw = proj;
    NDArray logit = null;
    NDArray tail = null;
    if (lp.fusedWrite()) {
      NDList parts = proj.split(new long[] {2L * nh * dk + (long) nh * dv}, 2);
      proj = parts.get(0);
      logit = parts.get(1); // (B, T, H)
    }
    if (lp.conv() != null) {
      NDArray padded = withHistory(proj, pastTail, c.shortConv() - 1); // (B, S-1+T, 2HK+HV)
      proj = shortConv(padded, lp.conv(), t);
      tail = padded.get(p.rowsFrom(t)); // the last S-1 rows, for the next call
    }
    NDList qkv = proj.split(new long[] {2L * nh * dk}, 2); // (B,T,2HK), (B,T,HV)
    NDArray qk = qkv.get(0).reshape(b, t, 2L * nh, dk).transpose(0, 2, 1, 3); // (B, 2H, T, K)
    NDArray v = qkv.get(1).reshape(b, t, nh, dv).transpose(0, 2, 1, 3); // (B, H, T, V)

    // Eq. 5-6, local branch: A_dot = softmax(Q_rope K_rope^T / sqrt(K) + causal mask) V, the
    // 1/sqrt(K) folded into the queries' RoPE tables.
    NDList qkRope = rope.apply(qk).split(2, 1); // Q_rope / sqrt(K), K_rope: (B, H, T, K)
    NDArray q = from > 0 ? qkRope.get(0).get(p.headRowsFrom(from)) : qkRope.get(0);
    NDArray keys = pastK == null ? qkRope.get(1) : pastK.concat(qkRope.get(1), 2); // (B,H,P+T,K)
    NDArray vals = pastV == null ? v : pastV.concat(v, 2); // (B, H, P+T, V)
    NDArray scores = q.matMul(keys.transpose(0, 1, 3, 2)); // (B, H, T', P+T)
    scores = compressing ? scores.addi(mask) : scores.add(mask); // in place: nothing to backprop
    NDArray aDot = scores.softmax(3).matMul(vals); // (B, H, T', V)

    // Eq. 7, memory read with the pre-RoPE queries: A_mem = read(sigma(Q), M, z), times the gate.
    NDArray sigmaQk =
        feature(c, from > 0 ? qk.get(p.headRowsFrom(from)) : qk, p.one()); // (B,2H,T',K)
    NDList sqk = sigmaQk.split(2, 1);
    NDArray aMem = read(c, p, lp, sqk.get(0), mem); // (B, H, T', V) sigmoid(beta) A_mem

    // Eq. 8 / 9, or the gated delta rule: write the segment's own rows, after the read.
    Memory next = mem;
    NDArray strength = null;
    if (write && compressing && lp.fusedWrite()) { // GATED: sigma(K), V and logits to Java
      int own = c.overlap() - from; // the segment's first row in sigmaQk
      int tq = Math.toIntExact(t - from);
      int n = Math.toIntExact(t - c.overlap());
      // without a convolution V and the logits are columns of the raw projection's rows
      NDArray vRows = (lp.conv() != null ? proj : raw).get(p.rowsFrom(c.overlap()));
      int stride = Math.toIntExact(vRows.getShape().get(2));
      float[] values = vRows.toFloatArray(); // (B, N, 2HK+HV [+H])
      float[] logits =
          lp.conv() != null ? logit.get(p.rowsFrom(c.overlap())).toFloatArray() : values;
      next =
          gatedWrite(
              lp,
              mem,
              Math.toIntExact(b),
              n,
              sigmaQk.toFloatArray(),
              new Layout((nh * tq + own) * dk, 2 * nh * tq * dk, tq * dk, dk),
              values,
              new Layout(2 * nh * dk, n * stride, dv, stride),
              logits,
              lp.conv() != null
                  ? new Layout(0, n * nh, 1, nh)
                  : new Layout(2 * nh * dk + nh * dv, n * stride, 1, stride),
              h.getManager());
    } else if (write) {
      int own = c.overlap() - from;
      NDArray sk = own > 0 ? sqk.get(1).get(p.headRowsFrom(own)) : sqk.get(1); // (B, H, N, K)
      NDArray sv = v.get(p.headRowsFrom(c.overlap())); // (B, H, N, V)
      NDArray logitOwn = logit == null ? null : logit.get(p.rowsFrom(c.overlap())); // (B, N, H)
      Written wr = write(c, p, lp, sk, sv, logitOwn, mem);
      next = wr.memory();
      strength = wr.strength();
    }

    // Eq. 10, gate per head: A = sigmoid(beta) A_mem + (1 - sigmoid(beta)) A_dot.
    NDArray mixed = // (B, H, T', V); the same sum in place when compressing
        compressing
            ? aDot.muli(lp.oneMinusGate()).addi(aMem)
            : aMem.add(aDot.mul(lp.oneMinusGate()));

    // Eq. 11: concatenate the heads, project with W_O.
    NDArray out =
        mixed.transpose(0, 2, 1, 3).reshape(b, t - from, (long) nh * dv).matMul(lp.w().wo());
    return new Attention(out, next, keys, vals, strength, tail); // out: (B, T', D)
  }

  /** A layer's memory after a write, and the write strengths (GATED) or null. */
  record Written(Memory memory, NDArray strength) {}

  /**
   * Eq. 8 / 9 or the gated delta rule over the segment's own rows.
   *
   * @param sk (B, H, N, K) sigma(K)
   * @param sv (B, H, N, V) values
   * @param logit (B, N, H) h W_write, computed with the projections (GATED), or null
   */
  static Written write(
      ModelConfig c,
      Prepared p,
      PreparedLayer lp,
      NDArray sk,
      NDArray sv,
      NDArray logit,
      Memory mem) {
    NDArray strength = null;
    NDArray newM =
        switch (c.updateRule()) {
          case LINEAR -> mem.m().add(sk.transpose(0, 1, 3, 2).matMul(sv)); // eq. 8
          case DELTA ->
              mem.m().add(sk.transpose(0, 1, 3, 2).matMul(sv.sub(paperRead(sk, mem, p.memEps()))));
          case GATED -> {
            strength = writeStrength(logit, lp.w(), c.writeGate()); // fused into the projections
            if (selects(c.writeTopK(), sk.getShape().get(2))) {
              strength = strength.mul(topKMask(logit, lp, c.writeTopK())); // the others: 0
            }
            yield gatedDeltaWrite(p, sk, sv, mem.m(), strength); // (B, H, K, V)
          }
        };
    NDArray newZ = mem.z().add(sk.sum(new int[] {2})); // (B, H, K): z += sum_t sigma(K_t)
    return new Written(new Memory(newM, newZ), strength);
  }

  /**
   * Where a (B, H, N, F) operand lies in a flat array: element (b, h, t, f) at {@code offset + b *
   * batch + h * head + t * token + f}.
   */
  record Layout(int offset, int batch, int head, int token) {
    int at(int b, int h, int t) {
      return offset + b * batch + h * head + t * token;
    }
  }

  /**
   * The gated delta rule's write of {@link #compress}, in Java, one stream and head at a time, so
   * that a stream's memory is the same bits whatever the batch: M by {@link #gatedTokens}, z += sum
   * over t of sigma(K_t) (summed in order), beta_t = the write gate of logit_t + b_write in double
   * ({@link WriteGate#strength}), rounded to fp32. Not differentiable (the training's write is
   * {@link #gatedDeltaWrite}).
   *
   * @param keys sigma(K) of the segment's N rows, laid out as {@code keyLayout} says
   * @param values V of the segment's rows
   * @param logits h w_write of the segment's rows (head stride 1)
   * @return the memory after the segment, in {@code manager}
   */
  static Memory gatedWrite(
      PreparedLayer lp,
      Memory mem,
      int b,
      int n,
      float[] keys,
      Layout keyLayout,
      float[] values,
      Layout valueLayout,
      float[] logits,
      Layout logitLayout,
      NDManager manager) {
    Shape mShape = mem.m().getShape(); // (B, H, K, V)
    Shape zShape = mem.z().getShape(); // (B, H, K)
    int nh = Math.toIntExact(mShape.get(1));
    int dk = Math.toIntExact(mShape.get(2));
    int dv = Math.toIntExact(mShape.get(3));
    float[] m = mem.m().toFloatArray();
    float[] z = mem.z().toFloatArray();
    float[] bias = lp.writeBias();
    float[] pre = new float[n];
    float[] beta = new float[n];
    float[] strengths = new float[b * nh];
    float[][] rows = new float[dk][dv];
    float[] sum = new float[dk];
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < nh; h++) {
        for (int t = 0; t < n; t++) {
          float x = logits[logitLayout.at(bi, h, t)] + bias[h];
          pre[t] = x;
          beta[t] = (float) lp.writeGate().strength(x);
        }
        if (selects(lp.writeTopK(), n)) {
          keepTopK(pre, n, lp.writeTopK(), beta);
        }
        double strength = 0;
        for (int t = 0; t < n; t++) {
          strength += beta[t];
        }
        strengths[bi * nh + h] = (float) (strength / n);
        int mo = (bi * nh + h) * dk * dv;
        for (int k = 0; k < dk; k++) {
          System.arraycopy(m, mo + k * dv, rows[k], 0, dv);
        }
        gatedTokens(
            rows,
            keys,
            keyLayout.at(bi, h, 0),
            keyLayout.token(),
            values,
            valueLayout.at(bi, h, 0),
            valueLayout.token(),
            beta,
            n);
        for (int k = 0; k < dk; k++) {
          System.arraycopy(rows[k], 0, m, mo + k * dv, dv);
        }
        Arrays.fill(sum, 0f);
        for (int t = 0; t < n; t++) {
          int ko = keyLayout.at(bi, h, t);
          for (int k = 0; k < dk; k++) {
            sum[k] += keys[ko + k];
          }
        }
        int zo = (bi * nh + h) * dk;
        for (int k = 0; k < dk; k++) {
          z[zo + k] += sum[k];
        }
      }
    }
    return new Memory(manager.create(m, mShape), manager.create(z, zShape), strengths);
  }

  /** Whether a top-k write of {@code k} tokens leaves some of {@code n} unwritten. */
  static boolean selects(int k, long n) {
    return k > 0 && k < n;
  }

  /**
   * {@link ModelConfig#writeTopK}: zeroes {@code beta[t]} for every t in 0..n-1 but the {@code k}
   * with the largest {@code pre[t]}; of equal values the earlier token ranks first. Ranks by the
   * floats' total order (as {@link Float#compare}), so the choice is the same on every machine.
   */
  static void keepTopK(float[] pre, int n, int k, float[] beta) {
    long[] order = new long[n];
    for (int t = 0; t < n; t++) {
      int bits = Float.floatToIntBits(pre[t]);
      int key = bits ^ ((bits >> 31) & 0x7fffffff); // ascending ints in the floats' order
      order[t] = ((long) ~key << 32) | t; // ascending: the largest first, then the earlier
    }
    Arrays.sort(order);
    boolean[] keep = new boolean[n];
    for (int i = 0; i < k; i++) {
      keep[(int) order[i]] = true;
    }
    for (int t = 0; t < n; t++) {
      if (!keep[t]) {
        beta[t] = 0f;
      }
    }
  }

  /**
   * The training's top-k write ({@link ModelConfig#writeTopK}): 1 where {@link #keepTopK} keeps a
   * token, else 0, from the logits (B, N, H) plus the write bias, as (B, H, N, 1). A constant: the
   * gradient reaches the chosen tokens' strengths only.
   */
  static NDArray topKMask(NDArray logit, PreparedLayer lp, int k) {
    Shape shape = logit.getShape(); // (B, N, H)
    int b = Math.toIntExact(shape.get(0));
    int n = Math.toIntExact(shape.get(1));
    int nh = Math.toIntExact(shape.get(2));
    float[] x = contiguous(logit).toFloatArray(); // the rows from a strided view, in order
    float[] bias = lp.writeBias();
    float[] mask = new float[b * nh * n];
    float[] pre = new float[n];
    float[] keep = new float[n];
    for (int bi = 0; bi < b; bi++) {
      for (int h = 0; h < nh; h++) {
        for (int t = 0; t < n; t++) {
          pre[t] = x[(bi * n + t) * nh + h] + bias[h];
          keep[t] = 1f;
        }
        keepTopK(pre, n, k, keep);
        System.arraycopy(keep, 0, mask, (bi * nh + h) * n, n);
      }
    }
    return logit.getManager().create(mask, new Shape(b, nh, n, 1));
  }

  /**
   * The gated delta rule token by token on one head's memory {@code rows} (K rows of V), in place:
   * for t = 1..N in order, with the unit key k^_t = sigma(k_t) / sqrt(|sigma(k_t)|^2 + eps), r_t =
   * k^_t M (summed over K in order), u_t = beta_t (v_t - r_t), M += k^_t^T u_t. fp32 in plain loops
   * (Java neither reorders nor fuses floating-point operations), so the result depends on the
   * values alone. One pass over M per written token: each row's update is followed at once by its
   * share of the next written token's read. Each row of M is its own array, so that the loops over
   * V, which read and write at one index, vectorise.
   *
   * <p>A token with beta_t = 0 (every token but k of a segment under a top-k write) writes u_t = 0:
   * it is skipped, and neither its read nor its update is computed. Adding 0 leaves M's values as
   * they are, so the bits are those of running every token through the update (for a finite M; a
   * zero that was -0 stays -0, which only a hand-made state can hold).
   *
   * @param keys sigma(k_t) at {@code keyAt + t * keyStep}, K values
   * @param values v_t at {@code valueAt + t * valueStep}, V values
   * @param beta (N) write strengths
   */
  static void gatedTokens(
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
    int t = nextWritten(beta, 0, n);
    if (t == n) {
      return;
    }
    float[] key = new float[dk];
    float[] next = new float[dk];
    unitKey(keys, keyAt + t * keyStep, key);
    float[] u = new float[dv];
    float[] r = new float[dv];
    float[] vt = new float[dv];
    for (int k = 0; k < dk; k++) { // r = k^_t M
      float a = key[k];
      float[] row = rows[k];
      for (int j = 0; j < dv; j++) {
        r[j] = r[j] + a * row[j];
      }
    }
    while (true) {
      System.arraycopy(values, valueAt + t * valueStep, vt, 0, dv);
      float bt = beta[t];
      for (int j = 0; j < dv; j++) {
        u[j] = bt * (vt[j] - r[j]);
      }
      int after = nextWritten(beta, t + 1, n);
      if (after == n) {
        for (int k = 0; k < dk; k++) { // M += k^_t^T u_t, the last write
          float a = key[k];
          float[] row = rows[k];
          for (int j = 0; j < dv; j++) {
            row[j] = row[j] + a * u[j];
          }
        }
        return;
      }
      unitKey(keys, keyAt + after * keyStep, next);
      Arrays.fill(r, 0f);
      // M += k^_t^T u_t, then r = k^_after M: four rows a pass (r still summed over K in order:
      // Java adds left to right), then the rest one by one
      int k = 0;
      for (; k + 3 < dk; k += 4) {
        float a0 = key[k];
        float a1 = key[k + 1];
        float a2 = key[k + 2];
        float a3 = key[k + 3];
        float c0 = next[k];
        float c1 = next[k + 1];
        float c2 = next[k + 2];
        float c3 = next[k + 3];
        float[] w0 = rows[k];
        float[] w1 = rows[k + 1];
        float[] w2 = rows[k + 2];
        float[] w3 = rows[k + 3];
        for (int j = 0; j < dv; j++) {
          float uj = u[j];
          float x0 = w0[j] + a0 * uj;
          float x1 = w1[j] + a1 * uj;
          float x2 = w2[j] + a2 * uj;
          float x3 = w3[j] + a3 * uj;
          w0[j] = x0;
          w1[j] = x1;
          w2[j] = x2;
          w3[j] = x3;
          r[j] = r[j] + c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
        }
      }
      for (; k < dk; k++) {
        float a = key[k];
        float c = next[k];
        float[] row = rows[k];
        for (int j = 0; j < dv; j++) {
          float x = row[j] + a * u[j];
          row[j] = x;
          r[j] = r[j] + c * x;
        }
      }
      float[] swap = key;
      key = next;
      next = swap;
      t = after;
    }
  }

  /** The first t in {@code from .. n-1} with beta_t != 0, or n. */
  private static int nextWritten(float[] beta, int from, int n) {
    int t = from;
    while (t < n && beta[t] == 0f) {
      t++;
    }
    return t;
  }

  /** k^ = sigma(k) / sqrt(|sigma(k)|^2 + eps) of the K values at {@code from}, into {@code out}. */
  private static void unitKey(float[] sk, int from, float[] out) {
    int dk = out.length;
    float s = 0f;
    for (int k = 0; k < dk; k++) {
      s += sk[from + k] * sk[from + k];
    }
    float len = (float) Math.sqrt(s + MEMORY_EPS);
    for (int k = 0; k < dk; k++) {
      out[k] = sk[from + k] / len;
    }
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
   * The memory read of queries sq = sigma(Q) (B, H, T, K) -> (B, H, T, V), times the head's gate
   * sigmoid(beta) (eq. 10's first term): the paper's (eq. 7), or sigma(Q) M normalised to unit RMS
   * over V (eps {@link ModelConfig#readEps} inside the square root), times the head's gain.
   */
  static NDArray read(ModelConfig c, Prepared p, PreparedLayer lp, NDArray sq, Memory mem) {
    return switch (c.memoryRead()) {
      case PAPER -> paperRead(sq, mem, p.memEps()).mul(lp.gate());
      case NORMALIZED -> {
        NDArray sqm = sq.matMul(mem.m()); // (B, H, T, V) sigma(Q) M
        NDArray rms = sqm.mul(sqm).mean(new int[] {3}, true).add(p.readEps()).sqrt();
        yield sqm.div(rms).mul(lp.gatedGain()); // gain * sigmoid(beta), (H, 1, V)
      }
    };
  }

  /** Eq. 7: sigma(Q) M / (sigma(Q) z + eps); sq (B, H, T, K) -> (B, H, T, V). */
  static NDArray paperRead(NDArray sq, Memory mem, NDArray eps) {
    return sq.matMul(mem.m()).div(sq.matMul(mem.z().expandDims(3)).add(eps));
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
   * The write strength beta_t = gate(h_t w_write + b_write) of each token and head ({@link
   * WriteGate}), from the logits h w_write (B, T, H) -> (B, H, T, 1). The gate runs on each
   * stream's row alone, a contiguous buffer of the same size whatever the batch, because libtorch's
   * vectorised exp rounds an element differently depending on where it falls in the buffer: so a
   * stream's memory is the same bit for bit whether it is compressed alone or batched with others
   * ({@link InfiniModel#absorbAll}).
   */
  static NDArray writeStrength(NDArray logit, Weights.Layer w, WriteGate gate) {
    NDArray x = logit.add(w.writeBias()); // (B, T, H), contiguous
    long b = x.getShape().get(0);
    NDArray s;
    if (b == 1) {
      s = gate(x, gate); // the one stream's buffer
    } else {
      NDList rows = new NDList();
      for (long i = 0; i < b; i++) {
        rows.add(gate(contiguous(x.get(i)), gate)); // (T, H)
      }
      s = NDArrays.stack(rows);
    }
    return s.transpose(0, 2, 1).expandDims(3); // (B, H, T, 1)
  }

  /**
   * Slope of the gradient that {@link WriteGate#SPARSE} passes below a logit of 0, where its
   * strength is 0 and its true gradient too: a token that writes nothing still learns whether it
   * should (a straight-through estimate; the strength itself is exactly 0 there).
   */
  static final float SPARSE_GRADIENT_SLOPE = 0.1f;

  /**
   * {@link WriteGate#strength} elementwise, differentiable; under SPARSE a logit below 0 gives a
   * strength of exactly 0 with the gradient {@link #SPARSE_GRADIENT_SLOPE}.
   */
  static NDArray gate(NDArray x, WriteGate gate) {
    return switch (gate) {
      case LOGISTIC -> Activation.sigmoid(x);
      case SPARSE -> {
        // max(0, 2 logistic(x) - 1) = max(0, tanh(x / 2)); constants that autograd keeps are
        // libtorch's own (Scalars), relu's backward needs none
        NDArray below = x.lt(0f).toType(x.getDataType(), false); // a constant mask
        NDArray surrogate = Scalars.mul(x.sub(x.stopGradient()).mul(below), SPARSE_GRADIENT_SLOPE);
        yield Activation.relu(Scalars.mul(Activation.sigmoid(x), 2f).sub(1f)).add(surrogate);
      }
    };
  }

  /**
   * The gated delta rule ({@link UpdateRule#GATED}) over one segment: for t = 1..N in order, M +=
   * beta_t k^_t^T (v_t - k^_t M), with unit keys k^_t = sigma(k_t) / |sigma(k_t)|. Computed in
   * closed form per block of {@link #BLOCK} tokens (DeltaNet's chunked form, in its WY
   * representation): with T_b = (I + diag(beta) tril(K^ K^^T, -1))^-1 the block's lower-triangular
   * inverse, W_b = T_b diag(beta) K^ and U_b = T_b diag(beta) V, the block's writes are U_b - W_b
   * M, so M <- (I - K^^T W_b) M + K^^T U_b. Everything but that last step is computed for all
   * blocks at once; a segment whose length is not a multiple of the block gets zero rows (zero
   * keys, values and strengths) that write exactly nothing.
   *
   * @param sk (B, H, N, K) sigma(K) of the segment
   * @param v (B, H, N, V) values
   * @param m (B, H, K, V) the memory before the segment
   * @param beta (B, H, N, 1) write strengths in [0, 1)
   * @return (B, H, K, V) the memory after the segment
   */
  static NDArray gatedDeltaWrite(Prepared p, NDArray sk, NDArray v, NDArray m, NDArray beta) {
    Shape shape = sk.getShape();
    long b = shape.get(0);
    long nh = shape.get(1);
    long n = shape.get(2);
    long dk = shape.get(3);
    long dv = v.getShape().get(3);
    // contiguous copies: on the strided views the projections leave, the batched products below
    // round differently for different batch sizes
    NDArray unit = contiguous(sk.div(norm(sk, p.memEps()))); // (B, H, N, K) k^
    v = contiguous(v); // (B, H, N, V)
    beta = contiguous(beta); // (B, H, N, 1)
    int blocks = Math.toIntExact((n + BLOCK - 1) / BLOCK);
    long pad = (long) blocks * BLOCK - n;
    if (pad > 0) {
      NDManager mgr = sk.getManager();
      unit = unit.concat(mgr.zeros(new Shape(b, nh, pad, dk)), 2);
      v = v.concat(mgr.zeros(new Shape(b, nh, pad, dv)), 2);
      beta = beta.concat(mgr.zeros(new Shape(b, nh, pad, 1)), 2);
    }
    NDArray k = unit.reshape(b, nh, blocks, BLOCK, dk); // (B, H, nb, S, K)
    NDArray kT = k.transpose(0, 1, 2, 4, 3); // (B, H, nb, K, S)
    NDArray bb = beta.reshape(b, nh, blocks, BLOCK, 1); // scales row t
    NDArray inv = unitLowerInverse(p, k.matMul(kT), bb); // (B, H, nb, S, S) T_b
    NDArray rhs = k.concat(v.reshape(b, nh, blocks, BLOCK, dv), 4).mul(bb); // diag(beta)[K^ V]
    NDList parts = kT.matMul(inv.matMul(rhs)).split(new long[] {dk}, 4); // K^^T [W U]
    NDList shrink = parts.get(0).sub(p.eyeKey()).split(blocks, 2); // K^^T W - I: (B,H,1,K,K)
    NDList add = parts.get(1).split(blocks, 2); // K^^T U: (B, H, 1, K, V)
    m = m.expandDims(2); // (B, H, 1, K, V)
    for (int j = 0; j < blocks; j++) {
      m = add.get(j).sub(shrink.get(j).matMul(m)); // (I - K^^T W) M + K^^T U
    }
    return m.squeeze(2); // (B, H, K, V)
  }

  /**
   * (I + diag(beta) tril(G, -1))^-1 of each block's Gram matrix G = K^ K^^T (.., S, S), beta (..,
   * S, 1). Computed by forward substitution in Java (each matrix alone, in a fixed order: the same
   * bits whatever the batch) unless gradients flow through G, when libtorch inverts it.
   */
  static NDArray unitLowerInverse(Prepared p, NDArray gram, NDArray beta) {
    if (gram.hasGradient()) {
      return gram.mul(p.strictLower()).mul(beta).add(p.eyeBlock()).inverse();
    }
    float[] g = gram.toFloatArray();
    float[] be = beta.toFloatArray();
    int s = BLOCK;
    float[] out = new float[g.length];
    float[] row = new float[s];
    for (int base = 0, r = 0; base < g.length; base += s * s, r += s) {
      for (int i = 0; i < s; i++) {
        Arrays.fill(row, 0f);
        row[i] = 1f;
        float bi = be[r + i];
        int gi = base + i * s;
        for (int k = 0; k < i; k++) { // row_i -= L_ik T_k, T_k zero beyond column k
          float l = bi * g[gi + k];
          int tk = base + k * s;
          for (int j = 0; j <= k; j++) {
            row[j] -= l * out[tk + j];
          }
        }
        System.arraycopy(row, 0, out, gi, s);
      }
    }
    return gram.getManager().create(out, gram.getShape());
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
  static NDArray norm(NDArray x, NDArray eps) {
    int last = x.getShape().dimension() - 1;
    return x.mul(x).sum(new int[] {last}, true).add(eps).sqrt();
  }

  /** x laid out row-major (a copy if it is a strided view): flattening cannot be a view then. */
  static NDArray contiguous(NDArray x) {
    return x.reshape(-1).reshape(x.getShape());
  }

  /** sigma(x) = ELU(x) + 1, elementwise. */
  public static NDArray sigma(NDArray x) {
    return x.getNDArrayInternal().elu(1f).add(1f);
  }

  /** sigma(x) = ELU(x) + 1, with {@code one} a 0-d tensor 1. */
  static NDArray sigma(NDArray x, NDArray one) {
    return x.getNDArrayInternal().elu(1f).add(one);
  }

  /** The configuration's feature map of the memory's queries and keys ({@link FeatureMap}). */
  static NDArray feature(ModelConfig c, NDArray x, NDArray one) {
    return c.featureMap() == FeatureMap.IDENTITY ? x : sigma(x, one);
  }

  /** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * gain. x (.., D), gain (D). */
  public static NDArray rmsNorm(NDArray x, NDArray gain) {
    int last = x.getShape().dimension() - 1;
    return x.div(x.mul(x).mean(new int[] {last}, true).add(NORM_EPS).sqrt()).mul(gain);
  }

  /** {@link #rmsNorm(NDArray, NDArray)} with eps given as a 0-d tensor. */
  static NDArray rmsNorm(NDArray x, NDArray gain, NDArray eps) {
    return unitRms(x, eps).mul(gain);
  }

  /** RMSNorm without its gain: x / sqrt(mean(x^2) + eps) over the last axis. */
  static NDArray unitRms(NDArray x, NDArray eps) {
    int last = x.getShape().dimension() - 1;
    return x.div(x.mul(x).mean(new int[] {last}, true).add(eps).sqrt());
  }

  /**
   * GELU feed-forward of the normalised input without its gain: gelu(h diag(g) W_1) W_2, the gain g
   * folded into W_1. h (B, T, D) -> (B, T, D).
   */
  static NDArray feedForward(NDArray h, PreparedLayer lp) {
    return Activation.gelu(h.matMul(lp.w1())).matMul(lp.w().w2());
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
    return causalMaskRows(m, past, t, 0);
  }

  /** Rows {@code from} .. T-1 of {@link #causalMask}: (T - from, P+T). */
  static NDArray causalMaskRows(NDManager m, int past, int t, int from) {
    int width = past + t;
    float[] mask = new float[(t - from) * width];
    for (int i = from; i < t; i++) {
      for (int j = past + i + 1; j < width; j++) {
        mask[(i - from) * width + j] = Float.NEGATIVE_INFINITY;
      }
    }
    return m.create(mask, new Shape(t - from, width));
  }

  /**
   * One layer's weights with what a call derives from them, in the call's manager: the fused
   * projection and the gate, computed once per call instead of once per segment.
   *
   * @param w the layer's parameters
   * @param wide (D, 2HK + HV [+ H]) [W_Q W_K W_V], followed by W_write when the write strength is
   *     fused in ({@code fusedWrite})
   * @param kvw (D, HK + HV [+ H]) [W_K W_V (W_write)], what a write alone projects
   * @param w1 (D, F) W_1 of the feed-forward layer
   *     <p>The rows of wide, kvw and w1 are scaled by the gain of the RMSNorm before them, so the
   *     layer normalises its input without a gain ({@link #unitRms})
   * @param fusedWrite GATED: the projections carry W_write's H columns
   * @param gate (H, 1, 1) sigmoid(beta)
   * @param oneMinusGate (H, 1, 1) 1 - sigmoid(beta)
   * @param gatedGain (H, 1, V) gain of the NORMALIZED read times sigmoid(beta)
   * @param conv the short convolution's taps, lag 0 first, each (1, 2HK + HV); or null
   * @param convKv the taps' K and V columns, each (1, HK + HV); or null
   * @param writeBias (H) b_write as values (GATED), or null
   * @param writeTopK {@link ModelConfig#writeTopK}
   * @param writeGate {@link ModelConfig#writeGate}
   */
  record PreparedLayer(
      Weights.Layer w,
      NDArray wide,
      NDArray kvw,
      NDArray w1,
      boolean fusedWrite,
      NDArray gate,
      NDArray oneMinusGate,
      NDArray gatedGain,
      NDList conv,
      NDList convKv,
      float[] writeBias,
      int writeTopK,
      WriteGate writeGate) {
    static PreparedLayer of(ModelConfig c, Weights.Layer w, NDManager m) {
      boolean conv = w.conv() != null;
      boolean fused = c.updateRule() == UpdateRule.GATED;
      NDList cols = new NDList(local(m, w.wq()), w.wk(), w.wv());
      NDList kvCols = new NDList(local(m, w.wk()), w.wv());
      if (fused) {
        cols.add(w.write());
        kvCols.add(w.write());
      }
      NDArray attnGain = w.attnNorm().reshape(c.dModel(), 1); // rows of the projections
      NDArray wide = NDArrays.concat(cols, 1).mul(attnGain);
      NDArray kv = NDArrays.concat(kvCols, 1).mul(attnGain);
      NDArray w1 = local(m, w.w1()).mul(w.ffnNorm().reshape(c.dModel(), 1));
      NDArray g = Activation.sigmoid(local(m, w.gate()).reshape(c.heads(), 1, 1));
      NDArray gain = local(m, w.memNorm()).reshape(c.heads(), 1, c.dValue()).mul(g);
      NDList taps = conv ? local(m, w.conv()).split(c.shortConv(), 0) : null;
      NDList kvTaps = null;
      if (conv) {
        kvTaps = new NDList();
        NDIndex kvColumns = new NDIndex(":, {}:", (long) c.heads() * c.dKey());
        for (NDArray tap : taps) {
          kvTaps.add(tap.get(kvColumns));
        }
      }
      return new PreparedLayer(
          w,
          wide,
          kv,
          w1,
          fused,
          g,
          g.neg().add(1f),
          gain,
          taps,
          kvTaps,
          fused ? w.writeBias().toFloatArray() : null,
          c.writeTopK(),
          c.writeGate());
    }

    /** [W_Q W_K W_V] (with W_write if fused). */
    NDArray wqkv() {
      return wide;
    }
  }

  /**
   * Per-call constants: every layer's {@link PreparedLayer}, the full window's RoPE tables and
   * mask, the first row {@link #compress} needs of the last layer's input ({@code trimFrom} = C -
   * (MAX_SHORT_CONV - 1), at least 0) and the mask's rows from there and from C, and small
   * constants, all in the manager given to {@link #of}; and as Java values the embedding (W, D) and
   * each of its rows normalised without a gain ({@link #unitRms}), the first layer's input of each
   * token. Reuse one across the segments of a call.
   */
  record Prepared(
      Weights weights,
      List<PreparedLayer> layers,
      Rope fullRope,
      NDArray fullMask,
      int trimFrom,
      NDArray trimMask,
      NDArray ownMask,
      NDArray normEps,
      NDArray memEps,
      NDArray readEps,
      NDArray one,
      NDArray eyeKey,
      NDArray eyeBlock,
      NDArray strictLower,
      float[] embedRows,
      float[] unitEmbed) {
    static Prepared of(Weights w, NDManager m) {
      ModelConfig c = w.config();
      List<PreparedLayer> layers = new ArrayList<>();
      for (Weights.Layer l : w.layers()) {
        layers.add(PreparedLayer.of(c, l, m));
      }
      int window = c.overlap() + c.segmentLength();
      int trim = Math.max(0, c.overlap() - (ModelConfig.MAX_SHORT_CONV - 1));
      return new Prepared(
          w,
          layers,
          Rope.of(m, c, 0, window),
          causalMask(m, 0, window),
          trim,
          causalMaskRows(m, 0, window, trim),
          causalMaskRows(m, 0, window, c.overlap()),
          m.full(new Shape(), NORM_EPS),
          m.full(new Shape(), MEMORY_EPS),
          m.full(new Shape(), c.readEps()),
          m.full(new Shape(), 1f),
          m.eye(c.dKey()),
          m.eye(BLOCK),
          InfiniTransformer.strictLower(m, BLOCK),
          w.embed().toFloatArray(),
          unitRms(local(m, w.embed()), m.full(new Shape(), NORM_EPS)).toFloatArray());
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

    /** Rows {@code from..} of (B, T, F). */
    NDIndex rowsFrom(long from) {
      return index(ROWS, from, ":, {}:, :");
    }

    /** Rows {@code from..} of (B, H, T, F). */
    NDIndex headRowsFrom(long from) {
      return index(HEAD_ROWS, from, ":, :, {}:, :");
    }

    /** Rows {@code from..} of {@link #mask}: (T - from, P+T). */
    NDArray maskRows(NDManager m, int past, int t, int from) {
      return past == 0 && t == window() && from == config().overlap()
          ? ownMask
          : causalMaskRows(m, past, t, from);
    }

    /** Rows {@code ..to-1} of (B, T, F). */
    NDIndex rowsTo(long to) {
      return index(ROWS_TO, to, ":, :{}, :");
    }

    /** Columns {@code from..} of (B, T, F). */
    NDIndex columnsFrom(long from) {
      return index(COLUMNS, from, ":, :, {}:");
    }

    /** Columns {@code ..to-1} of (B, T, F). */
    NDIndex columnsTo(long to) {
      return index(COLUMNS_TO, to, ":, :, :{}");
    }

    private static final Map<Long, NDIndex> COLUMNS_TO = new ConcurrentHashMap<>();
    private static final Map<Long, NDIndex> ROWS = new ConcurrentHashMap<>();
    private static final Map<Long, NDIndex> ROWS_TO = new ConcurrentHashMap<>();
    private static final Map<Long, NDIndex> HEAD_ROWS = new ConcurrentHashMap<>();
    private static final Map<Long, NDIndex> COLUMNS = new ConcurrentHashMap<>();

    private static NDIndex index(Map<Long, NDIndex> cache, long from, String pattern) {
      return cache.computeIfAbsent(from, f -> new NDIndex(pattern, f));
    }
  }

  /**
   * Rotary position embedding for positions {@code start .. start+T-1} within a window (the C
   * context tokens, then the segment), rotate-half pairing (dimension i with i + K/2), theta_i =
   * base^(-2i/K): rope(x) = x * cos + rotateHalf(x) * sin, where rotateHalf(x) = [-x2, x1] =
   * swapHalves(x) * [-1 .. -1, 1 .. 1]. The tables come in pairs for [queries, keys] of (B, 2H, T,
   * K), the queries' scaled by 1/sqrt(K), the attention's scale.
   *
   * @param cos (2, 1, T, K) cos(pos * theta_{i mod K/2}), times 1/sqrt(K) in the first
   * @param sin (2, 1, T, K) the signed sin(pos * theta_{i mod K/2}), times 1/sqrt(K) in the first
   */
  public record Rope(NDArray cos, NDArray sin) {
    private static final Map<String, float[][]> TABLES = new ConcurrentHashMap<>();

    public static Rope of(NDManager m, ModelConfig c, int start, int t) {
      int dk = c.dKey();
      float[][] full =
          TABLES.computeIfAbsent(
              dk + "/" + c.ropeBase() + "/" + (c.overlap() + c.segmentLength()), key -> tables(c));
      int window = c.overlap() + c.segmentLength();
      float[] cos = new float[2 * t * dk];
      float[] sin = new float[2 * t * dk];
      for (int which = 0; which < 2; which++) { // 0: queries (scaled), 1: keys
        int src = which * window * dk + start * dk;
        System.arraycopy(full[0], src, cos, which * t * dk, t * dk);
        System.arraycopy(full[1], src, sin, which * t * dk, t * dk);
      }
      return new Rope(m.create(cos, new Shape(2, 1, t, dk)), m.create(sin, new Shape(2, 1, t, dk)));
    }

    /**
     * cos and signed sin for positions 0..C+N-1 as flat (2, C+N, K) arrays, computed in double:
     * first the queries' (times 1/sqrt(K)), then the keys'.
     */
    static float[][] tables(ModelConfig c) {
      int dk = c.dKey();
      int half = dk / 2;
      int n = c.overlap() + c.segmentLength();
      double scale = 1 / Math.sqrt(dk);
      float[] cos = new float[2 * n * dk];
      float[] sin = new float[2 * n * dk];
      for (int p = 0; p < n; p++) {
        for (int i = 0; i < dk; i++) {
          double angle = p * Math.pow(c.ropeBase(), -2.0 * (i % half) / dk);
          double sign = i < half ? -1 : 1; // rotateHalf(x)_i = -x_{i+K/2}, then x_{i-K/2}
          cos[p * dk + i] = (float) (Math.cos(angle) * scale);
          sin[p * dk + i] = (float) (sign * Math.sin(angle) * scale);
          cos[(n + p) * dk + i] = (float) Math.cos(angle);
          sin[(n + p) * dk + i] = (float) (sign * Math.sin(angle));
        }
      }
      return new float[][] {cos, sin};
    }

    /** qk (B, 2H, T, K), queries then keys -> (B, 2H, T, K). */
    public NDArray apply(NDArray qk) {
      Shape s = qk.getShape();
      long b = s.get(0);
      long nh = s.get(1) / 2;
      long t = s.get(2);
      long k = s.get(3);
      NDArray x = qk.reshape(b, 2, nh, t, k);
      NDArray swapped = x.reshape(b, 2, nh, t, 2, k / 2).flip(4).reshape(b, 2, nh, t, k);
      return x.mul(cos).add(swapped.mul(sin)).reshape(b, 2 * nh, t, k);
    }
  }
}
