package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.infinistreams.model.InfiniTransformer.KvCache;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.Output;
import io.infinistreams.model.InfiniTransformer.Prepared;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Infini-Transformer as the streaming layer sees it: immutable weights plus pure step functions
 * {@code (weights, state, input) -> (state', output)}. State goes in and out as plain values
 * ({@link StreamState}, {@link HeadMemory}); no NDArray outlives a call.
 *
 * <p>Thread-safe: no mutable fields; any number of threads may call {@link #absorb} and {@link
 * #generate} at once (one libtorch thread each: OMP_NUM_THREADS=1). Each call opens its own
 * sub-manager of the weights' manager and closes it before returning; a long loop over many
 * segments scopes each segment again, so native memory does not grow with the input.
 *
 * <p>Lifecycle: {@link #create} (random weights), {@link #load} (a checkpoint directory) or {@link
 * #loadDefault()}; use; {@link #close()} frees the weights (models made by {@link #fromWeights} own
 * nothing).
 *
 * <p>Segments: the open segment holds 1..N tokens. A full segment is compressed into memory (read +
 * local attention + write, one forward of exactly N tokens, batch 1) when the token after it
 * arrives, so the position that predicts every token is always in the state, and the memory after
 * any sequence of calls depends only on the concatenated tokens, never on how they were split:
 * every compression runs the same code on the same shapes and the same values. With an overlap C >
 * 0 every forward without a KV cache starts with the C tokens before its segment (the state's
 * context), see {@link InfiniTransformer}.
 */
public final class InfiniModel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InfiniModel.class);

  /** Classpath folder of the shipped checkpoint ({@link Checkpoint} layout). */
  public static final String DEFAULT_RESOURCE = "/io/infinistreams/model/default/";

  /** Seed of the random fallback used by {@link #loadDefault()} when no checkpoint is shipped. */
  public static final long DEFAULT_SEED = 2404_07143L;

  private final NDManager manager; // parent of every call's sub-manager; owns the weights if owner
  private final Weights weights;
  private final String fingerprint;
  private final boolean owner;
  // What every call derives from the weights (fused projections, gates, full-window RoPE and
  // mask), made once for a model that owns its weights; null for fromWeights, whose weights may
  // change between models, so each call derives its own.
  private final Prepared prepared;

  private InfiniModel(NDManager manager, Weights weights, String fingerprint, boolean owner) {
    this.manager = manager;
    this.weights = weights;
    this.fingerprint = fingerprint;
    this.owner = owner;
    this.prepared = owner ? Prepared.of(weights, manager) : null;
  }

  /** A model with weights drawn from {@code seed} (deterministic, see {@link Weights#init}). */
  public static InfiniModel create(ModelConfig config, long seed) {
    NDManager m = NDManager.newBaseManager();
    try {
      Weights w = Weights.init(config, seed, m);
      return new InfiniModel(m, w, w.fingerprint(), true);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /** Loads a checkpoint directory written by {@link #save} (or {@link Checkpoint#save}). */
  public static InfiniModel load(Path checkpointDir) {
    NDManager m = NDManager.newBaseManager();
    try {
      Weights w = Checkpoint.load(checkpointDir, m).weights();
      return new InfiniModel(m, w, w.fingerprint(), true);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /**
   * The project's default model: the checkpoint shipped on the classpath under {@link
   * #DEFAULT_RESOURCE} if there is one; otherwise (until trained weights ship) <b>random, untrained
   * weights</b> {@code create(ModelConfig.defaults(), DEFAULT_SEED)}, with a warning in the log.
   * Check {@link #isTrainedDefaultAvailable()} to tell which.
   */
  public static InfiniModel loadDefault() {
    NDManager m = NDManager.newBaseManager();
    try {
      Checkpoint.Loaded loaded = Checkpoint.loadResource(DEFAULT_RESOURCE, m);
      if (loaded != null) {
        LOG.info(
            "Loaded the default checkpoint classpath:{} ({}), fingerprint {}",
            DEFAULT_RESOURCE,
            loaded.config(),
            loaded.weights().fingerprint());
        return new InfiniModel(m, loaded.weights(), loaded.weights().fingerprint(), true);
      }
      LOG.warn(
          "No checkpoint at classpath:{}; using RANDOM UNTRAINED weights "
              + "(ModelConfig.defaults(), seed {})",
          DEFAULT_RESOURCE,
          DEFAULT_SEED);
      Weights w = Weights.init(ModelConfig.defaults(), DEFAULT_SEED, m);
      return new InfiniModel(m, w, w.fingerprint(), true);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /** True if a trained checkpoint is on the classpath for {@link #loadDefault()}. */
  public static boolean isTrainedDefaultAvailable() {
    return InfiniModel.class.getResource(DEFAULT_RESOURCE + Checkpoint.MANIFEST_FILE) != null;
  }

  /**
   * A model over weights someone else owns (e.g. a training loop evaluating as it goes). It does
   * not close them; calls run in sub-managers of the weights' manager. The fingerprint is computed
   * here: make a new one after the weights change.
   */
  public static InfiniModel fromWeights(Weights weights) {
    return new InfiniModel(weights.embed().getManager(), weights, weights.fingerprint(), false);
  }

  /**
   * A model that takes over {@code weights} and the manager they live in: closing the model closes
   * that manager (for weights read by another path than {@link #load}, e.g. a training checkpoint).
   */
  public static InfiniModel owning(Weights weights) {
    return new InfiniModel(weights.embed().getManager(), weights, weights.fingerprint(), true);
  }

  /** Writes {@code model.safetensors} and {@code manifest.json} into {@code checkpointDir}. */
  public void save(Path checkpointDir, String howMade) {
    Checkpoint.save(weights, checkpointDir, howMade);
  }

  public ModelConfig config() {
    return weights.config();
  }

  /** The weights (shared, immutable; owned by this model unless made by {@link #fromWeights}). */
  public Weights weights() {
    return weights;
  }

  /**
   * SHA-256 (hex) of configuration and weights ({@link Weights#fingerprint}): identifies the model
   * that wrote a memory.
   */
  public String fingerprint() {
    return fingerprint;
  }

  /** The state of a new stream. */
  public StreamState newState() {
    return StreamState.initial(config());
  }

  /**
   * Appends {@code tokens} to the stream's context. Every full segment followed by at least one
   * more token is compressed (memory read, local attention, memory write); the rest stays open.
   *
   * @param score also return each new token's natural-log probability given everything before it
   *     (its predicting position is the one before it, possibly in a segment compressed by this
   *     call; costs the LM head and one read-only forward over the open remainder). A token whose
   *     predicting position is gone (only possible for a hand-built state with an empty open
   *     segment) scores NaN.
   */
  public AbsorbResult absorb(StreamState state, int[] tokens, boolean score) {
    return absorb(state, tokens, score, null);
  }

  /**
   * {@link #absorb(StreamState, int[], boolean)}, scoring through {@code cache}: if it describes
   * {@code state}, the new tokens of the open segment are scored from it (O(new tokens) work
   * instead of the whole open segment, and no scoring pass over the segment this call completes). A
   * scoring call leaves the cache describing the returned state; a call without scores empties it.
   * The state returned does not depend on the cache; scores agree with those of an uncached call to
   * float rounding.
   *
   * @param cache made by {@link #newOpenSegmentCache()} of this model, or null
   * @throws IllegalArgumentException if {@code cache} was made by another model
   */
  public AbsorbResult absorb(
      StreamState state, int[] tokens, boolean score, OpenSegmentCache cache) {
    checkState(state);
    checkTokens(tokens);
    if (cache != null && !cache.madeBy(this)) {
      throw new IllegalArgumentException("the open-segment cache was made by another model");
    }
    if (tokens.length == 0) {
      return new AbsorbResult(state, score ? new float[0] : null, 0);
    }
    int n = config().segmentLength();
    int c = config().overlap();
    int[] open = state.openTokens();
    int[] all = concat(open, tokens);
    int[] seq = concat(state.contextTokens(), all); // seq[c + i] = all[i]
    int segments = (all.length - 1) / n; // full segments with a successor
    int rest = segments * n;
    boolean keep = score && cache != null; // leave the cache describing the new state
    boolean matches = keep && cache.matches(state);
    boolean hit = matches && segments == 0;
    float[] logProbs = score ? new float[tokens.length] : null;
    if (score) {
      Arrays.fill(logProbs, Float.NaN);
    }
    List<HeadMemory> memories = state.memories();
    KvCache openKv = null;
    float[] next = null;
    try (NDManager call = manager.newSubManager()) {
      Prepared p = segments > 0 || score ? prepared(call) : null;
      List<Memory> mem = segments > 0 || score ? toNd(call, memories) : null;
      if (matches) {
        // The new tokens of the open segment, from the cache: its next row predicts the first,
        // each new row the one after it. Without a compression they become the new open cache;
        // with one, the segment they complete needs no scoring pass of its own.
        logProbs[0] = cache.next()[tokens[0]];
        int inOpen = segments == 0 ? tokens.length : n - open.length;
        if (inOpen > 0) {
          int[] first = Arrays.copyOf(tokens, inOpen);
          Output out =
              InfiniTransformer.forward(
                  p, tokens(call, first), mem, cache.kv(), Options.readOnly());
          float[][] rows = logSoftmax(out.logits());
          scoreRows(rows, all, open.length, open.length, logProbs);
          if (hit) {
            openKv = out.cache();
            next = rows[rows.length - 1];
          }
        }
      }
      int heads = config().heads();
      double[] strengthSums = null; // (L*H) over the segments, when the write reports strengths
      for (int s = 0; s < segments; s++) {
        int from = s * n;
        boolean scoreThis = score && !(s == 0 && matches);
        try (NDManager work = call.newSubManager()) {
          mem.forEach(x -> x.attach(work)); // the previous memory dies with this segment's scope
          Output out =
              compress(p, work, Arrays.copyOfRange(seq, from, from + c + n), mem, scoreThis);
          if (scoreThis) {
            scoreRows(logSoftmax(out.logits()), all, from, open.length, logProbs);
          }
          mem = out.memories();
          mem.forEach(x -> x.attach(call));
        }
        for (int l = 0; l < mem.size(); l++) {
          float[] st = mem.get(l).strengths();
          if (st != null) {
            strengthSums = strengthSums == null ? new double[mem.size() * heads] : strengthSums;
            for (int h = 0; h < heads; h++) {
              strengthSums[l * heads + h] += st[h];
            }
          }
        }
      }
      if (score && !hit) {
        // Positions rest .. all.length-1 (the open remainder) predict new tokens still in it; the
        // last one predicts what comes next, needed only to keep the cache.
        int firstPos = Math.max(rest, open.length - 1);
        int end = keep ? all.length : all.length - 1;
        if (keep || firstPos <= all.length - 2) {
          int[] window = Arrays.copyOfRange(seq, rest, c + end); // context + open remainder
          Output out =
              InfiniTransformer.forward(p, tokens(call, window), mem, null, Options.readOnly());
          float[][] rows = logSoftmax(out.logits());
          scoreRows(rows, all, rest, open.length, logProbs);
          openKv = out.cache();
          next = rows[rows.length - 1];
        }
      }
      if (segments > 0) {
        memories = fromNd(mem, state.memories(), segments);
      }
      StreamState result =
          state.with(
              memories,
              Arrays.copyOfRange(seq, rest, rest + c),
              Arrays.copyOfRange(all, rest, all.length),
              state.tokensAbsorbed() + tokens.length,
              state.segmentsAbsorbed() + segments);
      if (keep) {
        if (matches) {
          cache.hit();
        } else {
          cache.miss();
        }
        cache.update(manager, openKv, next, result);
      } else if (cache != null) {
        cache.miss();
        cache.clear();
      }
      float[] writeStrengths = null;
      if (strengthSums != null) {
        writeStrengths = new float[strengthSums.length];
        for (int i = 0; i < writeStrengths.length; i++) {
          writeStrengths[i] = (float) (strengthSums[i] / segments);
        }
      }
      return new AbsorbResult(result, logProbs, segments, writeStrengths);
    }
  }

  /** An empty {@link OpenSegmentCache} for this model's {@link #absorb} calls. */
  public OpenSegmentCache newOpenSegmentCache() {
    return new OpenSegmentCache(this);
  }

  /**
   * {@link #absorb} (without scores) of many independent streams at once: their full segments are
   * compressed in lockstep, one batched forward per round, so that many long streams cost far less
   * than one after another (the passkey evaluation's trials). Each result is what {@code
   * absorb(states.get(i), tokens.get(i), false).state()} returns; {@code InfiniModelTest} checks
   * that they are bit-identical.
   */
  public List<StreamState> absorbAll(List<StreamState> states, List<int[]> tokens) {
    if (states.size() != tokens.size()) {
      throw new IllegalArgumentException(
          states.size() + " states but " + tokens.size() + " token arrays");
    }
    int n = config().segmentLength();
    int c = config().overlap();
    int count = states.size();
    int[][] all = new int[count][]; // context, open tokens, new tokens
    int[] segments = new int[count];
    Integer[] order = new Integer[count];
    for (int i = 0; i < count; i++) {
      checkState(states.get(i));
      checkTokens(tokens.get(i));
      all[i] =
          concat(states.get(i).contextTokens(), concat(states.get(i).openTokens(), tokens.get(i)));
      segments[i] = all[i].length == c ? 0 : (all[i].length - c - 1) / n;
      order[i] = i;
    }
    // Most segments first: the streams still running in round r are always a prefix.
    Arrays.sort(order, (a, b) -> Integer.compare(segments[b], segments[a]));
    List<List<HeadMemory>> memories = new ArrayList<>();
    for (StreamState s : states) {
      memories.add(s.memories());
    }
    int rounds = count == 0 ? 0 : segments[order[0]];
    if (rounds > 0) {
      try (NDManager call = manager.newSubManager()) {
        Prepared p = prepared(call);
        int active = 0;
        while (active < count && segments[order[active]] > 0) {
          active++;
        }
        List<Memory> mem = stack(call, order, active, memories);
        for (int r = 0; r < rounds; r++) {
          int w = c + n;
          long[] ids = new long[active * w];
          for (int j = 0; j < active; j++) {
            int[] src = all[order[j]];
            for (int t = 0; t < w; t++) {
              ids[j * w + t] = src[r * n + t];
            }
          }
          try (NDManager work = call.newSubManager()) {
            mem.forEach(x -> x.attach(work));
            List<Memory> written =
                InfiniTransformer.compress(p, work.create(ids, new Shape(active, w)), mem);
            int still = active;
            while (still > 0 && segments[order[still - 1]] == r + 1) {
              still--; // these streams wrote their last full segment in this round
            }
            for (int j = still; j < active; j++) {
              int i = order[j];
              memories.set(i, unstack(written, j, states.get(i).memories(), segments[i]));
            }
            List<Memory> kept = new ArrayList<>();
            for (Memory x : written) {
              Memory k =
                  still == active
                      ? x
                      : new Memory(
                          x.m().get(new NDIndex("0:{}", still)),
                          x.z().get(new NDIndex("0:{}", still)));
              k.attach(call);
              kept.add(k);
            }
            mem = kept;
            active = still;
          }
        }
      }
    }
    List<StreamState> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      StreamState s = states.get(i);
      int rest = segments[i] * n;
      out.add(
          s.with(
              memories.get(i),
              Arrays.copyOfRange(all[i], rest, rest + c),
              Arrays.copyOfRange(all[i], rest + c, all[i].length),
              s.tokensAbsorbed() + tokens.get(i).length,
              s.segmentsAbsorbed() + segments[i]));
    }
    return out;
  }

  /** Per layer: M (B, H, K, V) and z (B, H, K) of streams {@code order[0..b)}. */
  private List<Memory> stack(NDManager m, Integer[] order, int b, List<List<HeadMemory>> memories) {
    List<List<Memory>> rows = new ArrayList<>();
    for (int j = 0; j < b; j++) {
      rows.add(toNd(m, memories.get(order[j])));
    }
    List<Memory> out = new ArrayList<>();
    for (int l = 0; l < config().layers(); l++) {
      NDList ms = new NDList();
      NDList zs = new NDList();
      for (List<Memory> row : rows) {
        ms.add(row.get(l).m());
        zs.add(row.get(l).z());
      }
      out.add(new Memory(NDArrays.concat(ms, 0), NDArrays.concat(zs, 0)));
    }
    return out;
  }

  /** Row {@code j} of batched memories as plain values, {@code written} more updates each. */
  private List<HeadMemory> unstack(List<Memory> mem, int j, List<HeadMemory> before, int written) {
    List<Memory> row = new ArrayList<>();
    for (Memory x : mem) {
      row.add(
          new Memory(
              x.m().get(new NDIndex("{}:{}", j, j + 1)),
              x.z().get(new NDIndex("{}:{}", j, j + 1))));
    }
    return fromNd(row, before, written);
  }

  /**
   * Appends {@code prompt} (as {@link #absorb} would), then decodes up to {@code
   * settings.maxNewTokens()} tokens, reading memory and attending over the open segment through a
   * KV cache. Each generated token joins the context; when the open segment is full and a token
   * follows, the segment is compressed by exactly the code {@link #absorb} uses, so the memory
   * equals that of absorbing prompt + generated tokens.
   *
   * @throws IllegalArgumentException if the context is empty (nothing to predict from)
   */
  public GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings) {
    AbsorbResult absorbed = absorb(state, prompt, false);
    StreamState s = absorbed.state();
    int max = settings.maxNewTokens();
    if (max == 0) {
      return new GenerateResult(s, new int[0], absorbed.segmentsCompressed());
    }
    if (s.openLength() == 0) {
      throw new IllegalArgumentException("nothing to generate from: the open segment is empty");
    }
    int n = config().segmentLength();
    int c = config().overlap();
    int[] context = s.contextTokens();
    int[] open = Arrays.copyOf(s.openTokens(), n);
    int openLen = s.openLength();
    int[] generated = new int[max];
    int count = 0;
    int segments = 0;
    SplittableRandom rng = new SplittableRandom(settings.seed());
    List<HeadMemory> memories = s.memories();
    try (NDManager call = manager.newSubManager()) {
      Prepared p = prepared(call);
      NDManager carry = call.newSubManager(); // holds what survives a step: memory, KV cache
      try {
        List<Memory> mem = toNd(carry, memories);
        // Prefill: the open segment, reading memory, filling the KV cache.
        Output pre =
            InfiniTransformer.forward(
                p,
                tokens(carry, concat(context, Arrays.copyOf(open, openLen))),
                mem,
                null,
                Options.readOnly());
        float[] logits = lastRow(pre.logits());
        KvCache cache = pre.cache();
        while (true) {
          int tok = pick(logits, settings.temperature(), rng);
          generated[count++] = tok;
          boolean done = count == max || (settings.stopAtEos() && tok == ByteTokenizer.EOS);
          NDManager next = call.newSubManager();
          try (NDManager work = call.newSubManager()) {
            if (openLen
                == n) { // the full open segment has a successor: compress it, as absorb does
              mem = compress(p, work, concat(context, open), mem, false).memories();
              context = Arrays.copyOfRange(open, n - c, n);
              segments++;
              openLen = 0;
              cache = null;
            }
            open[openLen++] = tok;
            if (!done) { // a new segment's first token comes with its context
              int[] in = cache == null ? concat(context, new int[] {tok}) : new int[] {tok};
              Output step =
                  InfiniTransformer.forward(p, tokens(work, in), mem, cache, Options.readOnly());
              logits = lastRow(step.logits());
              cache = step.cache().attach(next);
            }
            mem.forEach(x -> x.attach(next));
          }
          carry.close();
          carry = next;
          if (done) {
            break;
          }
        }
        if (segments > 0) {
          memories = fromNd(mem, s.memories(), segments);
        }
      } finally {
        carry.close();
      }
    }
    StreamState out =
        s.with(
            memories,
            context,
            Arrays.copyOf(open, openLen),
            s.tokensAbsorbed() + count,
            s.segmentsAbsorbed() + segments);
    return new GenerateResult(
        out, Arrays.copyOf(generated, count), absorbed.segmentsCompressed() + segments);
  }

  /** Closes the weights' native memory if this model owns them. */
  @Override
  public void close() {
    if (owner) {
      manager.close();
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  /** The model's prepared constants, or (models over borrowed weights) ones made in {@code m}. */
  private Prepared prepared(NDManager m) {
    return prepared != null ? prepared : Prepared.of(weights, m);
  }

  /**
   * Compresses one full segment after its C context tokens: the only code path that writes memory.
   */
  private Output compress(
      Prepared p, NDManager m, int[] segment, List<Memory> mem, boolean logits) {
    NDArray ids = tokens(m, segment);
    // With scores, the memories still come from the very operations of a call without them, so a
    // stream's memory does not depend on which calls scored it.
    return logits
        ? InfiniTransformer.compressScored(p, ids, mem)
        : new Output(null, InfiniTransformer.compress(p, ids, mem), null, null);
  }

  private static NDArray tokens(NDManager m, int[] ids) {
    long[] longs = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      longs[i] = ids[i];
    }
    return m.create(longs, new Shape(1, ids.length));
  }

  /** Log-softmax over the vocabulary of logits (1, T, W), as T rows. */
  private static float[][] logSoftmax(NDArray logits) {
    int t = Math.toIntExact(logits.getShape().get(1));
    int w = Math.toIntExact(logits.getShape().get(2));
    float[] lp = logits.logSoftmax(2).toFloatArray();
    float[][] rows = new float[t][];
    for (int row = 0; row < t; row++) {
      rows[row] = Arrays.copyOfRange(lp, row * w, (row + 1) * w);
    }
    return rows;
  }

  /**
   * Writes log p(all[p+1] | ..p) for the rows p = from .. from+T-1 of {@code rows} that predict new
   * tokens (those at openLen and after).
   */
  private static void scoreRows(float[][] rows, int[] all, int from, int openLen, float[] out) {
    for (int row = 0; row < rows.length; row++) {
      int target = from + row + 1;
      if (target >= openLen && target < all.length) {
        out[target - openLen] = rows[row][all[target]];
      }
    }
  }

  private static float[] lastRow(NDArray logits) {
    long t = logits.getShape().get(1);
    return logits.get(0, t - 1).toFloatArray();
  }

  /** Argmax at temperature 0 (lowest id on ties), else a draw from softmax(logits / T). */
  static int pick(float[] logits, float temperature, SplittableRandom rng) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
        best = i;
      }
    }
    if (temperature == 0f) {
      return best;
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      p[i] = Math.exp((logits[i] - logits[best]) / (double) temperature);
      sum += p[i];
    }
    double u = rng.nextDouble() * sum;
    for (int i = 0; i < p.length; i++) {
      u -= p[i];
      if (u < 0) {
        return i;
      }
    }
    return best;
  }

  /** Per layer: M (1, H, K, V) and z (1, H, K) from the state's (layer, head) memories. */
  private List<Memory> toNd(NDManager m, List<HeadMemory> memories) {
    ModelConfig c = config();
    int kv = c.dKey() * c.dValue();
    List<Memory> out = new ArrayList<>();
    for (int l = 0; l < c.layers(); l++) {
      float[] mm = new float[c.heads() * kv];
      float[] zz = new float[c.heads() * c.dKey()];
      for (int h = 0; h < c.heads(); h++) {
        HeadMemory hm = memories.get(l * c.heads() + h);
        System.arraycopy(hm.m(), 0, mm, h * kv, kv);
        System.arraycopy(hm.z(), 0, zz, h * c.dKey(), c.dKey());
      }
      out.add(
          new Memory(
              m.create(mm, new Shape(1, c.heads(), c.dKey(), c.dValue())),
              m.create(zz, new Shape(1, c.heads(), c.dKey()))));
    }
    return out;
  }

  /** Back to plain values; each head's update count grows by {@code written} segments. */
  private List<HeadMemory> fromNd(List<Memory> mem, List<HeadMemory> before, int written) {
    ModelConfig c = config();
    int kv = c.dKey() * c.dValue();
    List<HeadMemory> out = new ArrayList<>();
    for (int l = 0; l < c.layers(); l++) {
      float[] mm = mem.get(l).m().toFloatArray();
      float[] zz = mem.get(l).z().toFloatArray();
      for (int h = 0; h < c.heads(); h++) {
        HeadMemory old = before.get(l * c.heads() + h);
        out.add(
            new HeadMemory(
                c.dKey(),
                c.dValue(),
                Arrays.copyOfRange(mm, h * kv, (h + 1) * kv),
                Arrays.copyOfRange(zz, h * c.dKey(), (h + 1) * c.dKey()),
                old.updates() + written));
      }
    }
    return out;
  }

  private void checkState(StreamState state) {
    ModelConfig c = config();
    if (state.layers() != c.layers()
        || state.heads() != c.heads()
        || state.memory(0, 0).dKey() != c.dKey()
        || state.memory(0, 0).dValue() != c.dValue()) {
      throw new IllegalArgumentException("state " + state + " does not fit " + c);
    }
  }

  private void checkTokens(int[] tokens) {
    for (int t : tokens) {
      if (t < 0 || t >= config().vocabSize()) {
        throw new IllegalArgumentException(
            "token " + t + " outside vocabulary of " + config().vocabSize());
      }
    }
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
