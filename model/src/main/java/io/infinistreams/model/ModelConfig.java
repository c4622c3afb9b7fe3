package io.infinistreams.model;

/**
 * Every hyper-parameter of the Infini-Transformer. {@link #defaults()} is the default shape of
 * random weights and of a training run from scratch; the shipped checkpoint records its own
 * configuration in its manifest.
 *
 * <p>Shape legend used across the model package: B batch, N segment length, C overlap, T tokens, L
 * layers, H heads, D d_model, K d_key, V d_value, F ffn hidden width, W vocabulary size.
 *
 * @param vocabSize W: byte-level vocabulary, 256 byte values plus {@link ByteTokenizer} specials
 * @param dModel D: width of the residual stream
 * @param layers L: pre-norm blocks (Infini-attention, then a feed-forward layer)
 * @param heads H: attention heads per layer; each has its own compressive memory
 * @param dKey K: query/key width per head (the memory M is K x V)
 * @param dValue V: value width per head
 * @param ffnHidden F: hidden width of the GELU feed-forward layer
 * @param segmentLength N: tokens per segment; memory is written once per full segment
 * @param updateRule how a full segment is written into memory
 * @param memoryRead how memory is read
 * @param ropeBase RoPE base frequency of the local branch
 * @param overlap C: tokens of the previous segment that a segment's local attention also sees
 *     (Transformer-XL-style context, recomputed, not written again); a new stream's context is C
 *     {@link ByteTokenizer#PAD} tokens. 0 to N; 0 is the paper's model
 * @param shortConv S: taps of a causal depthwise convolution over each position's query, key and
 *     value projections (position t mixes the projections of t-S+1 .. t, per channel), applied
 *     before RoPE and before the memory's activation; 0 for none. With S >= 2 a key can carry the
 *     previous token, so that a query finds a stored value by the token before it (what copying a
 *     fact out of memory needs). Positions before the window's first token count as zero, so a
 *     segment needs an overlap of at least S-1.
 * @param featureMap sigma, the feature map of the queries and keys the memory reads and writes
 * @param writeTopK under {@link UpdateRule#GATED}, how many of a full segment's N tokens each head
 *     writes: the ones with the largest write logits (the earlier token first on a tie); the others
 *     write nothing. 0 for all N. The memory then takes in at most this many writes per segment
 *     whatever the text, so what it keeps fades with the count of selected writes, not of tokens
 * @param writeGate under {@link UpdateRule#GATED}, how a token's write logit becomes its write
 *     strength: {@link WriteGate#LOGISTIC} (every token writes a little) or {@link
 *     WriteGate#SPARSE} (a token with a logit of 0 or less writes nothing)
 * @param readEps eps of the {@link MemoryRead#NORMALIZED} read sigma(Q) M / sqrt(mean_V((sigma(Q)
 *     M)^2) + eps), in units of the read's mean square: a read far below sqrt(eps) in RMS stays
 *     small instead of being scaled up to unit RMS, so a nearly empty memory reads as nearly
 *     nothing rather than as amplified noise (and its gradient stays bounded). {@link
 *     #DEFAULT_READ_EPS} (1e-6) normalises every read but an empty one
 */
