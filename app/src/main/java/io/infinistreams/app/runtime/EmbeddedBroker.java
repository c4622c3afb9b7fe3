package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
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
 * <p>Start-up takes ~2-4 s. One broker per directory at a time: {@link #start} takes an exclusive
 * file lock on {@code embedded-broker.lock} in the directory first and fails at once (a {@link
 * CliException}) while another process or broker holds it. The directories are created owner-only
 * ({@code rwx------}) where POSIX permissions exist: the topic data holds every input text.
 *
 * <p>{@link #startWithSaslPlain} starts it with a {@code SASL_PLAINTEXT} client listener that
 * accepts the given PLAIN users instead, and {@link #startWithSsl} with an {@code SSL} (TLS) client
 * listener, to exercise clients with security settings; the controller listener stays plaintext on
 * loopback.
 *
 * <p>Lifecycle: {@link #start(Path)} returns a running broker that accepts clients; {@link
 * #close()} shuts it down cleanly and leaves its data on disk.
 */
public final class EmbeddedBroker implements AutoCloseable {
  private static final String PORTS_FILE = "embedded-broker.properties";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private static final String LOCK_FILE = "embedded-broker.lock";

  /** The broker's session with its own controller (Kafka's default: 9 s). */
  static final int BROKER_SESSION_TIMEOUT_MS = 3000;

  private final KafkaRaftServer server;
  private final Path dataDir;
  private final String bootstrapServers;
  private final FolderLock lock;

  private EmbeddedBroker(
      KafkaRaftServer server, Path dataDir, String bootstrapServers, FolderLock lock) {
    this.server = server;
    this.dataDir = dataDir;
    this.bootstrapServers = bootstrapServers;
    this.lock = lock;
  }

  /**
   * Starts a broker with its data in {@code dataDir} (formatting it on first use) and waits until
   * it accepts clients.
   *
   * @param dataDir created if missing; reused as-is if it holds a previous broker's data
   * @throws IllegalStateException if the broker does not start within 60 s
   */
  public static EmbeddedBroker start(Path dataDir) {
    return start(dataDir, Map.of(), null);
  }

  /**
   * As {@link #start(Path)}, with the client listener speaking {@code SSL} (TLS, no client
   * certificate required) with the key and certificate in {@code keystore} (PKCS12). The broker
   * talks to itself over that listener too and trusts the certificates in {@code truststore}
   * (PKCS12), which must hold the one of {@code keystore} or its issuer; that certificate must name
   * {@code 127.0.0.1} (subject alternative name {@code IP:127.0.0.1}), as clients verify the host.
   * Clients need {@code security.protocol=SSL} and a truststore trusting it ({@code
   * ssl.truststore.location}, {@code ssl.truststore.password}).
   *
   * @param password of both stores and of the key
   */
  public static EmbeddedBroker startWithSsl(
      Path dataDir, Path keystore, Path truststore, String password) {
    return start(dataDir, Map.of(), new Tls(keystore, truststore, password));
  }

  private record Tls(Path keystore, Path truststore, String password) {}

  /**
   * As {@link #start(Path)}, with the client listener speaking {@code SASL_PLAINTEXT} and accepting
   * the PLAIN mechanism for {@code users} (user name to password; names of letters, digits and
   * {@code _}). Clients need {@code security.protocol=SASL_PLAINTEXT}, {@code sasl.mechanism=PLAIN}
   * and a {@code sasl.jaas.config} naming one of the users ({@link #plainJaasConfig}). The broker
   * authenticates to itself as an extra user of its own.
   */
  public static EmbeddedBroker startWithSaslPlain(Path dataDir, Map<String, String> users) {
    if (users.isEmpty()) {
      throw new IllegalArgumentException("no users");
    }
    users.keySet().stream()
        .filter(u -> !u.matches("\\w+"))
        .findAny()
        .ifPresent(
            u -> {
              throw new IllegalArgumentException("user name not of [A-Za-z0-9_]: " + u);
            });
    return start(dataDir, users, null);
  }

  /** The {@code sasl.jaas.config} of a PLAIN client logging in as {@code user}. */
  public static String plainJaasConfig(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }

  private static final String BROKER_USER = "infini_broker";

  private static EmbeddedBroker start(Path dataDir, Map<String, String> saslUsers, Tls tls) {
    Objects.requireNonNull(dataDir, "dataDir");
    Path logDir = dataDir.toAbsolutePath().resolve("kafka-logs");
    FolderLock lock = FolderLock.acquire(dataDir);
    KafkaRaftServer server = null;
    try {
      createOwnerOnly(logDir);
      int[] ports = ports(dataDir);
      String bootstrap = "127.0.0.1:" + ports[0];
      Properties props = serverProperties(logDir, ports[0], ports[1]);
      Map<String, Object> clientProps = new java.util.HashMap<>();
      if (!saslUsers.isEmpty()) {
        String brokerPassword = Uuid.randomUuid().toString();
        StringBuilder jaas =
            new StringBuilder(plainJaasConfig(BROKER_USER, brokerPassword).replace(";", ""));
        jaas.append(" user_").append(BROKER_USER).append("=\"").append(brokerPassword).append('"');
        saslUsers.forEach(
            (user, password) ->
                jaas.append(" user_")
                    .append(user)
                    .append("=\"")
                    .append(password.replace("\\", "\\\\").replace("\"", "\\\""))
                    .append('"'));
        jaas.append(';');
        String sasl = "SASL_PLAINTEXT";
        props.put(
            "listeners", sasl + "://127.0.0.1:" + ports[0] + ",CONTROLLER://127.0.0.1:" + ports[1]);
        props.put("advertised.listeners", sasl + "://127.0.0.1:" + ports[0]);
        props.put("listener.security.protocol.map", sasl + ":" + sasl + ",CONTROLLER:PLAINTEXT");
        props.put("inter.broker.listener.name", sasl);
        props.put("sasl.enabled.mechanisms", "PLAIN");
        props.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
        props.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.toString());
        clientProps.put("security.protocol", sasl);
        clientProps.put("sasl.mechanism", "PLAIN");
        clientProps.put("sasl.jaas.config", plainJaasConfig(BROKER_USER, brokerPassword));
      }
      if (tls != null) {
        String ssl = "SSL";
        props.put(
            "listeners", ssl + "://127.0.0.1:" + ports[0] + ",CONTROLLER://127.0.0.1:" + ports[1]);
        props.put("advertised.listeners", ssl + "://127.0.0.1:" + ports[0]);
        props.put("listener.security.protocol.map", ssl + ":" + ssl + ",CONTROLLER:PLAINTEXT");
        props.put("inter.broker.listener.name", ssl);
        props.put("ssl.keystore.type", "PKCS12");
        props.put("ssl.keystore.location", tls.keystore().toAbsolutePath().toString());
        props.put("ssl.keystore.password", tls.password());
        props.put("ssl.key.password", tls.password());
        props.put("ssl.truststore.type", "PKCS12");
        props.put("ssl.truststore.location", tls.truststore().toAbsolutePath().toString());
        props.put("ssl.truststore.password", tls.password());
        clientProps.put("security.protocol", ssl);
        clientProps.put("ssl.truststore.type", "PKCS12");
        clientProps.put("ssl.truststore.location", tls.truststore().toAbsolutePath().toString());
        clientProps.put("ssl.truststore.password", tls.password());
      }
      if (Files.notExists(logDir.resolve("meta.properties"))) {
        format(logDir);
      }
      server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
      server.startup();
      awaitReady(bootstrap, clientProps);
      return new EmbeddedBroker(server, dataDir, bootstrap, lock);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopQuietly(server);
      lock.close();
      throw new IllegalStateException("interrupted while starting the embedded broker", e);
    } catch (Exception e) {
      stopQuietly(server);
      lock.close();
      throw new IllegalStateException("embedded broker did not start in " + dataDir, e);
    }
  }

  /**
   * Creates {@code dir} (and missing parents) readable by the owner only ({@code rwx------}) where
   * the file system has POSIX permissions, and restricts {@code dir} itself if it existed: the
   * broker's files hold every input text. Elsewhere the folders get the platform's defaults.
   */
  static void createOwnerOnly(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath();
    boolean posix =
        Files.getFileStore(existingAncestor(abs))
            .supportsFileAttributeView(PosixFileAttributeView.class);
    if (!posix) {
      Files.createDirectories(abs);
      return;
    }
    Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
    Files.createDirectories(abs, PosixFilePermissions.asFileAttribute(ownerOnly));
    Files.setPosixFilePermissions(abs, ownerOnly);
  }

  private static Path existingAncestor(Path p) {
    Path q = p;
    while (q != null && Files.notExists(q)) {
      q = q.getParent();
    }
    return q == null ? p.getRoot() : q;
  }

  /**
   * An exclusive lock on {@code <dataDir>/embedded-broker.lock}, held while the broker runs, so
   * that a second broker (another {@code run}, another {@code demo}, or this JVM again) never opens
   * the same metadata log. The operating system releases it when the process dies, even by kill -9,
   * so a crash never leaves a stale lock.
   */
  private static final class FolderLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private FolderLock(FileChannel channel, FileLock lock) {
      this.channel = channel;
      this.lock = lock;
    }

    static FolderLock acquire(Path dataDir) {
      Path file = dataDir.toAbsolutePath().resolve(LOCK_FILE);
      FileChannel channel = null;
      try {
        createOwnerOnly(dataDir);
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock();
        if (lock != null) {
          return new FolderLock(channel, lock);
        }
      } catch (OverlappingFileLockException inThisJvm) {
        // held by a broker of this JVM
      } catch (IOException e) {
        closeQuietly(channel);
        throw new UncheckedIOException("cannot lock " + file, e);
      }
      closeQuietly(channel);
      throw new CliException(
          "the embedded broker folder "
              + dataDir.toAbsolutePath().normalize()
              + " is in use by another running broker (`infini run` or `demo`); stop it, or give"
              + " this one another folder with --set embedded.broker.dir=DIR");
    }

    @Override
    public void close() {
      try {
        lock.release();
      } catch (IOException e) {
        // closing the channel releases it as well
      }
      closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // nothing to do: the process exit releases the lock
        }
      }
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
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      lock.close();
    }
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
    // After a kill -9 the restarted controller keeps the previous incarnation's registration
    // until its session expires (9 s by default) and the broker cannot register before that.
    // Broker and controller are one process here: no network between them, so a short session
    // is safe and the broker is back ~6 s sooner.
    p.put("broker.session.timeout.ms", Integer.toString(BROKER_SESSION_TIMEOUT_MS));
    p.put("broker.heartbeat.interval.ms", "1000");
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
  private static void awaitReady(String bootstrap, Map<String, Object> clientProps)
      throws InterruptedException, ExecutionException, TimeoutException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    Map<String, Object> props = new java.util.HashMap<>(clientProps);
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) READY_TIMEOUT.toMillis());
    try (Admin admin = Admin.create(props)) {
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
