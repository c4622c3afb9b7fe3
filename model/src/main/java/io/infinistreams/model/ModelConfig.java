package io.infinistreams.model;

import java.util.Objects;

/**
 * Every hyper-parameter of the Infini-Transformer, with its default.
 *
 * <p>Shape legend used across the model package: B batch, N segment length, T tokens,
 * L layers, H heads, D d_model, K d_key, V d_value, F ffn hidden width, W vocabulary size.
 *
 * @param vocabSize     W: byte-level vocabulary, 256 byte values plus {@link ByteTokenizer} specials. Default 264.
 * @param dModel        D: width of the residual stream. Default 128.
 * @param layers        L: number of pre-norm blocks (Infini-attention + feed-forward). Default 4.
 * @param heads         H: attention heads per layer; each has its own compressive memory. Default 4.
 * @param dKey          K: query/key width per head (memory M is K x V). Default 32.
 * @param dValue        V: value width per head. Default 32.
 * @param ffnHidden     F: hidden width of the feed-forward layer (GELU). Default 512.
 * @param segmentLength N: tokens per segment; memory is written once per full segment. Default 128.
 * @param updateRule    how a full segment is written into memory (paper eq. 8 or 9, or BOUNDED, SEQUENTIAL or GATED). Default DELTA.
 * @param memoryRead    how memory is read (paper eq. 7, length-robust normalised, or UNIT). Default NORMALIZED.
 * @param ropeBase      RoPE base frequency for the local branch. Default 10000.
 * @param keyFeatures   the feature map of the memory's queries and keys (the paper's ELU + 1, or
 *                      SIGNED). Default ELU_PLUS_ONE.
 * @param writeGate     the squashing function of the GATED write strength (RATIONAL or
 *                      LOGISTIC). Default RATIONAL.
 * @param overlap       C: tokens of the previous segment that a segment's local attention also
 *                      sees (Transformer-XL-style context; not written again, no logits). A new
 *                      stream's context is C {@link ByteTokenizer#PAD} tokens. 0 to N. Default 0
 *                      (the paper: local attention within the segment only).
 * @param outputGate    how a head mixes its memory and local branches (eq. 10): the paper's
 *                      STATIC gate per head, or CONTENT, per token from what each branch
 *                      returned, or CONTENT_INPUT, from that and the layer's input. Default
 *                      STATIC.
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
    KeyFeatures keyFeatures,
    WriteGate writeGate,
    int overlap,
    OutputGate outputGate) {

  public ModelConfig {
    Objects.requireNonNull(updateRule, "updateRule");
    Objects.requireNonNull(memoryRead, "memoryRead");
    Objects.requireNonNull(keyFeatures, "keyFeatures");
    Objects.requireNonNull(writeGate, "writeGate");
    Objects.requireNonNull(outputGate, "outputGate");
    require(vocabSize >= ByteTokenizer.MIN_VOCAB, "vocabSize must be >= " + ByteTokenizer.MIN_VOCAB);
    require(dModel > 0 && layers > 0 && heads > 0 && dKey > 0 && dValue > 0 && ffnHidden > 0,
        "dimensions must be positive");
    require(dKey % 2 == 0, "dKey must be even (RoPE rotates pairs)");
    require(segmentLength >= 2, "segmentLength must be >= 2");
    require(ropeBase > 1f, "ropeBase must be > 1");
    require(overlap >= 0 && overlap <= segmentLength, "overlap must be in 0.." + segmentLength
        + " (at most one segment), got " + overlap);
    boolean papersUpdate = updateRule == UpdateRule.LINEAR || updateRule == UpdateRule.DELTA;
    require(papersUpdate || memoryRead != MemoryRead.PAPER, "the " + updateRule
        + " update keeps M unnormalised: it needs the NORMALIZED or UNIT read, not PAPER");
    require(!papersUpdate || memoryRead != MemoryRead.UNIT, "the UNIT read needs a memory that "
        + "stays bounded (SEQUENTIAL, GATED or BOUNDED); under " + updateRule + " M grows with the stream");
    require(keyFeatures != KeyFeatures.SIGNED || !papersUpdate, "SIGNED keys need a rule that "
        + "normalises keys (SEQUENTIAL, GATED or BOUNDED): " + updateRule + " divides by s(K) z");
    require(writeGate == WriteGate.RATIONAL || updateRule == UpdateRule.GATED,
        "the " + writeGate + " write gate needs the GATED update, not " + updateRule);
  }

  /** The paper's features (ELU + 1) and, under GATED, the rational write gate. */
  public ModelConfig(int vocabSize, int dModel, int layers, int heads, int dKey, int dValue,
      int ffnHidden, int segmentLength, UpdateRule updateRule, MemoryRead memoryRead,
      float ropeBase) {
    this(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden, segmentLength, updateRule,
        memoryRead, ropeBase, KeyFeatures.ELU_PLUS_ONE, WriteGate.RATIONAL, 0, OutputGate.STATIC);
  }

  /** The default configuration (the shipped model's shape). */
  public static ModelConfig defaults() {
    return new ModelConfig(264, 128, 4, 4, 32, 32, 512, 128,
        UpdateRule.DELTA, MemoryRead.NORMALIZED, 10000f);
  }

  /** A tiny configuration for tests: fast, same code paths. */
  public static ModelConfig tiny() {
    return new ModelConfig(264, 32, 2, 2, 8, 8, 64, 16,
        UpdateRule.DELTA, MemoryRead.NORMALIZED, 10000f);
  }

  public ModelConfig withUpdateRule(UpdateRule rule) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, rule, memoryRead, ropeBase, keyFeatures, writeGate, overlap, outputGate);
  }

  public ModelConfig withMemoryRead(MemoryRead read) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, updateRule, read, ropeBase, keyFeatures, writeGate, overlap, outputGate);
  }

  public ModelConfig withSegmentLength(int n) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        n, updateRule, memoryRead, ropeBase, keyFeatures, writeGate, overlap, outputGate);
  }

  public ModelConfig withKeyFeatures(KeyFeatures features) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, updateRule, memoryRead, ropeBase, features, writeGate, overlap, outputGate);
  }

  public ModelConfig withWriteGate(WriteGate gate) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, updateRule, memoryRead, ropeBase, keyFeatures, gate, overlap, outputGate);
  }

  public ModelConfig withOverlap(int c) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, updateRule, memoryRead, ropeBase, keyFeatures, writeGate, c, outputGate);
  }

  public ModelConfig withOutputGate(OutputGate gate) {
    return new ModelConfig(vocabSize, dModel, layers, heads, dKey, dValue, ffnHidden,
        segmentLength, updateRule, memoryRead, ropeBase, keyFeatures, writeGate, overlap, gate);
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
