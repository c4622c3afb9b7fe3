package io.infinistreams.app.ops;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.ProcessorMetrics;
import io.infinistreams.topology.TopologySettings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;

/**
 * The application's metrics in one Prometheus registry: the processor's own ({@link
 * ProcessorMetrics}, implemented here), JVM metrics, and Kafka Streams' metrics through
 * Micrometer's {@link KafkaStreamsMetrics} binder. {@link #scrape} renders them in the Prometheus
 * text format.
 *
 * <p>No meter has a per-stream tag: the number of time series does not grow with the number of
 * streams. The processor's hot path touches only pre-registered counters and timers (lock-free
 * adders); the gauges are computed when scraped.
 */
public final class InfiniMetrics implements ProcessorMetrics, AutoCloseable {

  /** How often the Kafka Streams binder looks for new Kafka metrics (threads, tasks, stores). */
  private static final Duration KAFKA_REFRESH = Duration.ofSeconds(10);

  /** RocksDB properties summed into {@code infini_state_bytes}: SST files and memtables. */
  private static final Set<String> STATE_SIZE_METRICS =
      Set.of("total-sst-files-size", "size-all-mem-tables");

  private static final String STATE_METRICS_GROUP = "stream-state-metrics";

  /** Histogram buckets of {@code infini_event_latency_seconds}: 1 ms to 5 min, 16 of them. */
  private static final Duration[] LATENCY_BUCKETS = {
    Duration.ofMillis(1),
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60),
    Duration.ofSeconds(120),
    Duration.ofSeconds(300)
  };

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  private final Counter tokens;
  private final Counter segments;
  private final Map<EventKind, Counter> applied = new EnumMap<>(EventKind.class);
  private final Map<EventKind, Timer> latency = new EnumMap<>(EventKind.class);
  private final Map<DeadLetterReason, Counter> deadLetters = new EnumMap<>(DeadLetterReason.class);
  // |M| after writes, by (layer, head): at most L x H summaries whatever the number of streams
  private final Map<List<Integer>, DistributionSummary> memoryNorms = new ConcurrentHashMap<>();
  private final Map<List<Integer>, DistributionSummary> writeStrengths = new ConcurrentHashMap<>();
  private final Counter duplicates;
  private final Counter gaps;
  private final Counter expired;
  private final Counter openReused;
  private final Counter openRecomputed;
  private final AtomicLong openCacheBytes = new AtomicLong();
  private final Map<String, Counter> appliedByModel; // by full fingerprint, the loaded models
  private final Counter contextResets;
  private ScheduledExecutorService kafkaScheduler;
  private KafkaStreamsMetrics kafkaMetrics;

  /** Registers the JVM metrics and the processor's meters, all at zero, for one model. */
  public InfiniMetrics(String modelFingerprint) {
    this(modelFingerprint, List.of());
  }

  /**
   * As {@link #InfiniMetrics(String, List)} for the loaded {@code models}, with each model's output
   * gates ({@code infini_model_gate}).
   */
  public InfiniMetrics(Models models) {
    this(
        models.serving().fingerprint(),
        models.previous().stream().map(InfiniModel::fingerprint).toList());
    List<InfiniModel> all = new ArrayList<>();
    all.add(models.serving());
    all.addAll(models.previous());
    for (InfiniModel model : all) {
      for (int l = 0; l < model.config().layers(); l++) {
        float[] logits = model.weights().layer(l).gate().toFloatArray();
        for (int h = 0; h < logits.length; h++) {
          double g = 1.0 / (1.0 + Math.exp(-logits[h]));
          Gauge.builder("infini.model.gate", () -> g)
              .description(
                  "Each loaded model's output gate sigmoid(beta) per layer and head: the share of"
                      + " the head's output read from its memory (the rest is local attention)")
              .tag("fingerprint", shortId(model.fingerprint()))
              .tag("layer", Integer.toString(l))
              .tag("head", Integer.toString(h))
              .register(registry);
        }
      }
    }
  }

  /**
   * Registers the JVM metrics and the processor's meters, all at zero: the serving model of {@code
   * modelFingerprint} and the previous models of {@code previousFingerprints}, each with its own
   * series of {@code infini_model_info} and {@code infini_model_events_applied_total}.
   */
  public InfiniMetrics(String modelFingerprint, List<String> previousFingerprints) {
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);

    tokens =
        Counter.builder("infini.tokens.absorbed")
            .description(
                "Tokens added to streams' contexts by applied events: APPEND text (UTF-8 bytes),"
                    + " GENERATE prompts and replies")
            .register(registry);
    segments =
        Counter.builder("infini.segments.compressed")
            .description("Full segments written into streams' compressive memories")
            .register(registry);
    for (EventKind kind : EnumSet.complementOf(EnumSet.of(EventKind.UNKNOWN))) {
      String k = kind.name();
      applied.put(
          kind,
          Counter.builder("infini.events.applied")
              .description("Input events applied, by kind")
              .tag("kind", k)
              .register(registry));
      latency.put(
          kind,
          Timer.builder("infini.event.latency")
              .description("Time the processor spends on one applied event, decoding to output")
              .tag("kind", k)
              .serviceLevelObjectives(LATENCY_BUCKETS)
              .register(registry));
    }
    for (DeadLetterReason reason : DeadLetterReason.values()) {
      deadLetters.put(
          reason,
          Counter.builder("infini.dead.letters")
              .description("Input records sent to the dead-letter topic, by reason")
              .tag("reason", reason.name())
              .register(registry));
    }
    duplicates =
        Counter.builder("infini.seq.refused")
            .description(
                "Events refused for their seq (also counted in infini_dead_letters_total):"
                    + " duplicate (DUPLICATE_SEQ) or gap (SEQ_GAP)")
            .tag("kind", "duplicate")
            .register(registry);
    gaps =
        Counter.builder("infini.seq.refused")
            .description(
                "Events refused for their seq (also counted in infini_dead_letters_total):"
                    + " duplicate (DUPLICATE_SEQ) or gap (SEQ_GAP)")
            .tag("kind", "gap")
            .register(registry);
    expired =
        Counter.builder("infini.sessions.expired")
            .description(
                "Streams removed by the time-to-live sweep (session.ttl.ms): idle for that long")
            .register(registry);
    openReused =
        Counter.builder("infini.open.segment.calls")
            .description(
                "Model calls scoring an APPEND, by whether they continued from the stream's cached"
                    + " open segment (reused) or computed it afresh (recomputed)")
            .tag("result", "reused")
            .register(registry);
    openRecomputed =
        Counter.builder("infini.open.segment.calls")
            .description(
                "Model calls scoring an APPEND, by whether they continued from the stream's cached"
                    + " open segment (reused) or computed it afresh (recomputed)")
            .tag("result", "recomputed")
            .register(registry);
    Gauge.builder("infini.open.segment.cache", openCacheBytes, AtomicLong::get)
        .description("Native memory held by the open-segment cache (surprise.cache.bytes)")
        .baseUnit("bytes")
        .register(registry);
    Map<String, Counter> byModel = new HashMap<>();
    List<String> loaded = new ArrayList<>();
    loaded.add(modelFingerprint);
    loaded.addAll(previousFingerprints);
    for (String fingerprint : loaded) {
      String role = fingerprint.equals(modelFingerprint) ? "serving" : "previous";
      Gauge.builder("infini.model.info", () -> 1)
          .description(
              "The loaded models, always 1: fingerprint (first 12 hex digits) and role (serving:"
                  + " new streams; previous: kept for the streams it wrote)")
          .tag("fingerprint", shortId(fingerprint))
          .tag("role", role)
          .register(registry);
      byModel.put(
          fingerprint,
          Counter.builder("infini.model.events.applied")
              .description("Input events applied, by the loaded model that applied them")
              .tag("fingerprint", shortId(fingerprint))
              .tag("role", role)
              .register(registry));
    }
    appliedByModel = Map.copyOf(byModel);
    contextResets =
        Counter.builder("infini.sessions.upgraded")
            .description(
                "Streams another model wrote that an event started afresh under the serving model"
                    + " (model.upgrade.policy=reset)")
            .tag("action", "reset")
            .register(registry);
  }

  private static String shortId(String fingerprint) {
    return fingerprint.substring(0, Math.min(12, fingerprint.length()));
  }

  @Override
  public void applied(EventKind kind, long tokens, long segments, long nanos) {
    Counter c = applied.get(kind);
    if (c == null) {
      return; // UNKNOWN is dead-lettered before it is applied
    }
    c.increment();
    this.tokens.increment((double) tokens);
    this.segments.increment((double) segments);
    latency.get(kind).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void memoryWritten(int layer, int head, double norm) {
    perHead(
            memoryNorms,
            "infini.memory.norm",
            "Frobenius norm |M| of a head's memory after an event wrote it, per layer and head,"
                + " over the events this instance applied",
            layer,
            head)
        .record(norm);
  }

  @Override
  public void writeStrength(int layer, int head, double meanStrength, long segments) {
    DistributionSummary summary =
        perHead(
            writeStrengths,
            "infini.write.strength",
            "Mean write strength (the gated rule's beta over a segment's tokens) of a head, one"
                + " sample per segment an APPEND compressed, per layer and head",
            layer,
            head);
    for (long s = 0; s < segments; s++) {
      summary.record(meanStrength);
    }
  }

  /** The summary {@code name} of head ({@code layer}, {@code head}), registered on first use. */
  private DistributionSummary perHead(
      Map<List<Integer>, DistributionSummary> summaries,
      String name,
      String description,
      int layer,
      int head) {
    return summaries.computeIfAbsent(
        List.of(layer, head),
        k ->
            DistributionSummary.builder(name)
                .description(description)
                .tag("layer", Integer.toString(layer))
                .tag("head", Integer.toString(head))
                .register(registry));
  }

  @Override
  public void appliedBy(String fingerprint, boolean contextReset) {
    Counter c = appliedByModel.get(fingerprint);
    if (c != null) {
      c.increment();
    }
    if (contextReset) {
      contextResets.increment();
    }
  }

  @Override
  public void openSegments(long reused, long recomputed, long cacheBytes) {
    openReused.increment((double) reused);
    openRecomputed.increment((double) recomputed);
    openCacheBytes.set(cacheBytes);
  }

  @Override
  public void sessionsExpired(long count) {
    expired.increment((double) count);
  }

  @Override
  public void deadLettered(DeadLetterReason reason) {
    deadLetters.get(reason).increment();
    if (reason == DeadLetterReason.DUPLICATE_SEQ) {
      duplicates.increment();
    } else if (reason == DeadLetterReason.SEQ_GAP) {
      gaps.increment();
    }
  }

  /**
   * Adds the metrics of {@code streams}: Kafka Streams' own (client, threads, tasks, RocksDB
   * stores; refreshed every 10 s as threads and tasks come and go), the streams hosted and the
   * bytes of the local stores. Call once, before the instance starts.
   */
  public synchronized void bindStreams(KafkaStreams streams, TopologySettings settings) {
    if (kafkaMetrics != null) {
      throw new IllegalStateException("streams already bound");
    }
    kafkaScheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "infini-kafka-metrics");
              t.setDaemon(true);
              return t;
            });
    kafkaMetrics = new KafkaStreamsMetrics(streams, List.of(), kafkaScheduler, KAFKA_REFRESH);
    kafkaMetrics.bindTo(registry);
    Gauge.builder("infini.sessions.hosted", () -> sessionsHosted(streams, settings))
        .description(
            "Streams (keys) whose state this instance hosts in its active tasks; RocksDB's"
                + " estimate, NaN while the stores are not queryable")
        .register(registry);
    for (String store : List.of(settings.sessionsStore(), settings.memoryStore())) {
      Gauge.builder("infini.state.bytes", () -> stateBytes(streams, store))
          .description(
              "Bytes of a local state store, active and standby tasks: RocksDB's SST files plus"
                  + " its memtables' allocated memory")
          .baseUnit("bytes")
          .tag("store", store)
          .register(registry);
    }
  }

  private static double sessionsHosted(KafkaStreams streams, TopologySettings settings) {
    try {
      return streams
          .store(
              StoreQueryParameters.fromNameAndType(
                  settings.sessionsStore(), QueryableStoreTypes.keyValueStore()))
          .approximateNumEntries();
    } catch (InvalidStateStoreException e) {
      return Double.NaN;
    }
  }

  private static double stateBytes(KafkaStreams streams, String store) {
    double sum = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      MetricName name = e.getKey();
      if (STATE_METRICS_GROUP.equals(name.group())
          && STATE_SIZE_METRICS.contains(name.name())
          && store.equals(name.tags().get("rocksdb-state-id"))
          && e.getValue().metricValue() instanceof Number n) {
        sum += n.doubleValue();
      }
    }
    return sum;
  }

  /** The registry (for tests and further binders). */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Every metric in the Prometheus text format (version 0.0.4). */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public synchronized void close() {
    if (kafkaMetrics != null) {
      kafkaMetrics.close();
    }
    if (kafkaScheduler != null) {
      kafkaScheduler.shutdownNow();
    }
    gcMetrics.close();
    registry.close();
  }
}
