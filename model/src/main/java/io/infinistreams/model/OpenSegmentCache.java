package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.infinistreams.model.InfiniTransformer.KvCache;

/**
 * What a model computed over one stream's open segment, kept between {@link InfiniModel#absorb}
 * calls so that scoring appended text costs the new tokens only: the open segment's keys and values
 * per layer (and the short convolution's history) and the log-probabilities of the token that comes
 * next. It describes exactly one {@link StreamState}; a call whose state is another one (by value:
 * memories, context, open tokens, counters) ignores it and starts afresh, so a stale cache can cost
 * time but never change a result beyond float rounding.
 *
 * <p>Only scores use it. Memory is always written by the one full-segment forward that {@link
 * InfiniModel#absorb} runs whatever the split, and {@link InfiniModel#generate} recomputes the open
 * segment in one call, so the memory and generated text stay the same bit for bit however a stream
 * was split into calls. Scores computed through the cache agree with those computed without it to
 * float rounding.
 *
 * <p>Holds native memory ({@link #bytes()}): {@link #close()} frees it. Not thread-safe: one caller
 * at a time.
 */
public final class OpenSegmentCache implements AutoCloseable {
  private final InfiniModel model;
  private NDManager manager; // owns kv; replaced on every update
  private KvCache kv;
  private float[] next; // log p(next token | context, open segment), vocabulary-sized
  private StreamState describes;
  private long bytes;
  private long hits;
  private long misses;

  OpenSegmentCache(InfiniModel model) {
    this.model = model;
  }

  boolean madeBy(InfiniModel caller) {
    return caller == model;
  }

  /** True if this cache describes {@code state}. */
  boolean matches(StreamState state) {
    return kv != null && state.equals(describes);
  }

  KvCache kv() {
    return kv;
  }

  float[] next() {
    return next;
  }

  /** Takes {@code newKv} (moved into a manager of its own) as the cache of {@code state}. */
  void update(NDManager parent, KvCache newKv, float[] newNext, StreamState state) {
    NDManager fresh = parent.newSubManager();
    newKv.attach(fresh);
    clear();
    manager = fresh;
    kv = newKv;
    next = newNext;
    describes = state;
    bytes = byteSize(newKv) + 4L * newNext.length;
  }

  void hit() {
    hits++;
  }

  void miss() {
    misses++;
  }

  /** Calls that continued from this cache. */
  public long hits() {
    return hits;
  }

  /** Calls that had to recompute the open segment (first call, other state, or no scores). */
  public long misses() {
    return misses;
  }

  /** True if the cache holds a computation (it may still be for another state than the next). */
  public boolean isEmpty() {
    return kv == null;
  }

  /** Native bytes held: keys, values and convolution history of every layer, and the next row. */
  public long bytes() {
    return bytes;
  }

  /** Drops what the cache holds (it stays usable). */
  public void clear() {
    if (manager != null) {
      manager.close();
    }
    manager = null;
    kv = null;
    next = null;
    describes = null;
    bytes = 0;
  }

  @Override
  public void close() {
    clear();
  }

  private static long byteSize(KvCache kv) {
    long total = 0;
    for (NDArray a : kv.keys()) {
      total += a.size() * 4;
    }
    for (NDArray a : kv.values()) {
      total += a.size() * 4;
    }
    for (NDArray a : kv.tails()) {
      total += a == null ? 0 : a.size() * 4;
    }
    return total;
  }
}
