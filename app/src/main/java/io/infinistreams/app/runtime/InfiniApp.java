package io.infinistreams.app.runtime;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.InfiniMetrics;
import io.infinistreams.app.ops.ModelCensus;
import io.infinistreams.app.ops.OperationsServer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.ProcessorMetrics;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running processor: (optionally) an embedded broker, the topics, and one KafkaStreams instance
 * of the topology. What {@code run} and {@code demo} start.
 *
 * <p>Lifecycle: {@link #start} returns once the streams instance is RUNNING; {@link #close} closes
 * it leaving the consumer group (so a restart does not wait out the session timeout), then stops
 * the embedded broker. A stream thread that dies shuts the instance down ({@link #awaitTermination}
 * then reports the error); it is not replaced, because the cause (a bug, a model that cannot load
 * state) would kill its replacement too.
 *
 * <p>With {@code http.enabled}, the operations server ({@link OperationsServer}: metrics, health,
 * session API) starts before Kafka Streams, whose {@code application.server} is its address, and
 * stops after it.
 *
 * <p>Local state lives in {@code state.dir} and is never wiped here: no {@code cleanUp()}. The
 * embedded broker keeps its topics (and so the changelogs) across restarts too, so a restarted
 * processor continues every stream from its local stores.
 */
public final class InfiniApp implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(InfiniApp.class);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

  private final AppConfig config;
  private final EmbeddedBroker broker; // null with external bootstrap servers
  private final String bootstrapServers;
  private final Path stateDir;
  private final TopologySettings settings;
  private final KafkaStreams streams;
  private final OperationsServer operations; // null with http.enabled=false
  private final InfiniMetrics metrics; // null with http.enabled=false
  private final RestoreProgress restores;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private boolean closed;

  private InfiniApp(
      AppConfig config,
      EmbeddedBroker broker,
      String bootstrapServers,
      Path stateDir,
      TopologySettings settings,
      KafkaStreams streams,
      OperationsServer operations,
      InfiniMetrics metrics,
      RestoreProgress restores) {
    this.config = config;
    this.broker = broker;
    this.bootstrapServers = bootstrapServers;
    this.stateDir = stateDir;
    this.settings = settings;
    this.streams = streams;
    this.operations = operations;
    this.metrics = metrics;
    this.restores = restores;
  }

  /**
   * Starts the broker (if {@code bootstrap.servers} is empty), checks that the brokers answer with
   * the {@code kafka.*} client settings ({@link KafkaClients#requireReachable}: a wrong security
   * setting fails here in seconds, with a one-line message), creates missing topics and fits the
   * existing ones' record size limits ({@link Topics}), starts the operations server (if {@code
   * http.enabled}), builds the topology and starts it, and waits until it is RUNNING.
   *
   * @throws IllegalStateException if it does not reach RUNNING within {@code startTimeout}
   * @throws io.infinistreams.app.cli.CliException if the operations server cannot listen
   */
  public static InfiniApp start(AppConfig config, InfiniModel model, Duration startTimeout)
      throws InterruptedException {
    return start(config, Models.of(model, List.of(), config.modelUpgradePolicy()), startTimeout);
  }

  /**
   * As {@link #start(AppConfig, InfiniModel, Duration)} with several models: {@link
   * Models#serving()} starts new streams, the previous ones continue the streams they wrote as
   * {@link Models#policy()} says. The caller keeps the models open while the application runs.
   */
  public static InfiniApp start(AppConfig config, Models models, Duration startTimeout)
      throws InterruptedException {
    EmbeddedBroker broker = null;
    KafkaStreams streams = null;
    OperationsServer operations = null;
    InfiniMetrics metrics = null;
    try {
      String bootstrap;
      if (config.useEmbeddedBroker()) {
        broker = startBroker(config.embeddedBrokerDir());
        bootstrap = broker.bootstrapServers();
        BrokerAddress.publish(config, bootstrap);
        log.info(
            "embedded Kafka broker at {}, data in {}",
            bootstrap,
            broker.dataDir().toAbsolutePath());
      } else {
        bootstrap = config.bootstrapServers();
      }
      KafkaClients.requireReachable(
          config,
          bootstrap,
          config.useEmbeddedBroker() ? "the embedded broker" : "bootstrap.servers",
          "check bootstrap.servers and that the brokers are running");
      Path stateDir = config.stateDir();
      List<String> created = Topics.ensure(bootstrap, config);
      if (!created.isEmpty()) {
        log.info(
            "created topics {} ({} partitions, replication factor {})",
            created,
            config.topicPartitions(),
            config.topicReplicationFactor());
      }
      int deadLetterMaxBytes = Topics.fitLimits(bootstrap, config);
      if (config.inputRepartition()) {
        Topics.fitRepartition(bootstrap, config, deadLetterMaxBytes);
      }
      TopologySettings settings = StreamsWiring.topologySettings(config);
      if (config.httpEnabled()) {
        metrics = new InfiniMetrics(models);
        operations = OperationsServer.start(config, metrics, settings, models);
      }
      Topology topology =
          InfiniTopology.build(settings, models, metrics == null ? ProcessorMetrics.NONE : metrics);
      Properties props =
          StreamsWiring.streamsProperties(
              config,
              StreamsProps.largestRecords(models, settings),
              bootstrap,
              stateDir,
              deadLetterMaxBytes);
      if (operations != null) {
        // where other instances reach this one's session API (KafkaStreams#queryMetadataForKey)
        props.put(StreamsConfig.APPLICATION_SERVER_CONFIG, operations.applicationServer());
      }
      log.info(
          "static group member {} (session timeout {} ms)",
          props.get(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)),
          StreamsWiring.SESSION_TIMEOUT_MS);
      streams = new KafkaStreams(topology, props);
      RestoreProgress restores = new RestoreProgress();
      streams.setGlobalStateRestoreListener(restores);
      if (operations != null) {
        metrics.bindStreams(streams, settings);
        operations.attach(streams, bootstrap);
      }
      InfiniApp app =
          new InfiniApp(
              config,
              broker,
              bootstrap,
              stateDir,
              settings,
              streams,
              operations,
              metrics,
              restores);
      app.startStreams(startTimeout);
      log.info(
          "processor '{}' running against {}, state in {}",
          config.applicationId(),
          bootstrap,
          stateDir.toAbsolutePath());
      app.logModelCensus(models);
      return app;
    } catch (RuntimeException | InterruptedException | Error e) {
      if (streams != null) {
        streams.close(Duration.ofSeconds(10));
      }
      if (operations != null) {
        operations.close();
      }
      if (metrics != null) {
        metrics.close();
      }
      if (broker != null) {
        BrokerAddress.withdraw(config);
        broker.close();
      }
      throw e;
    }
  }

  /**
   * Starts the embedded broker. Kafka's storage formatter prints to {@code System.out}, which
   * carries the commands' results, so its lines go to stderr for the duration of the start.
   */
  private static EmbeddedBroker startBroker(Path dir) {
    PrintStream stdout = System.out;
    System.setOut(System.err);
    try {
      return EmbeddedBroker.start(dir);
    } finally {
      System.setOut(stdout);
    }
  }

  private void startStreams(Duration timeout) throws InterruptedException {
    CountDownLatch running = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING) {
            running.countDown();
          }
          if (now == KafkaStreams.State.ERROR
              || now == KafkaStreams.State.NOT_RUNNING
              || now == KafkaStreams.State.PENDING_ERROR) {
            running.countDown();
            stopped.countDown();
          }
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          log.error("stream thread failed; shutting this instance down", e);
          failure.compareAndSet(null, e);
          return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    streams.start();
    if (!running.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          "Kafka Streams did not reach RUNNING within "
              + timeout.toSeconds()
              + " s (state "
              + streams.state()
              + ")");
    }
    if (streams.state() != KafkaStreams.State.RUNNING
        && streams.state() != KafkaStreams.State.REBALANCING) {
      throw new IllegalStateException(
          "Kafka Streams failed to start (state " + streams.state() + ")", failure.get());
    }
  }

  /**
   * Logs, from a background thread (one scan of the local sessions), how many hosted streams each
   * model wrote and what the loaded models and the upgrade policy do with them ({@link
   * ModelCensus}).
   */
  private void logModelCensus(Models models) {
    Thread t =
        new Thread(
            () -> {
              try {
                log.info(ModelCensus.describe(ModelCensus.count(streams, settings), models));
              } catch (RuntimeException e) {
                log.info("stored streams by model: not counted ({})", e.getMessage());
              }
            },
            "infini-model-census");
    t.setDaemon(true);
    t.start();
  }

  /** Where clients should connect. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** Folder of the local stores. */
  public Path stateDir() {
    return stateDir;
  }

  /** The embedded broker's data folder, or null with external brokers. */
  public Path embeddedBrokerDataDir() {
    return broker == null ? null : broker.dataDir();
  }

  public TopologySettings settings() {
    return settings;
  }

  public AppConfig config() {
    return config;
  }

  /**
   * The operations server's base URL (e.g. {@code http://127.0.0.1:8480}), or null with {@code
   * http.enabled=false}.
   */
  public String operationsUrl() {
    return operations == null ? null : operations.url();
  }

  /** What this instance restored into its stores from changelogs since it started. */
  public RestoreProgress restores() {
    return restores;
  }

  /** The running streams instance (for interactive queries). */
  public KafkaStreams streams() {
    return streams;
  }

  /**
   * Blocks until the instance stops (closed, or a stream thread died).
   *
   * @return the failure that stopped it, or null after a clean close
   */
  public Throwable awaitTermination() throws InterruptedException {
    stopped.await();
    return failure.get();
  }

  /** Closes Kafka Streams (leaving the group), then the embedded broker. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info(
        "stopping: closing Kafka Streams (leaving the group){}{}",
        operations == null ? "" : ", then the operations server",
        broker == null ? "" : ", then the embedded broker");
    try {
      streams.close(
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
              .withTimeout(CLOSE_TIMEOUT));
    } finally {
      stopped.countDown();
      if (operations != null) {
        operations.close();
      }
      if (metrics != null) {
        metrics.close();
      }
      if (broker != null) {
        BrokerAddress.withdraw(config);
        broker.close();
      }
      log.info("stopped");
    }
  }
}
