package io.infinistreams.model;

/**
 * Every hyper-parameter of the Infini-Transformer. {@link #defaults()} is the shipped model's.
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
    int overlap) {

  public ModelConfig {
    require(updateRule != null && memoryRead != null, "updateRule and memoryRead are required");
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
  }

  /**
   * The shipped model: 2 layers of 4 heads, d_model 128, K = V = 32, segments of 128 bytes that
   * also see the previous segment's last 32, the gated delta rule and the normalised read.
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
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        segmentLength,
        rule,
        memoryRead,
        ropeBase,
        overlap);
  }

  public ModelConfig withMemoryRead(MemoryRead read) {
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
        read,
        ropeBase,
        overlap);
  }

  public ModelConfig withSegmentLength(int n) {
    return new ModelConfig(
        vocabSize,
        dModel,
        layers,
        heads,
        dKey,
        dValue,
        ffnHidden,
        n,
        updateRule,
        memoryRead,
        ropeBase,
        Math.min(overlap, n));
  }

  public ModelConfig withOverlap(int c) {
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
        c);
  }

  /**
   * Every field as {@code name=value}, comma-separated, in declaration order: the configuration's
   * part of the model fingerprint.
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
        + overlap;
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
