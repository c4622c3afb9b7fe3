package io.infinistreams.model;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Everything one stream carries between steps, as plain values: one {@link HeadMemory} per
 * (layer, head), the open (not yet full) segment's tokens, and counters. Immutable: every step
 * returns a new state. Its size is fixed by the config, whatever the stream's length.
 *
 * <p>A new stream's open segment holds {@link ByteTokenizer#BOS}, so every text token has a
 * prediction (its surprise is defined) and streams start as training sequences do. The open
 * segment holds 1..N tokens: a full segment is compressed into memory when the token after it
 * arrives ({@link InfiniModel#absorb}), so the position predicting the next token is always here.
 *
 * <p>The memories are stored flat, index {@code layer * heads + head}, so the streaming layer can
 * store one record per (layer, head) and rebuild the state with {@link #of}.
 */
public final class StreamState {
  private final int layers;
  private final int heads;
  private final List<HeadMemory> memories; // (L*H), index layer*H + head
  private final int[] openTokens; // (1..N) tokens of the open segment, in order
  private final long tokensAbsorbed; // all tokens ever appended to the context, BOS included
  private final long segmentsAbsorbed; // full segments written into memory

  private StreamState(int layers, int heads, List<HeadMemory> memories, int[] openTokens,
      long tokensAbsorbed, long segmentsAbsorbed) {
    this.layers = layers;
    this.heads = heads;
    this.memories = List.copyOf(memories);
    this.openTokens = openTokens.clone();
    this.tokensAbsorbed = tokensAbsorbed;
    this.segmentsAbsorbed = segmentsAbsorbed;
  }

  /** The state of a stream that has seen nothing: zero memories, open segment = [BOS]. */
  public static StreamState initial(ModelConfig config) {
    HeadMemory zero = HeadMemory.zero(config.dKey(), config.dValue());
    HeadMemory[] all = new HeadMemory[config.layers() * config.heads()];
    Arrays.fill(all, zero);
    return new StreamState(config.layers(), config.heads(), Arrays.asList(all),
        new int[] {ByteTokenizer.BOS}, 1, 0);
  }

  /**
   * Rebuilds a state from its parts (e.g. records read from a store), checking every shape
   * against {@code config}.
   *
   * @throws IllegalArgumentException if any part does not fit the config
   */
  public static StreamState of(ModelConfig config, List<HeadMemory> memories, int[] openTokens,
      long tokensAbsorbed, long segmentsAbsorbed) {
    Objects.requireNonNull(memories, "memories");
    Objects.requireNonNull(openTokens, "openTokens");
    int expected = config.layers() * config.heads();
    if (memories.size() != expected) {
      throw new IllegalArgumentException("expected " + expected + " head memories, got "
          + memories.size());
    }
    for (HeadMemory m : memories) {
      if (m.dKey() != config.dKey() || m.dValue() != config.dValue()) {
        throw new IllegalArgumentException("head memory " + m + " does not fit K="
            + config.dKey() + ", V=" + config.dValue());
      }
    }
    if (openTokens.length > config.segmentLength()) {
      throw new IllegalArgumentException("open segment holds " + openTokens.length
          + " tokens, more than a segment (" + config.segmentLength() + ")");
    }
    for (int t : openTokens) {
      if (t < 0 || t >= config.vocabSize()) {
        throw new IllegalArgumentException("token " + t + " outside vocabulary");
      }
    }
    if (tokensAbsorbed < openTokens.length || segmentsAbsorbed < 0) {
      throw new IllegalArgumentException("inconsistent counters");
    }
    return new StreamState(config.layers(), config.heads(), memories, openTokens,
        tokensAbsorbed, segmentsAbsorbed);
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

  /** A new state with the given memories, open segment and counters (same shape). */
  public StreamState with(List<HeadMemory> newMemories, int[] newOpen, long newTokens,
      long newSegments) {
    return new StreamState(layers, heads, newMemories, newOpen, newTokens, newSegments);
  }

  /** Bytes of all head memories plus the open segment (4 bytes a token) and counters. */
  public long byteSize() {
    long total = 0;
    for (HeadMemory m : memories) {
      total += HeadMemory.byteSize(m.dKey(), m.dValue());
    }
    return total + 4L * openTokens.length + 16;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StreamState s && s.tokensAbsorbed == tokensAbsorbed
        && s.segmentsAbsorbed == segmentsAbsorbed && Arrays.equals(s.openTokens, openTokens)
        && s.memories.equals(memories);
  }

  @Override
  public int hashCode() {
    return Objects.hash(memories, Arrays.hashCode(openTokens), tokensAbsorbed, segmentsAbsorbed);
  }

  @Override
  public String toString() {
    return "StreamState[tokens=" + tokensAbsorbed + ", segments=" + segmentsAbsorbed
        + ", open=" + openTokens.length + "]";
  }
}
