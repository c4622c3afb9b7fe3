package io.infinistreams.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniTransformer;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.Output;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Scalars;
import io.infinistreams.model.Weights;
import io.infinistreams.tasks.PasskeyDocument;
import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.TaskMix;
import io.infinistreams.tasks.prose.ProseSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The training loop's state and one step of it: a batch of S-segment sequences runs through {@link
 * InfiniTransformer#forward} segment after segment with the memories chained inside the autograd
 * graph (backpropagation through all S segments), a weighted next-token loss, a global
 * gradient-norm clip, and an {@link AdamW} update on the warm-up + cosine schedule.
 *
 * <p>Shapes: B batch, S segments, N segment length, C overlap (context tokens before each segment),
 * W vocabulary. The token rows hold C context tokens and then the S segments, so segment s (with
 * its context) is columns s*N .. s*N + C + N; targets and weights are not padded.
 *
 * <p>The memoryless twin ({@link TrainConfig#noMemory}) trains weights whose output gates are fixed
 * at {@link Weights#LOCAL_GATE_LOGIT} ({@link Weights#withMemoryOff()}, applied once when the
 * trainer is built): every head's output is its local branch alone, and the gates are not among the
 * parameters the optimizer updates.
 *
 * <p>Lifecycle: {@link #fresh} or {@link TrainCheckpoint#resume}, then {@link #step()} repeatedly
 * on one thread (one GradientCollector per JVM), then {@link #close()}.
 */
public final class Trainer implements AutoCloseable {

  private final TrainConfig config;
  private final TaskMix mix;
  private final NDManager base;
  private final Weights weights;
  private final List<NDArray> params;
  private final List<String> names;
  private final AdamW optimizer;
  private final LrSchedule schedule;
  private long skipped; // updates skipped for a non-finite gradient (in this process)

  /** A gradient norm this many times the clip is reported with the parameters that carry it. */
  static final float STEEP_GRADIENT = 100f;

  /** Steps between two reports of a steep gradient (the first is always reported). */
  static final long STEEP_REPORT_EVERY = 50;

  private long lastSteepReport = -STEEP_REPORT_EVERY; // step of the last report (this process)
  // Runs just before each backward pass; tests collect garbage here (see Scalars)
  private Runnable beforeBackward = () -> {};
  // TrainConfig#warmFiller and #warmProse: [level][layer] M (H*K*V) and z (H*K) of one stream,
  // on the host; null until first computed
  private float[][][] warmM;
  private float[][][] warmZ;
  private int[][] warmContexts; // [level - 1]: the last C tokens of that warm stream
  private ProseSource warmText; // TrainConfig#warmProse: the corpus's prose, read when first used
  private long step; // next step to run (0-based) == steps done == the data stream's position

  Trainer(TrainConfig config, TaskMix mix, NDManager base, Weights weights, long step) {
    this.config = config;
    this.mix = mix;
    this.base = base;
    this.weights = config.noMemory() ? weights.withMemoryOff() : weights;
    this.params = new ArrayList<>();
    this.names = new ArrayList<>();
    List<AdamW.Group> groups = new ArrayList<>();
    for (Weights.Param p : this.weights.parameters()) {
      if (config.noMemory() && isOutputGate(p.name())) {
        continue; // the twin's gates stay at LOCAL_GATE_LOGIT
      }
      p.array().setRequiresGradient(true);
      params.add(p.array());
      names.add(p.name());
      groups.add(groupOf(p.name(), config));
    }
    this.optimizer =
        new AdamW(params, groups, config.beta1(), config.beta2(), 1e-8f, base.newSubManager());
    this.schedule = new LrSchedule(config.warmup(), config.steps(), config.minLrFraction());
    this.step = step;
  }

  /** A new run: weights initialised from the config's seed. */
  public static Trainer fresh(TrainConfig config, TaskMix mix) {
    NDManager base = NDManager.newBaseManager();
    return new Trainer(config, mix, base, Weights.init(config.model(), config.seed(), base), 0);
  }

  /**
   * A new run whose weights start from {@code source} where names and shapes match ({@link
   * Weights#initFrom}), the rest from the config's seed; the optimizer starts afresh.
   *
   * @throws IllegalArgumentException if the source's shape differs from the config's, or it shares
   *     no tensor with the new model
   */
  public static Trainer fresh(TrainConfig config, TaskMix mix, Weights source) {
    NDManager base = NDManager.newBaseManager();
    try {
      return new Trainer(
          config, mix, base, Weights.initFrom(config.model(), config.seed(), source, base), 0);
    } catch (RuntimeException e) {
      base.close();
      throw e;
    }
  }

  /** True for a layer's output gate beta ({@code layers.i.attn.gate}, one scalar per head). */
  static boolean isOutputGate(String name) {
    return name.endsWith("attn.gate");
  }

  /**
   * The optimizer group of a parameter: the output gates, the GATED write biases (scalars per head)
   * and the short convolution's taps (O(1) values that start at the identity: at the base rate Adam
   * would need hundreds of steps to open a lag) get {@code lr * gateLrScale} and no decay; norms
   * and gains no decay; the matrices (embedding, projections, GATED write projection) the base rate
   * and the configured decay.
   */
  static AdamW.Group groupOf(String name, TrainConfig c) {
    if (isOutputGate(name) || name.endsWith("write_bias") || name.endsWith("conv")) {
      return new AdamW.Group(c.gateLrScale(), 0f);
    }
    if (name.endsWith("norm")) {
      return new AdamW.Group(1f, 0f);
    }
    return new AdamW.Group(1f, c.weightDecay());
  }

  public TrainConfig config() {
    return config;
  }

  public Weights weights() {
    return weights;
  }

  /** Steps done so far (also the index of the next step). */
  public long stepsDone() {
    return step;
  }

  AdamW optimizer() {
    return optimizer;
  }

  /**
   * The {@code n} parameters with the largest gradient norms, norms in doubles (a float32 sum of
   * squares overflows to Infinity from a norm of about 2e19): which path exploded.
   */
  private String largestGradients(List<NDArray> grads, int n) {
    List<Map.Entry<String, Double>> norms = new ArrayList<>();
    for (int i = 0; i < grads.size(); i++) {
      double sum = 0;
      for (float x : grads.get(i).toFloatArray()) {
        sum += (double) x * x;
      }
      norms.add(Map.entry(names.get(i), Math.sqrt(sum)));
    }
    // NaN first, then the largest
    norms.sort(
        (a, b) ->
            Double.compare(
                Double.isNaN(b.getValue()) ? Double.POSITIVE_INFINITY : b.getValue(),
                Double.isNaN(a.getValue()) ? Double.POSITIVE_INFINITY : a.getValue()));
    StringBuilder out = new StringBuilder();
    for (Map.Entry<String, Double> e : norms.subList(0, Math.min(n, norms.size()))) {
      out.append(out.length() == 0 ? "" : ", ")
          .append(e.getKey())
          .append(' ')
          .append(String.format(Locale.ROOT, "%.3g", e.getValue()));
    }
    return out.toString();
  }

  List<String> names() {
    return names;
  }

  NDManager manager() {
    return base;
  }

  /** Segments per sequence at {@code step}: a pure function of (seed, step). */
  public static int segmentsAt(TrainConfig c, long step) {
    Random r = TaskMix.rngFor(c.seed() ^ 0x5E65E6L, step);
    if (c.segmentSampling() == TrainConfig.SegmentSampling.LOG_UNIFORM) {
      double lo = Math.log(c.minSegments());
      double hi = Math.log(c.maxSegments() + 1.0);
      int s = (int) Math.floor(Math.exp(lo + r.nextDouble() * (hi - lo)));
      return Math.max(c.minSegments(), Math.min(c.maxSegments(), s)); // guards rounding
    }
    return c.minSegments() + r.nextInt(c.maxSegments() - c.minSegments() + 1);
  }

  /** Warm (forward-only) segments at {@code step}: a pure function of (seed, step). */
  public static int warmSegmentsAt(TrainConfig c, long step) {
    if (c.warmSegments() == 0) {
      return 0;
    }
    Random r = TaskMix.rngFor(c.seed() ^ 0x3A9F1L, step);
    return r.nextInt(c.warmSegments() + 1);
  }

  /**
   * The batch of {@code step}: a pure function of (seed, step). Each sequence spans the warm
   * segments and then the trained ones.
   */
  public static List<Sample> batchAt(TrainConfig c, TaskMix mix, long step) {
    return mix.batch(
        c.seed() + 1,
        step,
        c.batch(),
        warmSegmentsAt(c, step) + segmentsAt(c, step),
        c.model().segmentLength());
  }

  /**
   * Steps between recomputations of the warm states ({@link TrainConfig#warmFiller}, {@link
   * TrainConfig#warmProse}).
   */
  public static final int WARM_REFRESH_STEPS = 100;

  /** Tokens before a passkey document's filler: BOS and the intro (one token per byte). */
  static final int PASSKEY_PREFIX = 1 + PasskeyDocument.INTRO.length();

  /** Where in the filler sentence a warm stream ends: the phase that leads into a sample's own. */
  private static final int WARM_PHASE =
      Math.floorMod(-PASSKEY_PREFIX, PasskeyDocument.FILLER.length());

  /**
   * Filler tokens behind each warm state: 4K, 16K, ... (x4) up to {@code warmFiller}, each moved up
   * to the next length at which BOS + intro + filler ends on a segment boundary (so the state has
   * no open tokens) and the filler ends at the phase where a sample's replaced prefix continues it
   * seamlessly (see {@link #withFillerPrefix}).
   */
  public static int[] warmFillerLengths(TrainConfig c) {
    int n = c.model().segmentLength();
    int f = PasskeyDocument.FILLER.length();
    List<Integer> out = new ArrayList<>();
    for (long target = 4096; target <= c.warmFiller(); target *= 4) {
      int len = (int) target;
      while ((PASSKEY_PREFIX + len) % n != 0 || len % f != WARM_PHASE) {
        len++;
      }
      out.add(len);
    }
    if (c.warmFiller() > 0 && out.isEmpty()) {
      throw new IllegalArgumentException("warmFiller must be 0 or >= 4096, got " + c.warmFiller());
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Tokens behind each warm state of {@link TrainConfig#warmProse}: BOS and prose, 4K, 16K, ...
   * (x4) up to {@code warmProse}, each moved up to a segment boundary (so the state has no open
   * tokens).
   */
  public static int[] warmProseLengths(TrainConfig c) {
    int n = c.model().segmentLength();
    List<Integer> out = new ArrayList<>();
    for (long target = 4096; target <= c.warmProse(); target *= 4) {
      out.add((int) ((target + n - 1) / n * n)); // TrainConfig refuses 1..4095
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The lengths behind the warm states: of passkey filler, of prose, or none. */
  public static int[] warmLengths(TrainConfig c) {
    return c.warmFiller() > 0 ? warmFillerLengths(c) : warmProseLengths(c);
  }

  /**
   * The warm state each sequence of {@code step}'s batch starts from: 0 an empty memory, k the
   * state after {@code warmLengths(c)[k - 1]} tokens. A pure function of (seed, step).
   */
  public static int[] warmLevelsAt(TrainConfig c, long step, int batch) {
    int[] levels = new int[batch];
    int[] lengths = warmLengths(c);
    if (lengths.length > 0) {
      int choices = lengths.length + 1;
      Random r = TaskMix.rngFor(c.seed() ^ 0x7F11E5L, step);
      for (int i = 0; i < batch; i++) {
        levels[i] = r.nextInt(choices);
      }
    }
    return levels;
  }

  /**
   * A passkey sample continued after a warm state: its BOS and intro replaced by the filler that
   * leads into its own filler (phase 0), so the stream reads BOS, intro, filler, ..., needle,
   * filler, question as one document. Other samples are returned as they are (null: not a passkey
   * document, so it starts from an empty memory).
   */
  static int[] withFillerPrefix(int[] tokens) {
    if (tokens.length < PASSKEY_PREFIX || tokens[0] != ByteTokenizer.BOS) {
      return null;
    }
    int[] intro = ByteTokenizer.encode(PasskeyDocument.INTRO);
    for (int i = 0; i < intro.length; i++) {
      if (tokens[1 + i] != intro[i]) {
        return null;
      }
    }
    int[] lead = ByteTokenizer.encode(PasskeyDocument.filler(WARM_PHASE, PASSKEY_PREFIX));
    int[] out = tokens.clone();
    System.arraycopy(lead, 0, out, 0, PASSKEY_PREFIX);
    return out;
  }

  /** The token that joins a sample to the prose of a warm stream, in place of the sample's BOS. */
  static final int PROSE_JOIN = ByteTokenizer.encode("\n")[0];

  /**
   * A sample continued after a warm stream of prose: its BOS replaced by a line break, so the
   * stream reads on into the sample as into the next paragraph (null: the sample does not start
   * with BOS, so it starts from an empty memory).
   */
  static int[] withProseJoin(int[] tokens) {
    if (tokens.length == 0 || tokens[0] != ByteTokenizer.BOS) {
      return null;
    }
    int[] out = tokens.clone();
    out[0] = PROSE_JOIN;
    return out;
  }

  /**
   * The prose of the warm stream recomputed at {@code step}: {@code bytes} bytes of {@code prose}.
   */
  static String warmProse(TrainConfig c, ProseSource prose, long step, int bytes) {
    return prose.text(TaskMix.rngFor(c.seed() ^ 0x9A05EL, step), bytes);
  }

  /**
   * The stream behind the warm states: BOS, the passkey intro and filler ({@link
   * TrainConfig#warmFiller}), or BOS and a span of the corpus's training prose drawn for the step
   * of the refresh ({@link TrainConfig#warmProse}), one token per byte.
   */
  private int[] warmStream(int total) {
    int[] stream = new int[total];
    stream[0] = ByteTokenizer.BOS;
    String text;
    if (config.warmFiller() > 0) {
      text = PasskeyDocument.INTRO + PasskeyDocument.filler(0, total - PASSKEY_PREFIX);
    } else {
      if (warmText == null) {
        warmText = TaskMixes.prose(config.corpus());
      }
      text = warmProse(config, warmText, step, total - 1);
    }
    System.arraycopy(ByteTokenizer.encode(text), 0, stream, 1, total - 1);
    return stream;
  }

  /**
   * Recomputes the warm states from the current weights: one {@link #warmStream}, forward only,
   * segment by segment, its memory kept at each of {@link #warmLengths} (and, for prose, the C
   * tokens before each of those points, which a sample's first segment sees).
   */
  private void refreshWarmStates() {
    ModelConfig mc = config.model();
    int n = mc.segmentLength();
    int[] lengths = warmLengths(config);
    int prefix = config.warmFiller() > 0 ? PASSKEY_PREFIX : 0; // tokens before the lengths count
    int total = prefix + lengths[lengths.length - 1];
    int[] stream = warmStream(total);
    int c = mc.overlap();
    if (config.warmProse() > 0) {
      warmContexts = new int[lengths.length][];
      for (int k = 0; k < lengths.length; k++) {
        warmContexts[k] = Arrays.copyOfRange(stream, lengths[k] - c, lengths[k]);
      }
    }
    warmM = new float[lengths.length][mc.layers()][];
    warmZ = new float[lengths.length][mc.layers()][];
    int[] padded = withContext(startContext(0), stream); // a new stream's context: C PAD tokens
    Options o = options(true).withLogits(false);
    try (NDManager keep = base.newSubManager()) {
      List<Memory> mem = Memory.zeros(keep, mc, 1);
      int level = 0;
      for (int s = 0; s * n < total; s++) {
        try (NDManager work = keep.newSubManager()) {
          NDArray seg =
              work.create(Arrays.copyOfRange(padded, s * n, (s + 1) * n + c), new Shape(1, c + n));
          List<Memory> next = new ArrayList<>();
          for (Memory x : InfiniTransformer.forward(weights, seg, mem, o).memories()) {
            NDArray m = x.m().stopGradient(); // no graph kept across thousands of segments
            NDArray z = x.z().stopGradient();
            m.attach(keep);
            z.attach(keep);
            next.add(new Memory(m, z));
          }
          for (Memory x : mem) {
            x.m().close();
            x.z().close();
          }
          mem = next;
        }
        if ((s + 1) * n == prefix + lengths[level]) {
          for (int l = 0; l < mc.layers(); l++) {
            warmM[level][l] = mem.get(l).m().toFloatArray();
            warmZ[level][l] = mem.get(l).z().toFloatArray();
          }
          level++;
        }
      }
    }
  }

  /** {@code context} followed by {@code tokens}. */
  private static int[] withContext(int[] context, int[] tokens) {
    int[] out = Arrays.copyOf(context, context.length + tokens.length);
    System.arraycopy(tokens, 0, out, context.length, tokens.length);
    return out;
  }

  /**
   * The C tokens a sequence's first segment sees before it: PAD for a new stream (level 0), else
   * the last C tokens of the warm stream at that level (which the sample's own filler continues).
   */
  private int[] startContext(int level) {
    int c = config.model().overlap();
    if (level == 0) {
      int[] pad = new int[c];
      Arrays.fill(pad, ByteTokenizer.PAD);
      return pad;
    }
    if (warmContexts == null) { // passkey filler: the same at every refresh
      int[] lengths = warmFillerLengths(config); // each >= 4096 > C: the tail is all filler
      warmContexts = new int[lengths.length][];
      for (int k = 0; k < lengths.length; k++) {
        warmContexts[k] = ByteTokenizer.encode(PasskeyDocument.filler(lengths[k] - c, c));
      }
    }
    return warmContexts[level - 1];
  }

  /** The warm states as named arrays for a checkpoint, or null if none were computed. */
  NDList warmStates(NDManager m) {
    if (warmM == null) {
      return null;
    }
    ModelConfig mc = config.model();
    NDList out = new NDList();
    for (int k = 0; k < warmM.length; k++) {
      for (int l = 0; l < mc.layers(); l++) {
        NDArray a = m.create(warmM[k][l], new Shape(mc.heads(), mc.dKey(), mc.dValue()));
        a.setName("level." + k + ".layer." + l + ".m");
        out.add(a);
        NDArray z = m.create(warmZ[k][l], new Shape(mc.heads(), mc.dKey()));
        z.setName("level." + k + ".layer." + l + ".z");
        out.add(z);
      }
      if (hasWarmContexts()) { // the prose was drawn for the refresh's step: keep its tail
        NDArray ctx = m.create(warmContexts[k], new Shape(warmContexts[k].length));
        ctx.setName("level." + k + ".context");
        out.add(ctx);
      }
    }
    return out;
  }

  /** Whether the warm states carry contexts: prose drawn anew at each refresh, and an overlap. */
  private boolean hasWarmContexts() {
    return config.warmProse() > 0 && config.model().overlap() > 0;
  }

  /** Restores warm states written by {@link #warmStates} (a resumed run continues exactly). */
  void restoreWarmStates(NDList named) {
    ModelConfig mc = config.model();
    int levels = warmLengths(config).length;
    if (named.size() != (2 * mc.layers() + (hasWarmContexts() ? 1 : 0)) * levels) {
      System.err.println(
          "the checkpoint's warm states are not this run's: recomputed from the current weights"
              + " at the next step (the run no longer continues the interrupted one exactly)");
      return;
    }
    warmM = new float[levels][mc.layers()][];
    warmZ = new float[levels][mc.layers()][];
    if (config.warmProse() > 0) {
      warmContexts = new int[levels][0]; // without an overlap, no context is kept or needed
    }
    for (NDArray a : named) {
      String[] p = a.getName().split("\\.");
      int k = Integer.parseInt(p[1]);
      if (p[2].equals("context")) {
        warmContexts[k] = a.toIntArray();
        continue;
      }
      int l = Integer.parseInt(p[3]);
      if (p[4].equals("m")) {
        warmM[k][l] = a.toFloatArray();
      } else {
        warmZ[k][l] = a.toFloatArray();
      }
    }
  }

  /** Per layer, the batch's starting memories: empty, or the warm state of each sequence. */
  private List<Memory> startMemories(NDManager sm, int[] levels) {
    ModelConfig mc = config.model();
    int b = levels.length;
    int kv = mc.heads() * mc.dKey() * mc.dValue();
    int k = mc.heads() * mc.dKey();
    List<Memory> out = new ArrayList<>();
    for (int l = 0; l < mc.layers(); l++) {
      float[] m = new float[b * kv];
      float[] z = new float[b * k];
      for (int i = 0; i < b; i++) {
        if (levels[i] > 0) {
          System.arraycopy(warmM[levels[i] - 1][l], 0, m, i * kv, kv);
          System.arraycopy(warmZ[levels[i] - 1][l], 0, z, i * k, k);
        }
      }
      out.add(
          new Memory(
              sm.create(m, new Shape(b, mc.heads(), mc.dKey(), mc.dValue())),
              sm.create(z, new Shape(b, mc.heads(), mc.dKey()))));
    }
    return out;
  }

  /** Test hook: {@code hook} runs just before every backward pass of later steps. */
  void beforeBackward(Runnable hook) {
    this.beforeBackward = hook;
  }

  /** Runs the next step and returns what it measured. */
  public StepResult step() {
    ModelConfig mc = config.model();
    int n = mc.segmentLength();
    int segments = segmentsAt(config, step);
    int warm = warmSegmentsAt(config, step);
    List<Sample> batch = batchAt(config, mix, step);
    int b = batch.size();
    int[] levels = warmLevelsAt(config, step, b);
    if (warmLengths(config).length > 0 && (warmM == null || step % WARM_REFRESH_STEPS == 0)) {
      long t0 = System.nanoTime();
      refreshWarmStates();
      System.err.printf(
          "step %d: warm states after %s %s tokens recomputed in %.1f s%n",
          step,
          Arrays.toString(warmLengths(config)),
          config.warmFiller() > 0 ? "filler" : "prose",
          (System.nanoTime() - t0) / 1e9);
    }
    int t = segments * n;
    int ctx = mc.overlap();
    int from = warm * n; // the trained part starts after the warm segments
    int[] warmInputs = new int[b * (ctx + from)]; // each row: C context tokens, warm segments
    int[] inputs = new int[b * (ctx + t)]; // each row: C context tokens, trained segments
    int[] targets = new int[b * t];
    float[] w = new float[b * t];
    double totalWeight = 0;
    for (int i = 0; i < b; i++) {
      Sample s = batch.get(i);
      int[] tok = s.tokens();
      if (levels[i] > 0) {
        tok = config.warmFiller() > 0 ? withFillerPrefix(tok) : withProseJoin(tok);
        if (tok == null) { // a sample that cannot continue the warm stream starts empty
          tok = s.tokens();
          levels[i] = 0;
        }
      }
      int[] row = withContext(startContext(levels[i]), tok); // row[ctx + j] = tok[j]
      System.arraycopy(row, 0, warmInputs, i * (ctx + from), ctx + from);
      System.arraycopy(row, from, inputs, i * (ctx + t), ctx + t);
      System.arraycopy(tok, from + 1, targets, i * t, t);
      System.arraycopy(s.weights(), from, w, i * t, t);
      for (int j = from; j < from + t; j++) {
        totalWeight += s.weights()[j];
      }
    }
    double lrMult = schedule.at(step);
    float lr = (float) (config.lr() * lrMult);
    float[] nllOut;
    int[] predOut;
    float gradNorm;
    try (NDManager sm = base.newSubManager()) {
      NDArray tokens = sm.create(inputs, new Shape(b, ctx + t)); // (B, C+S*N)
      NDArray tgt = sm.create(targets, new Shape(b, t)).toType(DataType.INT64, false); // (B, S*N)
      NDArray wts = sm.create(w, new Shape(b, t)); // (B, S*N)
      List<NDArray> nlls = new ArrayList<>();
      List<NDArray> preds = new ArrayList<>();
      // Warm segments: forward only, before the collector opens, so nothing is recorded; the
      // trained segments start from the memories they leave
      List<Memory> warmMem = warmM != null ? startMemories(sm, levels) : Memory.zeros(sm, mc, b);
      if (warm > 0) {
        NDArray warmTokens = sm.create(warmInputs, new Shape(b, ctx + from)); // (B, C+W*N)
        Options o = options(true);
        for (int s = 0; s < warm; s++) {
          warmMem =
              InfiniTransformer.forward(
                      weights, warmTokens.get(window(s)), warmMem, o.withLogits(false))
                  .memories();
        }
        List<Memory> detached = new ArrayList<>();
        for (Memory x : warmMem) { // no path for gradients into the warm segments
          detached.add(new Memory(x.m().stopGradient(), x.z().stopGradient()));
        }
        warmMem = detached;
      }
      if (config.recompute()) {
        recomputeBackward(tokens, tgt, wts, warmMem, segments, totalWeight, nlls, preds);
      } else {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          List<Memory> mem = warmMem;
          NDArray loss = sm.zeros(new Shape());
          NDArray cost = null; // the write penalty, if any
          for (int s = 0; s < segments; s++) {
            NDIndex seg = new NDIndex(":, {}:{}", s * n, (s + 1) * n);
            Output out =
                InfiniTransformer.forward(
                    weights,
                    tokens.get(window(s)),
                    mem,
                    segmentOptions(s, segments)); // logits (B, N, W)
            NDArray logp = out.logits().logSoftmax(2); // (B, N, W)
            NDArray nll = logp.gather(tgt.get(seg).expandDims(2), 2).squeeze(2).neg(); // (B, N)
            loss = loss.add(nll.mul(wts.get(seg)).sum());
            NDArray c = writeCost(out, segments);
            if (c != null) {
              cost = cost == null ? c : cost.add(c);
            }
            nlls.add(nll);
            preds.add(out.logits().argMax(2)); // (B, N)
            mem = out.memories();
          }
          NDArray objective = Scalars.div(loss, (float) totalWeight);
          beforeBackward.run();
          gc.backward(cost == null ? objective : objective.add(cost));
        }
      }
      nllOut = NDArrays.concat(new NDList(nlls), 1).toFloatArray(); // (B, S*N)
      predOut = NDArrays.concat(new NDList(preds), 1).toType(DataType.INT32, false).toIntArray();

      List<NDArray> grads = new ArrayList<>();
      NDArray sq = sm.zeros(new Shape());
      List<NDArray> live = new ArrayList<>();
      for (NDArray p : params) {
        NDArray g = p.getGradient();
        g.attach(sm);
        live.add(g);
        // A contiguous row-major copy: libtorch may hand back a gradient with any strides (it
        // depends on whether .grad already existed), and the norm's reduction order must not
        // depend on that, or a resumed run would drift from an uninterrupted one by rounding.
        NDArray c = sm.create(g.toFloatArray(), g.getShape());
        grads.add(c);
        sq = sq.add(c.square().sum());
      }
      gradNorm = (float) Math.sqrt(sq.getFloat());
      float scale = gradNorm > config.clipNorm() ? config.clipNorm() / (gradNorm + 1e-6f) : 1f;
      if (Float.isFinite(gradNorm)) {
        if (config.clipNorm() > 0f
            && gradNorm > STEEP_GRADIENT * config.clipNorm()
            && step - lastSteepReport >= STEEP_REPORT_EVERY) {
          // the clip keeps the step bounded, but its direction is then that of the few parameters
          // named here: the other weights barely move while it lasts
          lastSteepReport = step;
          System.err.println(
              "step "
                  + step
                  + ": gradient norm "
                  + String.format(Locale.ROOT, "%.3g", gradNorm)
                  + ", over "
                  + (int) STEEP_GRADIENT
                  + "x the clip; largest: "
                  + largestGradients(grads, 4)
                  + " (reported at most every "
                  + STEEP_REPORT_EVERY
                  + " steps)");
        }
        optimizer.step(grads, scale, lr, sm);
        for (NDArray g : live) {
          g.muli(0f); // gradients accumulate in libtorch: clear them for the next step
        }
      } else {
        // Rare in long runs: skip the update rather than end the run; the optimizer's step count
        // does not advance, the data stream does.
        skipped++;
        System.err.println(
            "step "
                + step
                + ": non-finite gradient norm, update skipped ("
                + skipped
                + " so far); largest: "
                + largestGradients(grads, 3));
        for (NDArray g : live) {
          // 0 * NaN is NaN: overwrite in place through an index (fill_), which respects the
          // gradient's strides; a raw buffer copy (set(float[])) assumes a contiguous layout and
          // corrupted the native heap when a gradient was not (a crash 50 steps later)
          g.set(new NDIndex("..."), 0f);
        }
      }
    }
    StepResult r = StepResult.measure(step, batch, targets, w, nllOut, predOut, t, lr, gradNorm);
    step++;
    return r;
  }

  /** Columns of segment {@code s} and its C context tokens in a (B, C+S*N) token array. */
  private NDIndex window(int s) {
    int n = config.model().segmentLength();
    return new NDIndex(":, {}:{}", s * n, (s + 1) * n + config.model().overlap());
  }

  /** Forward options of a segment that writes memory or only reads it (the last trained one). */
  private static Options options(boolean write) {
    return write ? Options.fullSegment() : Options.readOnly();
  }

  /** The options of trained segment {@code s} of {@code segments}: the last one only reads. */
  private Options segmentOptions(int s, int segments) {
    return options(s < segments - 1);
  }

  /**
   * {@link TrainConfig#recompute}: the gradients of one tape over all segments, with the memory of
   * one segment's tape. A forward pass without a tape keeps the memory each segment starts from;
   * then segments run again last to first, each with its own tape, on a copy of its starting memory
   * that requires a gradient. Segment s backpropagates its own weighted NLL plus sum(M_after *
   * dL/dM_after) (and the same for z), where dL/dM_after is the gradient the segment after it left
   * on its starting memory; parameter gradients accumulate across the backward passes (DJL's
   * PyTorch collector does not zero them).
   */
  private void recomputeBackward(
      NDArray tokens,
      NDArray tgt,
      NDArray wts,
      List<Memory> start,
      int segments,
      double totalWeight,
      List<NDArray> nlls,
      List<NDArray> preds) {
    List<List<Memory>> starts = new ArrayList<>();
    starts.add(start);
    List<Memory> mem = start;
    for (int s = 0; s < segments - 1; s++) { // no collector open: nothing is recorded
      // Each segment's intermediates are freed when it ends (NDScope), not with the step's
      // manager: the step's native memory then stays that of one segment, whatever their number.
      try (NDScope scope = new NDScope()) {
        mem =
            InfiniTransformer.forward(
                    weights,
                    tokens.get(window(s)),
                    mem,
                    segmentOptions(s, segments).withLogits(false))
                .memories();
        keep(mem);
      }
      starts.add(mem);
    }
    NDArray[] nll = new NDArray[segments];
    NDArray[] pred = new NDArray[segments];
    List<Memory> upstream = null; // dL/d(the memory segment s leaves)
    for (int s = segments - 1; s >= 0; s--) {
      try (NDScope scope = new NDScope()) {
        upstream =
            backwardSegment(
                tokens, tgt, wts, starts.get(s), s, segments, totalWeight, upstream, nll, pred);
      }
    }
    nlls.addAll(Arrays.asList(nll));
    preds.addAll(Arrays.asList(pred));
  }

  /**
   * Segment {@code s} of {@link #recomputeBackward}: its forward on a tape and its backward; fills
   * {@code nll[s]} and {@code pred[s]} and returns dL/d(the memory it starts from) (null for the
   * first segment). Everything it returns is unregistered from the caller's NDScope.
   */
  private List<Memory> backwardSegment(
      NDArray tokens,
      NDArray tgt,
      NDArray wts,
      List<Memory> start,
      int s,
      int segments,
      double totalWeight,
      List<Memory> upstream,
      NDArray[] nll,
      NDArray[] pred) {
    int n = config.model().segmentLength();
    NDIndex seg = new NDIndex(":, {}:{}", s * n, (s + 1) * n);
    List<Memory> in = new ArrayList<>();
    for (Memory x : start) {
      NDArray m = x.m().duplicate();
      NDArray z = x.z().duplicate();
      if (s > 0) { // the first segment's memory (empty or warm) takes no gradient
        m.setRequiresGradient(true);
        z.setRequiresGradient(true);
      }
      in.add(new Memory(m, z));
    }
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      Output out =
          InfiniTransformer.forward(
              weights, tokens.get(window(s)), in, segmentOptions(s, segments)); // logits (B, N, W)
      NDArray logp = out.logits().logSoftmax(2); // (B, N, W)
      NDArray segNll = logp.gather(tgt.get(seg).expandDims(2), 2).squeeze(2).neg(); // (B, N)
      NDArray objective = Scalars.div(segNll.mul(wts.get(seg)).sum(), (float) totalWeight);
      NDArray cost = writeCost(out, segments);
      if (cost != null) {
        objective = objective.add(cost);
      }
      if (upstream != null) {
        for (int l = 0; l < upstream.size(); l++) {
          Memory after = out.memories().get(l);
          objective =
              objective
                  .add(after.m().mul(upstream.get(l).m()).sum())
                  .add(after.z().mul(upstream.get(l).z()).sum());
        }
      }
      beforeBackward.run();
      gc.backward(objective);
      nll[s] = segNll.stopGradient();
      pred[s] = out.logits().argMax(2); // (B, N)
      NDScope.unregister(nll[s], pred[s]);
    }
    if (s == 0) {
      return null;
    }
    List<Memory> grads = new ArrayList<>();
    for (Memory x : in) {
      grads.add(new Memory(gradientOrZeros(x.m()), gradientOrZeros(x.z())));
    }
    keep(grads);
    return grads;
  }

  /** Takes the memories' arrays out of the current NDScope (they outlive it). */
  private static void keep(List<Memory> memories) {
    for (Memory x : memories) {
      NDScope.unregister(x.m(), x.z());
    }
  }

  /**
   * One segment's share of {@link TrainConfig#writePenalty}: lambda / segments times the mean write
   * cost (beta, or c ln(1 + beta / c) under {@link TrainConfig#writePenaltyKnee}) over the
   * segment's layers (each a mean over batch, heads and tokens), or null when the penalty is off or
   * the rule has no write strengths (nothing is computed then, so a run without the penalty does
   * exactly what it did before the option existed).
   */
  private NDArray writeCost(Output out, int segments) {
    List<NDArray> strengths = out.strengths();
    if (config.writePenalty() == 0f
        || strengths == null
        || strengths.isEmpty()
        || strengths.get(0) == null) {
      return null;
    }
    float knee = config.writePenaltyKnee();
    NDArray sum = null;
    for (NDArray beta : strengths) {
      NDArray cost = writeCostOf(beta, knee);
      sum = sum == null ? cost.mean() : sum.add(cost.mean());
    }
    return Scalars.mul(sum, config.writePenalty() / ((float) strengths.size() * segments));
  }

  /**
   * Each write's cost before lambda: beta itself, or c ln(1 + beta / c) for a knee c > 0 (slope 1
   * at beta = 0, c / (c + beta) above it).
   */
  static NDArray writeCostOf(NDArray beta, float knee) {
    return knee > 0f ? Scalars.mul(Scalars.div(beta, knee).add(1f).log(), knee) : beta;
  }

  /** A detached copy of {@code x}'s gradient, or zeros if nothing used {@code x}. */
  private static NDArray gradientOrZeros(NDArray x) {
    NDArray g = x.hasGradient() ? x.getGradient() : null;
    return g == null ? x.zerosLike() : g.duplicate();
  }

  /** sigmoid(beta) of every (layer, head), index layer * H + head. */
  public float[] gates() {
    ModelConfig mc = config.model();
    float[] out = new float[mc.layers() * mc.heads()];
    for (int l = 0; l < mc.layers(); l++) {
      float[] beta = weights.layer(l).gate().toFloatArray();
      for (int h = 0; h < beta.length; h++) {
        out[l * mc.heads() + h] = (float) (1 / (1 + Math.exp(-beta[h])));
      }
    }
    return out;
  }

  @Override
  public void close() {
    base.close();
  }
}
