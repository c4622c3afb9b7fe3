package io.infinistreams.app.runtime;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each restore of a local store partition from its changelog (how many records, how long it
 * took) and counts the records restored: what a restart after a lost state folder, or a partition
 * moving to an instance without a standby replica of it, costs. Kafka Streams calls it from its
 * restore threads; standby replicas keeping up do not count here.
 */
public final class RestoreProgress implements StateRestoreListener {
  private static final Logger log = LoggerFactory.getLogger(RestoreProgress.class);

  private final LongAdder restored = new LongAdder();
  private final LongAdder restoreNanos = new LongAdder();
  private final Map<TopicPartition, Long> started = new ConcurrentHashMap<>();

  @Override
  public void onRestoreStart(
      TopicPartition partition, String storeName, long startingOffset, long endingOffset) {
    started.put(partition, System.nanoTime());
    log.info(
        "restoring store {} partition {} from its changelog: up to {} records",
        storeName,
        partition.partition(),
        Math.max(0, endingOffset - startingOffset));
  }

  @Override
  public void onBatchRestored(
      TopicPartition partition, String storeName, long batchEndOffset, long numRestored) {
    restored.add(numRestored);
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String storeName, long totalRestored) {
    Long t0 = started.remove(partition);
    if (t0 != null) {
      restoreNanos.add(System.nanoTime() - t0);
    }
    log.info(
        "restored store {} partition {}: {} records in {} ms",
        storeName,
        partition.partition(),
        totalRestored,
        t0 == null ? "?" : (System.nanoTime() - t0) / 1_000_000);
  }

  @Override
  public void onRestoreSuspended(TopicPartition partition, String storeName, long totalRestored) {
    started.remove(partition);
    log.info(
        "restore of store {} partition {} suspended after {} records (the task moved)",
        storeName,
        partition.partition(),
        totalRestored);
  }

  /**
   * Wall-clock time the finished restores took since this instance started, summed over store
   * partitions (restores that run at once count each).
   */
  public Duration restoreTime() {
    return Duration.ofNanos(restoreNanos.sum());
  }

  /** Records restored from changelogs since this instance started, all stores. */
  public long restoredRecords() {
    return restored.sum();
  }
}