public record ModelConfig(
    int vocabSize,
    int dModel,
    int layers,
    int heads,
    int dKey,
    int dValue,
    int ffnHidden,
    int segmentLength,
    UpdateRule updateRule,
    MemoryRead memoryRead,
    float ropeBase,
    int overlap,
    int shortConv,
    FeatureMap featureMap,
    int writeTopK,
    WriteGate writeGate,
    float readEps) {

  /** Longest causal convolution over the projections: it must fit in the overlap's history. */
  public static final int MAX_SHORT_CONV = 8;

  /** The NORMALIZED read's eps unless a configuration says otherwise. */
  public static final float DEFAULT_READ_EPS = 1e-6f;

  /**
   * The largest {@link #readEps}: a chosen cap, since an eps of that size already damps reads of
   * unit RMS (to 1/sqrt(2)), the size the normalised read is meant to give.
   */
  public static final float MAX_READ_EPS = 1f;

  /** A configuration with the default read eps ({@link #DEFAULT_READ_EPS}). */
  public ModelConfig(
      int vocabSize,
      int dModel,
      int layers,
      int heads,
      int dKey,
      int dValue,
      int ffnHidden,
      int segmentLength,
      UpdateRule updateRule,
      MemoryRead memoryRead,
      float ropeBase,
      int overlap,
      int shortConv,
      FeatureMap featureMap,
      int writeTopK,
      WriteGate writeGate) {
    this(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        segmentLength,
        updateRule,
        memoryRead,
        ropeBase,
        overlap,
        shortConv,
        featureMap,
        writeTopK,
        writeGate,
        DEFAULT_READ_EPS);
  }

  /** A configuration with the {@link WriteGate#LOGISTIC} write gate. */
  public ModelConfig(
      int vocabSize,
      int dModel,
      int layers,
      int heads,
      int dKey,
      int dValue,
      int ffnHidden,
      int segmentLength,
      UpdateRule updateRule,
      MemoryRead memoryRead,
      float ropeBase,
      int overlap,
      int shortConv,
      FeatureMap featureMap,
      int writeTopK) {
    this(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        segmentLength,
        updateRule,
        memoryRead,
        ropeBase,
        overlap,
        shortConv,
        featureMap,
        writeTopK,
        WriteGate.LOGISTIC);
  }

  /** A configuration without the short convolution ({@code shortConv = 0}). */
  public ModelConfig(
      int vocabSize,
      int dModel,
      int layers,
      int heads,
      int dKey,
      int dValue,
      int ffnHidden,
      int segmentLength,
      UpdateRule updateRule,
      MemoryRead memoryRead,
      float ropeBase,
      int overlap) {
    this(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        segmentLength,
        updateRule,
        memoryRead,
        ropeBase,
        overlap,
        0);
  }

  /**
   * A configuration with the paper's feature map ({@link FeatureMap#ELU_PLUS_ONE}) in which every
   * token writes ({@code writeTopK} 0).
   */
  public ModelConfig(
      int vocabSize,
      int dModel,
      int layers,
      int heads,
      int dKey,
      int dValue,
      int ffnHidden,
      int segmentLength,
      UpdateRule updateRule,
      MemoryRead memoryRead,
      float ropeBase,
      int overlap,
      int shortConv) {
    this(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        segmentLength,
        updateRule,
        memoryRead,
        ropeBase,
        overlap,
        shortConv,
        FeatureMap.ELU_PLUS_ONE,
        0);
  }

  public ModelConfig {
    require(
        updateRule != null && memoryRead != null && featureMap != null,
        "updateRule, memoryRead and featureMap are required");
    require(
        vocabSize >= ByteTokenizer.MIN_VOCAB, "vocabSize must be >= " + ByteTokenizer.MIN_VOCAB);
    require(
        dModel > 0 && layers > 0 && heads > 0 && dKey > 0 && dValue > 0 && ffnHidden > 0,
        "dimensions must be positive");
    require(dKey % 2 == 0, "dKey must be even (RoPE rotates pairs)");
    require(segmentLength >= 2, "segmentLength must be >= 2");
    require(ropeBase > 1f, "ropeBase must be > 1");
    require(
        overlap >= 0 && overlap <= segmentLength,
        "overlap must be in 0.." + segmentLength + " (at most one segment), got " + overlap);
    require(
        updateRule != UpdateRule.GATED || memoryRead == MemoryRead.NORMALIZED,
        "the GATED update keeps no normaliser in M: it needs the NORMALIZED read, not PAPER");
    require(
        shortConv >= 0 && shortConv <= MAX_SHORT_CONV,
        "shortConv must be in 0.." + MAX_SHORT_CONV + ", got " + shortConv);
    require(
        shortConv <= 1 || overlap >= shortConv - 1,
        "a short convolution of width "
            + shortConv
            + " needs an overlap of at least "
            + (shortConv - 1)
            + " (the segment's first tokens read their predecessors there), got "
            + overlap);
    require(
        featureMap == FeatureMap.ELU_PLUS_ONE
            || (updateRule == UpdateRule.GATED && memoryRead == MemoryRead.NORMALIZED),
        "the IDENTITY feature map needs the GATED update and the NORMALIZED read (signed features"
            + " can bring the paper's denominator sigma(Q) z to 0)");
    require(
        writeTopK >= 0 && writeTopK <= segmentLength,
        "writeTopK must be in 0.." + segmentLength + " (0: every token writes), got " + writeTopK);
    require(
        writeTopK == 0 || updateRule == UpdateRule.GATED,
        "writeTopK selects by the write gate's logits: it needs the GATED update");
    require(writeGate != null, "writeGate must be given");
    require(
        writeGate == WriteGate.LOGISTIC || updateRule == UpdateRule.GATED,
        "writeGate " + writeGate + " shapes the gated write's strength: it needs the GATED update");
    require(
        readEps > 0f && readEps <= MAX_READ_EPS,
        "readEps must be in (0, " + MAX_READ_EPS + "], got " + readEps);
    require(
        readEps == DEFAULT_READ_EPS || memoryRead == MemoryRead.NORMALIZED,
        "readEps "
            + readEps
            + " is the NORMALIZED read's eps: with the PAPER read it must be the default "
            + DEFAULT_READ_EPS);
  }

  /**
   * The default shape (of {@code model.random=default}, of a training run from scratch, and of the
   * model shipped before the current one): 2 layers of 4 heads, d_model 128, K = V = 32, segments
   * of 128 bytes that also see the previous segment's last 32, the gated delta rule, the normalised
   * read and the paper's feature map and write gate. The shipped checkpoint is a recipe's model
   * with more settings (see its manifest).
   */
  public static ModelConfig defaults() {
    return new ModelConfig(
        264, 128, 2, 4, 32, 32, 512, 128, UpdateRule.GATED, MemoryRead.NORMALIZED, 10000f, 32);
  }

  /** A tiny configuration for tests: fast, the shipped code paths. */
  public static ModelConfig tiny() {
    return new ModelConfig(
        264, 32, 2, 2, 8, 8, 64, 16, UpdateRule.GATED, MemoryRead.NORMALIZED, 10000f, 4);
  }

  /** The paper's model at the tiny size: DELTA update, PAPER read, no overlap. */
  public static ModelConfig tinyPaper() {
    return tiny().withUpdateRule(UpdateRule.DELTA).withMemoryRead(MemoryRead.PAPER).withOverlap(0);
  }

  public ModelConfig withUpdateRule(UpdateRule rule) {
    Edit e = new Edit(this);
    e.updateRule = rule;
    return e.build();
  }

  public ModelConfig withMemoryRead(MemoryRead read) {
    Edit e = new Edit(this);
    e.memoryRead = read;
    return e.build();
  }

  /** This configuration with segments of {@code n} tokens (the overlap cut to n if longer). */
  public ModelConfig withSegmentLength(int n) {
    Edit e = new Edit(this);
    e.segmentLength = n;
    e.overlap = Math.min(overlap, n);
    return e.build();
  }

  public ModelConfig withOverlap(int c) {
    Edit e = new Edit(this);
    e.overlap = c;
    return e.build();
  }

  /** This configuration with a causal convolution of {@code width} taps (0: none). */
  public ModelConfig withShortConv(int width) {
    Edit e = new Edit(this);
    e.shortConv = width;
    return e.build();
  }

  /** This configuration with the feature map {@code map}. */
  public ModelConfig withFeatureMap(FeatureMap map) {
    Edit e = new Edit(this);
    e.featureMap = map;
    return e.build();
  }

  /** This configuration with {@code k} writes per head and segment (0: every token writes). */
  public ModelConfig withWriteTopK(int k) {
    Edit e = new Edit(this);
    e.writeTopK = k;
    return e.build();
  }

  /** This configuration with the write gate {@code gate}. */
  public ModelConfig withWriteGate(WriteGate gate) {
    Edit e = new Edit(this);
    e.writeGate = gate;
    return e.build();
  }

  /** This configuration with the NORMALIZED read's eps {@code eps}. */
  public ModelConfig withReadEps(float eps) {
    Edit e = new Edit(this);
    e.readEps = eps;
    return e.build();
  }

  /** A configuration's fields, to change some and build the result (checked like any other). */
  private static final class Edit {
    private final int vocabSize;
    private final int dModel;
    private final int layers;
    private final int heads;
    private final int dKey;
    private final int dValue;
    private final int ffnHidden;
    private final float ropeBase;
    private int segmentLength;
    private UpdateRule updateRule;
    private MemoryRead memoryRead;
    private int overlap;
    private int shortConv;
    private FeatureMap featureMap;
    private int writeTopK;
    private WriteGate writeGate;
    private float readEps;

    Edit(ModelConfig c) {
      vocabSize = c.vocabSize;
      dModel = c.dModel;
      layers = c.layers;
      heads = c.heads;
      dKey = c.dKey;
      dValue = c.dValue;
      ffnHidden = c.ffnHidden;
      segmentLength = c.segmentLength;
      updateRule = c.updateRule;
      memoryRead = c.memoryRead;
      ropeBase = c.ropeBase;
      overlap = c.overlap;
      shortConv = c.shortConv;
      featureMap = c.featureMap;
      writeTopK = c.writeTopK;
      writeGate = c.writeGate;
      readEps = c.readEps;
    }

    ModelConfig build() {
      return new ModelConfig(
          vocabSize,
          dModel,
          layers,
          heads,
          dKey,
          dValue,
          ffnHidden,
          segmentLength,
          updateRule,
          memoryRead,
          ropeBase,
          overlap,
          shortConv,
          featureMap,
          writeTopK,
          writeGate,
          readEps);
    }
  }

  /**
   * Every field as {@code name=value}, comma-separated, in declaration order: the configuration's
   * part of the model fingerprint. {@code shortConv}, {@code featureMap}, {@code writeTopK}, {@code
   * writeGate} and {@code readEps} appear only when they differ from their defaults (0,
   * ELU_PLUS_ONE, 0, LOGISTIC, 1e-6), so fingerprints of checkpoints made before they existed still
   * hold.
   */
  public String canonical() {
    return "vocabSize="
        + vocabSize
        + ",dModel="
        + dModel
        + ",layers="
        + layers
        + ",heads="
        + heads
        + ",dKey="
        + dKey
        + ",dValue="
        + dValue
        + ",ffnHidden="
        + ffnHidden
        + ",segmentLength="
        + segmentLength
        + ",updateRule="
        + updateRule
        + ",memoryRead="
        + memoryRead
        + ",ropeBase="
        + ropeBase
        + ",overlap="
        + overlap
        + (shortConv == 0 ? "" : ",shortConv=" + shortConv)
        + (featureMap == FeatureMap.ELU_PLUS_ONE ? "" : ",featureMap=" + featureMap)
        + (writeTopK == 0 ? "" : ",writeTopK=" + writeTopK)
        + (writeGate == WriteGate.LOGISTIC ? "" : ",writeGate=" + writeGate)
        + (readEps == DEFAULT_READ_EPS ? "" : ",readEps=" + readEps);
  }

  /** Floats in one head's memory: M (K x V) plus z (K). */
  public int floatsPerHead() {
    return dKey * dValue + dKey;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
