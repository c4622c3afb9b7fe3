package io.infinistreams.topology.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A single-node KRaft Kafka broker running in this JVM: one node in combined mode (broker and
 * controller), replication factor 1 for every internal topic, transaction state log min ISR 1,
 * so exactly-once applications run against it unchanged.
 *
 * <p>Built on Kafka's {@link KafkaClusterTestKit} ({@code kafka-test-common-runtime}, an internal
 * API pinned to exactly the broker's version). Start-up takes ~3 s for the first broker in a JVM
 * and well under a second for later ones. Listeners bind to {@code localhost} on ports chosen by
 * the OS, so {@link #bootstrapServers()} differs between starts.
 *
 * <p><b>Data directory.</b> The broker's metadata log and topic data live under the directory
 * given to {@link #start(Path)} and are left there after {@link #close()} (for inspection).
 * However, KafkaClusterTestKit cannot reopen existing data: every start generates a new cluster
 * id and directory ids and formats its directories anew, so topics, offsets and changelogs do
 * <em>not</em> survive a restart of the broker. To keep this explicit, each start uses a fresh
 * sub-directory {@code broker-<n>} of the given directory (never silently reusing or deleting an
 * older one). A Kafka Streams application's local RocksDB state that outlives this broker is
 * therefore stale on the next start; use a real broker (bootstrap servers) when data must
 * survive a process restart.
 *
 * <p>Lifecycle: {@link #start(Path)} returns a running broker; {@link #close()} stops it.
 */
public final class EmbeddedBroker implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private final Path dataDir;

  private EmbeddedBroker(KafkaClusterTestKit cluster, Path dataDir) {
    this.cluster = cluster;
    this.dataDir = dataDir;
  }

  /**
   * Formats and starts a broker with its data in a new sub-directory of {@code baseDir}, and
   * waits until it accepts clients.
   *
   * @param baseDir created if missing; each start takes a fresh {@code broker-<n>} inside it
   * @throws IllegalStateException if the broker does not start
   */
  public static EmbeddedBroker start(Path baseDir) {
    Objects.requireNonNull(baseDir, "baseDir");
    Path dataDir = freshSubdirectory(baseDir);
    TestKitNodes nodes = new TestKitNodes.Builder()
        .setCombined(true)
        .setNumBrokerNodes(1)
        .setNumControllerNodes(1)
        .setBaseDirectory(dataDir)
        .build();
    KafkaClusterTestKit cluster = null;
    try {
      cluster = new KafkaClusterTestKit.Builder(nodes)
          .setDeleteOnClose(false)
          .setConfigProp("offsets.topic.replication.factor", "1")
          .setConfigProp("offsets.topic.num.partitions", "1")
          .setConfigProp("transaction.state.log.replication.factor", "1")
          .setConfigProp("transaction.state.log.min.isr", "1")
          .setConfigProp("transaction.state.log.num.partitions", "1")
          .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
          .setConfigProp("share.coordinator.state.topic.min.isr", "1")
          .setConfigProp("default.replication.factor", "1")
          .setConfigProp("min.insync.replicas", "1")
          .setConfigProp("group.initial.rebalance.delay.ms", "0")
          .setConfigProp("auto.create.topics.enable", "false")
          .build();
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new EmbeddedBroker(cluster, dataDir);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closeQuietly(cluster);
      throw new IllegalStateException("interrupted while starting the embedded broker", e);
    } catch (Exception e) {
      closeQuietly(cluster);
      throw new IllegalStateException("embedded broker did not start in " + dataDir, e);
    }
  }

  /** {@code host:port} of the broker's client listener. */
  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** The directory holding this broker's metadata log and topic data. */
  public Path dataDir() {
    return dataDir;
  }

  /** Stops the broker; its data stays on disk under {@link #dataDir()}. */
  @Override
  public void close() {
    try {
      cluster.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping the embedded broker", e);
    } catch (Exception e) {
      throw new IllegalStateException("embedded broker did not stop cleanly", e);
    }
  }

  private static Path freshSubdirectory(Path baseDir) {
    try {
      Files.createDirectories(baseDir);
      for (int n = 0; ; n++) {
        Path candidate = baseDir.resolve("broker-" + n);
        if (!Files.exists(candidate)) {
          return Files.createDirectory(candidate);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a data directory under " + baseDir, e);
    }
  }

  private static void closeQuietly(KafkaClusterTestKit cluster) {
    if (cluster != null) {
      try {
        cluster.close();
      } catch (Exception suppressed) {
        // start-up already failed; that failure is the one reported
      }
    }
  }
}
