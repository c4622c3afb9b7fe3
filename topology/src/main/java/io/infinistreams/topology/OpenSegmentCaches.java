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
 * in use. A stream is owned by one task, and a task runs on one thread. An entry belongs to the
 * model that computed it: taken for another model (the stream was reset onto the serving model), it
 * is dropped and a new one made.
 */
final class OpenSegmentCaches {
  private record Key(TaskId task, String streamId) {}

  /** An entry and the fingerprint of the model that made it. */
  private record Entry(String model, OpenSegmentCache cache) {}

  private final long maxBytes;
  private final Cache<Key, Entry> entries;
  private final AtomicLong bytes = new AtomicLong();

  /**
   * @param maxBytes bound on the native bytes held; 0 disables the cache ({@link #take} returns
   *     null)
   */
  OpenSegmentCaches(long maxBytes) {
    this.maxBytes = maxBytes;
    this.entries =
        Caffeine.newBuilder()
            .maximumWeight(Math.max(1, maxBytes))
            .weigher((Key k, Entry e) -> (int) Math.min(Integer.MAX_VALUE, e.cache().bytes()))
            .executor(Runnable::run) // evict on the caller's thread, no background work
            .evictionListener((Key k, Entry e, RemovalCause cause) -> release(e.cache()))
            .build();
  }

  boolean enabled() {
    return maxBytes > 0;
  }

  /**
   * The entry of {@code streamId} in {@code task} for {@code model}'s calls, removed from the
   * shared map until {@link #give}; a new, empty one if there is none or the one there was made by
   * another model (which is freed); null if the cache is disabled.
   */
  OpenSegmentCache take(TaskId task, String streamId, InfiniModel model) {
    if (!enabled()) {
      return null;
    }
    Entry e = entries.asMap().remove(new Key(task, streamId));
    if (e == null) {
      return model.newOpenSegmentCache();
    }
    bytes.addAndGet(-e.cache().bytes());
    if (!e.model().equals(model.fingerprint())) {
      e.cache().close();
      return model.newOpenSegmentCache();
    }
    return e.cache();
  }

  /** Frees the entry of {@code streamId} in {@code task}, if there is one (a removed stream). */
  void remove(TaskId task, String streamId) {
    Entry e = entries.asMap().remove(new Key(task, streamId));
    if (e != null) {
      release(e.cache());
    }
  }

  /**
   * Returns an entry taken for {@code model} (the model that made it); an empty one is closed
   * instead.
   */
  void give(TaskId task, String streamId, InfiniModel model, OpenSegmentCache c) {
    if (c == null) {
      return;
    }
    if (c.isEmpty() || c.bytes() > maxBytes) {
      c.close();
      return;
    }
    bytes.addAndGet(c.bytes());
    Entry before = entries.asMap().put(new Key(task, streamId), new Entry(model.fingerprint(), c));
    if (before != null) {
      release(before.cache());
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
      Entry e = entries.asMap().remove(k);
      if (e != null) {
        release(e.cache());
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
