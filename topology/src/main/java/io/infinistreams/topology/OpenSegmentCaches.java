package io.infinistreams.topology;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.OpenSegmentCache;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.processor.TaskId;

/**
 * The open segments' keys and values of recently active streams, shared by every task of one
 * topology and bounded in bytes: so that scoring an APPEND ({@code surprise.enabled}) costs the
 * event's own tokens, not its whole open segment again. Least recently used streams go first.
 *
 * <p>An entry is a cache, never state: losing one (eviction, restart, rebalance) costs a
 * recomputation of that stream's open segment on its next APPEND; an entry that no longer describes
 * the stored state (after an aborted transaction) is recognised by value and ignored ({@link
 * OpenSegmentCache}). While a processor applies an event it owns the stream's entry: {@link #take}
 * removes it from the shared map, {@link #give} puts it back, so eviction never frees native memory
 * in use. A stream is owned by one task, and a task runs on one thread.
 */
final class OpenSegmentCaches {
  private record Key(TaskId task, String streamId) {}

  private final InfiniModel model;
  private final long maxBytes;
  private final Cache<Key, OpenSegmentCache> entries;
  private final AtomicLong bytes = new AtomicLong();

  /**
   * @param maxBytes bound on the native bytes held; 0 disables the cache ({@link #take} returns
   *     null)
   */
  OpenSegmentCaches(InfiniModel model, long maxBytes) {
    this.model = model;
    this.maxBytes = maxBytes;
    this.entries =
        Caffeine.newBuilder()
            .maximumWeight(Math.max(1, maxBytes))
            .weigher((Key k, OpenSegmentCache c) -> (int) Math.min(Integer.MAX_VALUE, c.bytes()))
            .executor(Runnable::run) // evict on the caller's thread, no background work
            .evictionListener((Key k, OpenSegmentCache c, RemovalCause cause) -> release(c))
            .build();
  }

  boolean enabled() {
    return maxBytes > 0;
  }

  /**
   * The entry of {@code streamId} in {@code task}, removed from the shared map until {@link #give};
   * a new, empty one if there is none; null if the cache is disabled.
   */
  OpenSegmentCache take(TaskId task, String streamId) {
    if (!enabled()) {
      return null;
    }
    OpenSegmentCache c = entries.asMap().remove(new Key(task, streamId));
    if (c == null) {
      return model.newOpenSegmentCache();
    }
    bytes.addAndGet(-c.bytes());
    return c;
  }

  /** Returns a taken entry; an empty one is closed instead. */
  void give(TaskId task, String streamId, OpenSegmentCache c) {
    if (c == null) {
      return;
    }
    if (c.isEmpty() || c.bytes() > maxBytes) {
      c.close();
      return;
    }
    bytes.addAndGet(c.bytes());
    OpenSegmentCache before = entries.asMap().put(new Key(task, streamId), c);
    if (before != null) {
      release(before);
    }
  }

  /** Frees every entry of {@code task} (closed or migrated: its streams are served elsewhere). */
  void dropTask(TaskId task) {
    List<Key> keys = new ArrayList<>();
    for (Key k : entries.asMap().keySet()) {
      if (k.task().equals(task)) {
        keys.add(k);
      }
    }
    for (Key k : keys) {
      OpenSegmentCache c = entries.asMap().remove(k);
      if (c != null) {
        release(c);
      }
    }
  }

  /** Native bytes held by the entries in the map (not those taken). */
  long bytes() {
    return bytes.get();
  }

  /** Entries in the map. */
  long size() {
    return entries.estimatedSize();
  }

  /** Applies pending evictions (tests). */
  void cleanUp() {
    entries.cleanUp();
  }

  private void release(OpenSegmentCache c) {
    bytes.addAndGet(-c.bytes());
    c.close();
  }
}
