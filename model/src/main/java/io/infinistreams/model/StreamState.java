package io.infinistreams.model;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Everything one stream carries between steps, as plain values: one {@link HeadMemory} per (layer,
 * head), the open (not yet full) segment's tokens, the C = {@link ModelConfig#overlap} tokens
 * before it that its local attention also sees, and counters. Immutable: every step returns a new
 * state. Its size is fixed by the config, whatever the stream's length.
 *
 * <p>A new stream's open segment holds {@link ByteTokenizer#BOS}, so every text token has a
 * prediction (its surprise is defined) and streams start as training sequences do. The open segment
 * holds 1..N tokens: a full segment is compressed into memory when the token after it arrives
 * ({@link InfiniModel#absorb}), so the position predicting the next token is always here. The
 * context holds the last C tokens of the last compressed segment ({@link ByteTokenizer#PAD} for a
 * new stream); it is empty when C = 0.
 *
 * <p>The memories are stored flat, index {@code layer * heads + head}, so the streaming layer can
 * store one record per (layer, head) and rebuild the state with {@link #of}.
 */
public final class StreamState {
  private final int layers;
  private final int heads;
  private final List<HeadMemory> memories; // (L*H), index layer*H + head
  private final int[] contextTokens; // (C) tokens before the open segment, in order
  private final int[] openTokens; // (1..N) tokens of the open segment, in order
  private final long tokensAbsorbed; // all tokens ever appended to the context, BOS included
  private final long segmentsAbsorbed; // full segments written into memory

  private StreamState(
      int layers,
      int heads,
      List<HeadMemory> memories,
      int[] contextTokens,
      int[] openTokens,
      long tokensAbsorbed,
      long segmentsAbsorbed) {
    this.layers = layers;
    this.heads = heads;
    this.memories = List.copyOf(memories);
    this.contextTokens = contextTokens.clone();
    this.openTokens = openTokens.clone();
    this.tokensAbsorbed = tokensAbsorbed;
    this.segmentsAbsorbed = segmentsAbsorbed;
  }

  /**
   * The state of a stream that has seen nothing: zero memories, open segment = [BOS], context = C
   * {@link ByteTokenizer#PAD} tokens.
   */
  public static StreamState initial(ModelConfig config) {
    HeadMemory zero = HeadMemory.zero(config.dKey(), config.dValue());
    HeadMemory[] all = new HeadMemory[config.layers() * config.heads()];
    Arrays.fill(all, zero);
    int[] context = new int[config.overlap()];
    Arrays.fill(context, ByteTokenizer.PAD);
    return new StreamState(
        config.layers(),
        config.heads(),
        Arrays.asList(all),
        context,
        new int[] {ByteTokenizer.BOS},
        1,
        0);
  }

  /** {@link #of(ModelConfig, List, int[], int[], long, long)} for a config without overlap. */
  public static StreamState of(
      ModelConfig config,
      List<HeadMemory> memories,
      int[] openTokens,
      long tokensAbsorbed,
      long segmentsAbsorbed) {
    return of(config, memories, new int[0], openTokens, tokensAbsorbed, segmentsAbsorbed);
  }

  /**
   * Rebuilds a state from its parts (e.g. records read from a store), checking every shape against
   * {@code config}.
   *
   * @throws IllegalArgumentException if any part does not fit the config
   */
  public static StreamState of(
      ModelConfig config,
      List<HeadMemory> memories,
      int[] contextTokens,
      int[] openTokens,
      long tokensAbsorbed,
      long segmentsAbsorbed) {
    Objects.requireNonNull(memories, "memories");
    Objects.requireNonNull(contextTokens, "contextTokens");
    Objects.requireNonNull(openTokens, "openTokens");
    int expected = config.layers() * config.heads();
    if (memories.size() != expected) {
      throw new IllegalArgumentException(
          "expected " + expected + " head memories, got " + memories.size());
    }
    for (HeadMemory m : memories) {
      if (m.dKey() != config.dKey() || m.dValue() != config.dValue()) {
        throw new IllegalArgumentException(
            "head memory " + m + " does not fit K=" + config.dKey() + ", V=" + config.dValue());
      }
    }
    if (openTokens.length > config.segmentLength()) {
      throw new IllegalArgumentException(
          "open segment holds "
              + openTokens.length
              + " tokens, more than a segment ("
              + config.segmentLength()
              + ")");
    }
    if (contextTokens.length != config.overlap()) {
      throw new IllegalArgumentException(
          "context holds "
              + contextTokens.length
              + " tokens, the model's overlap is "
              + config.overlap());
    }
    for (int[] part : new int[][] {contextTokens, openTokens}) {
      for (int t : part) {
        if (t < 0 || t >= config.vocabSize()) {
          throw new IllegalArgumentException("token " + t + " outside vocabulary");
        }
      }
    }
    if (tokensAbsorbed < openTokens.length || segmentsAbsorbed < 0) {
      throw new IllegalArgumentException("inconsistent counters");
    }
    return new StreamState(
        config.layers(),
        config.heads(),
        memories,
        contextTokens,
        openTokens,
        tokensAbsorbed,
        segmentsAbsorbed);
  }

  public int layers() {
    return layers;
  }

  public int heads() {
    return heads;
  }

  /** The memory of (layer, head). */
  public HeadMemory memory(int layer, int head) {
    return memories.get(layer * heads + head);
  }

  /** All memories, index {@code layer * heads + head}. */
  public List<HeadMemory> memories() {
    return memories;
  }

  /** A copy of the context: the C tokens before the open segment (empty when C = 0). */
  public int[] contextTokens() {
    return contextTokens.clone();
  }

  /** A copy of the open segment's tokens. */
  public int[] openTokens() {
    return openTokens.clone();
  }

  public int openLength() {
    return openTokens.length;
  }

  public long tokensAbsorbed() {
    return tokensAbsorbed;
  }

  public long segmentsAbsorbed() {
    return segmentsAbsorbed;
  }

  /** A new state with the given memories, context, open segment and counters (same shape). */
  public StreamState with(
      List<HeadMemory> newMemories,
      int[] newContext,
      int[] newOpen,
      long newTokens,
      long newSegments) {
    if (newContext.length != contextTokens.length) {
      throw new IllegalArgumentException(
          "context of " + newContext.length + " tokens, expected " + contextTokens.length);
    }
    return new StreamState(layers, heads, newMemories, newContext, newOpen, newTokens, newSegments);
  }

  /** Bytes of all head memories plus the context and open tokens (4 bytes each) and counters. */
  public long byteSize() {
    long total = 0;
    for (HeadMemory m : memories) {
      total += HeadMemory.byteSize(m.dKey(), m.dValue());
    }
    return total + 4L * (contextTokens.length + openTokens.length) + 16;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamState s
        && s.tokensAbsorbed == tokensAbsorbed
        && s.segmentsAbsorbed == segmentsAbsorbed
        && Arrays.equals(s.openTokens, openTokens)
        && Arrays.equals(s.contextTokens, contextTokens)
        && s.memories.equals(memories);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        memories,
        Arrays.hashCode(contextTokens),
        Arrays.hashCode(openTokens),
        tokensAbsorbed,
        segmentsAbsorbed);
  }

  @Override
  public String toString() {
    return "StreamState[tokens="
        + tokensAbsorbed
        + ", segments="
        + segmentsAbsorbed
        + ", open="
        + openTokens.length
        + "]";
  }
}
