package io.infinistreams.app.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A single-node KRaft Kafka broker running in this JVM, with its data in a directory of the
 * caller's choosing that survives restarts: one node in combined mode (broker and controller),
 * replication factor 1 and min ISR 1 for every internal topic (offsets, transactions, share state),
 * so exactly-once applications run against it unchanged.
 *
 * <p>It is Kafka's own server ({@link KafkaRaftServer}, from {@code kafka_2.13}, the same code as
 * {@code kafka-server-start.sh}), started in-process. On the first start in a directory the storage
 * is formatted (a new cluster id, like {@code kafka-storage.sh format}); later starts in the same
 * directory reopen it, so topics, committed offsets, transactions and changelog topics are still
 * there. Listeners bind to 127.0.0.1 only. The ports are chosen on the first start and remembered
 * in {@code embedded-broker.properties} in the directory; a later start reuses them when they are
 * free (so {@link #bootstrapServers()} stays the same across restarts) and picks new ones
 * otherwise.
 *
 * <p>Start-up takes ~2-4 s. One broker per directory at a time (Kafka locks its log directory).
 *
 * <p>Lifecycle: {@link #start(Path)} returns a running broker that accepts clients; {@link
 * #close()} shuts it down cleanly and leaves its data on disk.
 */
public final class EmbeddedBroker implements AutoCloseable {
  private static final String PORTS_FILE = "embedded-broker.properties";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private final KafkaRaftServer server;
  private final Path dataDir;
  private final String bootstrapServers;

  private EmbeddedBroker(KafkaRaftServer server, Path dataDir, String bootstrapServers) {
    this.server = server;
    this.dataDir = dataDir;
    this.bootstrapServers = bootstrapServers;
  }

  /**
   * Starts a broker with its data in {@code dataDir} (formatting it on first use) and waits until
   * it accepts clients.
   *
   * @param dataDir created if missing; reused as-is if it holds a previous broker's data
   * @throws IllegalStateException if the broker does not start within 60 s
   */
  public static EmbeddedBroker start(Path dataDir) {
    Objects.requireNonNull(dataDir, "dataDir");
    Path logDir = dataDir.toAbsolutePath().resolve("kafka-logs");
    KafkaRaftServer server = null;
    try {
      Files.createDirectories(logDir);
      int[] ports = ports(dataDir);
      String bootstrap = "127.0.0.1:" + ports[0];
      Properties props = serverProperties(logDir, ports[0], ports[1]);
      if (Files.notExists(logDir.resolve("meta.properties"))) {
        format(logDir);
      }
      server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
      server.startup();
      awaitReady(bootstrap);
      return new EmbeddedBroker(server, dataDir, bootstrap);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopQuietly(server);
      throw new IllegalStateException("interrupted while starting the embedded broker", e);
    } catch (Exception e) {
      stopQuietly(server);
      throw new IllegalStateException("embedded broker did not start in " + dataDir, e);
    }
  }

  /** {@code 127.0.0.1:port} of the broker's client listener. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The directory holding this broker's metadata log and topic data. */
  public Path dataDir() {
    return dataDir;
  }

  /** Shuts the broker down cleanly; its data stays under {@link #dataDir()}. */
  @Override
  public void close() {
    server.shutdown();
    server.awaitShutdown();
  }

  private static Properties serverProperties(Path logDir, int brokerPort, int controllerPort) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    p.put("num.partitions", "1");
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "1");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "1");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("auto.create.topics.enable", "false");
    return p;
  }

  private static void format(Path logDir) throws Exception {
    new Formatter()
        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
        .setNodeId(1)
        .setClusterId(Uuid.randomUuid().toString())
        .setDirectories(List.of(logDir.toString()))
        .setMetadataLogDirectory(logDir.toString())
        .setControllerListenerName("CONTROLLER")
        .setReleaseVersion(MetadataVersion.latestProduction())
        .run();
  }

  /** Remembered ports if they are still free, else new ones (remembered for next time). */
  private static int[] ports(Path dataDir) throws IOException {
    Path file = dataDir.resolve(PORTS_FILE);
    Properties saved = new Properties();
    if (Files.exists(file)) {
      try (InputStream in = Files.newInputStream(file)) {
        saved.load(in);
      }
      int broker = Integer.parseInt(saved.getProperty("broker.port", "0"));
      int controller = Integer.parseInt(saved.getProperty("controller.port", "0"));
      if (broker > 0 && controller > 0 && isFree(broker) && isFree(controller)) {
        return new int[] {broker, controller};
      }
    }
    int[] ports = {freePort(), freePort()};
    while (ports[1] == ports[0]) {
      ports[1] = freePort();
    }
    saved.setProperty("broker.port", Integer.toString(ports[0]));
    saved.setProperty("controller.port", Integer.toString(ports[1]));
    try (OutputStream out = Files.newOutputStream(file)) {
      saved.store(out, "Ports of the embedded broker in this directory");
    }
    return ports;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static boolean isFree(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Blocks until the broker answers a metadata request listing itself. */
  private static void awaitReady(String bootstrap)
      throws InterruptedException, ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                (int) READY_TIMEOUT.toMillis()))) {
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException(
              "broker at " + bootstrap + " not ready within " + READY_TIMEOUT);
        }
        if (!admin.describeCluster().nodes().get(left, TimeUnit.NANOSECONDS).isEmpty()) {
          return;
        }
      }
    }
  }

  private static void stopQuietly(KafkaRaftServer server) {
    if (server != null) {
      try {
        server.shutdown();
        server.awaitShutdown();
      } catch (RuntimeException suppressed) {
        // start-up already failed; that failure is the one reported
      }
    }
  }
}
