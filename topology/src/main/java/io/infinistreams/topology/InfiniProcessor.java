package io.infinistreams.topology;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.OpenSegmentCache;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies input events to their stream's state: one stream per key, its state in two stores.
 *
 * <p>Per record: decode and validate (a bad record goes to the dead-letter sink with a {@link
 * DeadLetterReason}); check the seq ({@link SequencePolicy}) and the model ({@link ModelGuard});
 * read the head memories; absorb (APPEND) or generate (GENERATE) through the model, or delete the
 * stream (RESET); compute every record that changed ({@link StateChange}), write them, emit one
 * {@link OutputEvent}. Any exception while applying the event dead-letters it; state is written
 * only after the event was applied in full, so a rejected event leaves the stores byte-for-byte as
 * they were, and every input record yields exactly one output or dead letter, and one call to the
 * topology's {@link ProcessorMetrics}.
 *
 * <p>Lifecycle: Kafka Streams creates one instance per task through {@link Supplier}, calls {@link
 * #init} once with the task's context (stores are fetched there), then {@link #process} for each
 * record, then {@link #close}. The instance keeps no state of its own between records; the model is
 * shared across tasks and threads.
 */
final class InfiniProcessor implements Processor<byte[], byte[], Object, Object> {
  private static final Logger log = LoggerFactory.getLogger(InfiniProcessor.class);
  private static final double LN2 = Math.log(2);
  private static final int MAX_DETAIL_CHARS = 1000;
  static final int LOG_FIRST_PER_REASON = 10;
  static final long LOG_WINDOW_MILLIS = 60_000;

  /** Sessions the time-to-live sweep examines per punctuation (it resumes where it stopped). */
  static final int SWEEP_BATCH = 10_000;

  /** Creates processors and declares their two stores next to them. */
  static final class Supplier implements ProcessorSupplier<byte[], byte[], Object, Object> {
    private final TopologySettings settings;
    private final Models models;
    private final Map<String, ModelCalls> calls; // by model fingerprint
    private final ProcessorMetrics metrics;
    private final OpenSegmentCaches openSegments; // shared by every task of the topology

    /**
     * @param calls the calls of each loaded model, by fingerprint
     */
    Supplier(
        TopologySettings settings,
        Models models,
        Map<String, ModelCalls> calls,
        ProcessorMetrics metrics) {
      this.settings = settings;
      this.models = models;
      this.calls = Map.copyOf(calls);
      this.metrics = metrics;
      this.openSegments = new OpenSegmentCaches(settings.openCacheBytes());
    }

    @Override
    public Processor<byte[], byte[], Object, Object> get() {
      return new InfiniProcessor(settings, models, calls, metrics, openSegments);
    }

    @Override
    public Set<StoreBuilder<?>> stores() {
      Map<String, String> changelog =
          Map.of(
              "max.message.bytes",
              Integer.toString(StreamsProps.maxMessageBytes(models, settings)));
      StoreBuilder<KeyValueStore<String, StoredSession>> sessions =
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(settings.sessionsStore()),
                  InfiniTopology.KEY_SERDE,
                  InfiniTopology.SESSION_SERDE)
              .withLoggingEnabled(changelog)
              .withCachingEnabled();
      StoreBuilder<KeyValueStore<MemoryKey, StoredHeadMemory>> memory =
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(settings.memoryStore()),
                  MemoryKey.SERDE,
                  InfiniTopology.HEAD_MEMORY_SERDE)
              .withLoggingEnabled(changelog)
              .withCachingEnabled();
      return Set.of(sessions, memory);
    }
  }

  private final TopologySettings settings;
  private final InputChecks checks;
  private final Models models;
  private final Map<String, ModelCalls> calls;
  private final ProcessorMetrics metrics;
  private final OpenSegmentCaches openSegments;
  private final DeadLetterLog deadLetterLog =
      new DeadLetterLog(LOG_FIRST_PER_REASON, LOG_WINDOW_MILLIS);
  private ProcessorContext<Object, Object> context;
  private TaskId task;
  private KeyValueStore<String, StoredSession> sessions;
  private KeyValueStore<MemoryKey, StoredHeadMemory> memory;

  /** Null when {@code maxCrashesPerEvent} is 0. */
  private AttemptJournal journal;

  /** Segments the event being applied compressed into memory; set by {@link #apply}. */
  private long segmentsThisEvent;

  /**
   * (L*H) the sums over the segments an APPEND compressed of each head's mean write strength, or
   * null; set by {@link #apply}, reported once the event is written.
   */
  private double[] strengthsThisEvent;

  /** The last stream id the time-to-live sweep examined; null: start from the first. */
  private String sweepCursor;

  /** Context resets of the upgrade policy logged by this task (the first few only). */
  /** Sweeps that logged the sessions they could not read (at most LOG_FIRST_PER_REASON). */
  private int unreadableSweepsLogged;

  private int contextResetsLogged;

  private InfiniProcessor(
      TopologySettings settings,
      Models models,
      Map<String, ModelCalls> calls,
      ProcessorMetrics metrics,
      OpenSegmentCaches openSegments) {
    this.settings = settings;
    this.checks = new InputChecks(settings);
    this.models = models;
    this.calls = calls;
    this.metrics = metrics;
    this.openSegments = openSegments;
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.task = context.taskId();
    this.sessions = context.getStateStore(settings.sessionsStore());
    this.memory = context.getStateStore(settings.memoryStore());
    if (settings.maxCrashesPerEvent() > 0) {
      this.journal = AttemptJournal.open(journalFile(context));
    }
    if (settings.sessionTtlMillis() > 0) {
      context.schedule(
          sweepInterval(settings.sessionTtlMillis()), PunctuationType.WALL_CLOCK_TIME, this::sweep);
    }
  }

  /**
   * The task's attempt journal: {@code <state.dir>/infini-attempts/<application.id>/<task>},
   * outside the application's folder, which Kafka Streams wipes per task when it restores a store
   * after a crash.
   */
  static Path journalFile(ProcessorContext<?, ?> context) {
    Object stateDir = context.appConfigs().get(StreamsConfig.STATE_DIR_CONFIG);
    if (stateDir == null) {
      throw new IllegalStateException(StreamsConfig.STATE_DIR_CONFIG + " is not set");
    }
    return Path.of(stateDir.toString(), "infini-attempts", context.applicationId())
        .resolve(context.taskId().toString());
  }

  /** A tenth of the time-to-live, between 1 s and 1 min. */
  static Duration sweepInterval(long ttlMillis) {
    return Duration.ofMillis(Math.max(1_000, Math.min(60_000, ttlMillis / 10)));
  }

  /**
   * The time-to-live sweep: examines up to {@link #SWEEP_BATCH} sessions after the cursor and
   * removes those to which nothing was applied for {@code sessionTtlMillis} (their session, their
   * head memories, their open-segment cache entry); a session written before its last-applied time
   * was recorded gets {@code now}. Runs on the task's thread between records, so it never races an
   * event of the same stream; its deletes are written to the changelogs like any other.
   */
  private void sweep(long now) {
    long ttl = settings.sessionTtlMillis();
    List<String> expired = new ArrayList<>();
    List<KeyValue<String, StoredSession>> unstamped = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    String last = null;
    int examined = 0;
    try (KeyValueIterator<String, StoredSession> it =
        sweepCursor == null ? sessions.all() : sessions.range(sweepCursor, null)) {
      while (it.hasNext() && examined < SWEEP_BATCH) {
        String key = it.peekNextKey();
        KeyValue<String, StoredSession> kv;
        try {
          kv = it.next();
        } catch (SerializationException e) {
          kv = null; // a session this version cannot read: it stays until a DELETE of its stream
        }
        if (key.equals(sweepCursor)) {
          continue; // examined by the previous sweep
        }
        examined++;
        last = key;
        if (kv == null) {
          unreadable.add(key);
          continue;
        }
        long applied = kv.value.getLastAppliedMillis();
        if (applied == 0) {
          unstamped.add(kv);
        } else if (now - applied >= ttl) {
          expired.add(kv.key);
        }
      }
      sweepCursor = it.hasNext() ? last : null;
    }
    for (KeyValue<String, StoredSession> kv : unstamped) {
      kv.value.setLastAppliedMillis(now);
      sessions.put(kv.key, kv.value);
    }
    for (String streamId : expired) {
      new StateChange(headKeys(streamId), Map.of(), null).writeTo(streamId, sessions, memory);
      openSegments.remove(task, streamId);
    }
    if (!unreadable.isEmpty() && unreadableSweepsLogged < LOG_FIRST_PER_REASON) {
      unreadableSweepsLogged++;
      log.warn(
          "{} stored session(s) of task {} cannot be read by this version (written by a newer"
              + " one, or damaged), so they never expire; a DELETE of the stream removes one:"
              + " e.g. stream {}{}",
          unreadable.size(),
          task,
          unreadable.get(0),
          unreadableSweepsLogged == LOG_FIRST_PER_REASON ? " (not logged again)" : "");
    }
    if (!expired.isEmpty()) {
      log.info(
          "removed {} stream(s) idle for {} ms or more (session.ttl.ms), e.g. {}",
          expired.size(),
          ttl,
          expired.get(0));
      metrics.sessionsExpired(expired.size());
    }
  }

  @Override
  public void close() {
    if (task != null) {
      openSegments.dropTask(task);
    }
    if (journal != null) {
      journal.close();
    }
  }

  /**
   * Applies the record, counting the attempt in the {@linkplain AttemptJournal attempt journal}
   * first: a record that stopped the processor {@code maxCrashesPerEvent} times already is
   * dead-lettered ({@code CRASH_LOOP}) instead.
   */
  @Override
  public void process(Record<byte[], byte[]> record) {
    AttemptJournal.Source source =
        journal == null
            ? null
            : context
                .recordMetadata()
                .map(m -> new AttemptJournal.Source(m.topic(), m.partition(), m.offset()))
                .orElse(null);
    if (source == null) {
      processOnce(record);
      return;
    }
    long now = context.currentSystemTimeMs();
    AttemptJournal.Entry entry;
    try {
      entry = journal.begin(source, now);
    } catch (UncheckedIOException e) {
      disableJournal(e);
      processOnce(record);
      return;
    }
    if (entry.convicted() || entry.attempts() > settings.maxCrashesPerEvent()) {
      int crashes = entry.attempts() - 1;
      Rejected rejected =
          new Rejected(
              DeadLetterReason.CRASH_LOOP,
              "applying this record stopped the processor "
                  + crashes
                  + " time(s) (the process died or its stream thread failed while applying it);"
                  + " it is not applied again (event.max.crashes="
                  + settings.maxCrashesPerEvent()
                  + ")",
              entry.lastError().isEmpty()
                  ? Map.of()
                  : Map.of(DeadLetterReason.EXCEPTION_HEADER, entry.lastError()),
              null);
      log.error(
          "record from {}: {}",
          source(context, record, settings.repartitionInput()),
          rejected.getMessage());
      deadLetter(record, rejected);
      metrics.deadLettered(rejected.reason);
      // kept as a verdict, not forgotten: if this transaction aborts, the replay is refused again
      journalSafely(() -> journal.convict(source, now));
      return;
    }
    try {
      processOnce(record);
    } catch (Error e) {
      journalSafely(() -> journal.failed(source, e));
      throw e;
    } catch (RuntimeException e) {
      // what escapes apply is Kafka's or the stores' failure (the record's own are dead-lettered
      // inside): not a crash of this record
      journalSafely(() -> journal.finish(source));
      throw e;
    }
    journalSafely(() -> journal.finish(source));
  }

  /** Runs a journal update; an I/O failure turns the journal off rather than the processor. */
  private void journalSafely(Runnable update) {
    if (journal == null) {
      return;
    }
    try {
      update.run();
    } catch (UncheckedIOException e) {
      disableJournal(e);
    }
  }

  private void disableJournal(UncheckedIOException e) {
    log.error(
        "the attempt journal of task {} cannot be written ({}); crash loops are not counted on"
            + " this task until it is reassigned",
        task,
        e.getMessage());
    journal.close();
    journal = null;
  }

  private void processOnce(Record<byte[], byte[]> record) {
    long start = System.nanoTime();
    String streamId = null;
    ModelGuard.Route route = null; // the model that applies the event
    OpenSegmentCache open = null; // the stream's open-segment cache, owned while applying
    boolean keepOpen = false;
    try {
      streamId = checks.streamId(record.key());
      InputEvent event = checks.decode(record.value());
      checks.validate(event);
      StoredSession session;
      try {
        session = sessions.get(streamId);
        SequencePolicy.check(session, event.getSeq());
      } catch (SerializationException e) {
        if (event.getKind() != EventKind.DELETE) {
          throw unreadableSession(e);
        }
        // only a DELETE clears a session that cannot be read, whatever its seq
        log.warn(
            "record from {}: DELETE of stream {}, whose stored session cannot be read by this"
                + " version, removes it without a seq check",
            source(context, record, settings.repartitionInput()),
            streamId);
        session = null;
      } catch (RuntimeException e) {
        throw Rejected.failure(e);
      }
      route = ModelGuard.route(event, session, models);
      open = openSegments.take(task, streamId, route.model());
      long reusedBefore = open == null ? 0 : open.hits();
      long recomputedBefore = open == null ? 0 : open.misses();
      OutputEvent.Builder out = OutputEvent.newBuilder();
      StateChange change;
      try {
        change = apply(streamId, event, session, route, out, open);
      } catch (RuntimeException e) {
        throw Rejected.failure(e);
      }
      change.writeTo(streamId, sessions, memory);
      change
          .puts()
          .forEach(
              (k, h) ->
                  metrics.memoryWritten(k.layer(), k.head(), StateCodec.fromStored(h).norm()));
      reportWriteStrengths(route.model().config().heads());
      OutputEvent output =
          out.setStreamId(streamId)
              .setSeq(event.getSeq())
              .setKind(event.getKind())
              .setModelFingerprint(route.model().fingerprint())
              .setEventTime(event.getEventTime())
              .setLatencyMicros((System.nanoTime() - start) / 1000)
              .build();
      RecordHeaders headers = new RecordHeaders();
      if (route.resetFrom() != null) {
        headers.add(InfiniTopology.CONTEXT_RESET_HEADER, utf8(route.resetFrom()));
        logContextReset(record, route);
      }
      context.forward(
          new Record<Object, Object>(streamId, output, record.timestamp(), headers),
          InfiniTopology.OUTPUT_SINK);
      // Only an APPEND leaves the cache describing the stream's new state.
      keepOpen = event.getKind() == EventKind.APPEND;
      metrics.applied(
          event.getKind(),
          output.getTokensThisEvent(),
          segmentsThisEvent,
          System.nanoTime() - start);
      metrics.appliedBy(route.model().fingerprint(), route.resetFrom() != null);
      if (open != null && output.getSurpriseBitsPerByte() != null) {
        metrics.openSegments(
            open.hits() - reusedBefore,
            open.misses() - recomputedBefore,
            openSegments.bytes() + open.bytes());
      }
    } catch (Rejected rejected) {
      deadLetter(record, rejected);
      metrics.deadLettered(rejected.reason);
    } finally {
      if (keepOpen) {
        openSegments.give(task, streamId, route.model(), open);
      } else if (open != null) {
        open.close();
      }
    }
  }

  /** Reports the applied APPEND's mean write strength per head over the segments it compressed. */
  private void reportWriteStrengths(int heads) {
    if (strengthsThisEvent == null || segmentsThisEvent == 0) {
      return;
    }
    for (int i = 0; i < strengthsThisEvent.length; i++) {
      metrics.writeStrength(
          i / heads, i % heads, strengthsThisEvent[i] / segmentsThisEvent, segmentsThisEvent);
    }
  }

  /** Logs the first few context resets of the upgrade policy (each is also in the output). */
  private void logContextReset(Record<byte[], byte[]> record, ModelGuard.Route route) {
    if (contextResetsLogged < LOG_FIRST_PER_REASON) {
      contextResetsLogged++;
      log.info(
          "record from {}: its stream, written by model {}, started afresh under model {}"
              + " (model.upgrade.policy=reset){}",
          source(context, record, settings.repartitionInput()),
          route.resetFrom(),
          route.model().fingerprint(),
          contextResetsLogged == LOG_FIRST_PER_REASON
              ? "; further ones are not logged (infini_sessions_upgraded_total counts them)"
              : "");
    }
  }

  /**
   * Computes everything the event changes in the stream, applied by {@code route}'s model, writing
   * nothing. Any exception here dead-letters the event ({@link Rejected#failure}).
   */
  private StateChange apply(
      String streamId,
      InputEvent event,
      StoredSession session,
      ModelGuard.Route route,
      OutputEvent.Builder out,
      OpenSegmentCache open)
      throws Rejected {
    segmentsThisEvent = 0;
    strengthsThisEvent = null;
    return switch (event.getKind()) {
      case RESET -> reset(streamId, event, out);
      case IMPORT -> importSnapshot(streamId, event, out);
      case DELETE -> delete(streamId, out);
      default -> step(streamId, event, session, route, out, open);
    };
  }

  /** The keys of the stream's stored head memories, readable or not. */
  private List<MemoryKey> headKeys(String streamId) {
    return MemoryKey.keys(memory, streamId);
  }

  /** An event to a stream whose stored session this version cannot decode. */
  private static Rejected unreadableSession(SerializationException e) {
    return new Rejected(
        DeadLetterReason.STATE_UNREADABLE,
        "the stream's stored session cannot be read by this version (written by a newer one, or"
            + " damaged): "
            + e.getMessage()
            + "; a DELETE of the stream removes it",
        Map.of(DeadLetterReason.EXCEPTION_HEADER, Rejected.stackSummary(e)),
        e);
  }

  /**
   * RESET: deletes the stream's memories and starts it afresh under the serving model; the session
   * keeps only lastSeq (see docs).
   */
  private StateChange reset(String streamId, InputEvent event, OutputEvent.Builder out) {
    List<MemoryKey> keys = headKeys(streamId);
    InfiniModel model = models.serving();
    StreamState fresh = model.newState();
    out.setTokensThisEvent(0)
        .setTokensTotal(fresh.tokensAbsorbed())
        .setSegmentsTotal(fresh.segmentsAbsorbed());
    return new StateChange(
        keys,
        Map.of(),
        StateCodec.toSession(
            fresh, event.getSeq(), model.fingerprint(), context.currentSystemTimeMs()));
  }

  /**
   * DELETE: removes the stream, its session and every head memory (tombstones in the changelogs),
   * as the time-to-live sweep does; the key's next event starts a new stream at seq 1. A stream
   * that does not exist is left as it is (the DELETE, seq 1, still has its output). Its
   * open-segment cache entry was taken out for this event and is closed after it.
   */
  private StateChange delete(String streamId, OutputEvent.Builder out) {
    out.setTokensThisEvent(0).setTokensTotal(0).setSegmentsTotal(0);
    return new StateChange(headKeys(streamId), Map.of(), null);
  }

  /**
   * IMPORT: the event's snapshot replaces the stream's state (session and every head memory, the
   * stored bytes exactly as exported); the session's lastSeq becomes the event's seq. Every record
   * is checked against the serving model, the only one that imports, before anything is written.
   */
  private StateChange importSnapshot(String streamId, InputEvent event, OutputEvent.Builder out)
      throws Rejected {
    ModelConfig config = models.serving().config();
    String fingerprint = models.serving().fingerprint();
    SessionSnapshots.Decoded d;
    try {
      d =
          SessionSnapshots.decode(
              event.getSnapshot() == null ? null : SessionSnapshots.bytes(event.getSnapshot()));
    } catch (IllegalArgumentException e) {
      throw new Rejected(DeadLetterReason.INVALID_SNAPSHOT, e.getMessage());
    }
    String writer = d.snapshot().getModelFingerprint();
    if (!fingerprint.equals(writer) || !fingerprint.equals(d.session().getModelFingerprint())) {
      throw new Rejected(
          DeadLetterReason.FINGERPRINT_MISMATCH,
          "snapshot written by model " + writer + ", the serving model is " + fingerprint);
    }
    HeadMemory[] heads = new HeadMemory[config.layers() * config.heads()];
    Map<MemoryKey, StoredHeadMemory> puts = new LinkedHashMap<>();
    for (StoredHeadMemory h : d.memories()) {
      int layer = h.getLayer();
      int head = h.getHead();
      if (layer < 0 || layer >= config.layers() || head < 0 || head >= config.heads()) {
        throw new Rejected(
            DeadLetterReason.INVALID_SNAPSHOT,
            "snapshot holds memory of layer " + layer + " head " + head + ", outside the model");
      }
      if (!fingerprint.equals(h.getModelFingerprint())) {
        throw new Rejected(
            DeadLetterReason.FINGERPRINT_MISMATCH,
            "snapshot's memory of layer "
                + layer
                + " head "
                + head
                + " written by model "
                + h.getModelFingerprint());
      }
      int i = layer * config.heads() + head;
      if (heads[i] != null) {
        throw new Rejected(
            DeadLetterReason.INVALID_SNAPSHOT,
            "snapshot holds layer " + layer + " head " + head + " twice");
      }
      try {
        heads[i] = StateCodec.fromStored(h);
      } catch (IllegalArgumentException e) {
        throw new Rejected(DeadLetterReason.INVALID_SNAPSHOT, e.getMessage());
      }
      if (heads[i].dKey() != config.dKey() || heads[i].dValue() != config.dValue()) {
        throw new Rejected(
            DeadLetterReason.INVALID_SNAPSHOT,
            "snapshot's memory of layer " + layer + " head " + head + " has another shape");
      }
      puts.put(new MemoryKey(streamId, layer, head), h);
    }
    if (puts.size() != heads.length && (!puts.isEmpty() || d.session().getSegmentsAbsorbed() > 0)) {
      throw new Rejected(
          DeadLetterReason.INVALID_SNAPSHOT,
          "snapshot holds " + puts.size() + " of the model's " + heads.length + " head memories");
    }
    for (int i = 0; i < heads.length; i++) {
      if (heads[i] == null) {
        heads[i] = HeadMemory.zero(config.dKey(), config.dValue());
      }
    }
    StreamState state;
    try {
      state = StateCodec.toState(config, d.session(), Arrays.asList(heads));
      StateCodec.checkTokens(config, d.session());
    } catch (IllegalArgumentException e) {
      throw new Rejected(DeadLetterReason.INVALID_SNAPSHOT, e.getMessage());
    }
    List<MemoryKey> deletes = new ArrayList<>();
    for (MemoryKey k : headKeys(streamId)) {
      if (!puts.containsKey(k)) {
        deletes.add(k);
      }
    }
    StoredSession session = StoredSession.newBuilder(d.session()).build();
    session.setLastSeq(event.getSeq());
    session.setLastAppliedMillis(context.currentSystemTimeMs());
    out.setTokensThisEvent(0)
        .setTokensTotal(state.tokensAbsorbed())
        .setSegmentsTotal(state.segmentsAbsorbed());
    return new StateChange(deletes, puts, session);
  }

  /**
   * APPEND or GENERATE: read state (or, when the route resets the stream, start it afresh and drop
   * every stored head), run the route's model, compute what changed.
   */
  private StateChange step(
      String streamId,
      InputEvent event,
      StoredSession session,
      ModelGuard.Route route,
      OutputEvent.Builder out,
      OpenSegmentCache open)
      throws Rejected {
    InfiniModel model = route.model();
    ModelCalls calls = this.calls.get(model.fingerprint());
    Loaded loaded;
    List<MemoryKey> dropped = List.of();
    if (route.resetFrom() != null) {
      loaded = new Loaded(model.newState(), false);
      dropped = headKeys(streamId);
    } else {
      loaded = load(streamId, session, model);
    }
    StreamState before = loaded.state();
    StreamState after =
        event.getKind() == EventKind.APPEND
            ? append(calls, before, event.getText(), out, open)
            : generate(calls, before, event, out);
    out.setTokensThisEvent(after.tokensAbsorbed() - before.tokensAbsorbed())
        .setTokensTotal(after.tokensAbsorbed())
        .setSegmentsTotal(after.segmentsAbsorbed());
    segmentsThisEvent = after.segmentsAbsorbed() - before.segmentsAbsorbed();
    return changes(
        streamId, model, !loaded.allHeadsStored(), before, after, event.getSeq(), dropped);
  }

  private StreamState append(
      ModelCalls calls,
      StreamState state,
      String text,
      OutputEvent.Builder out,
      OpenSegmentCache open) {
    int[] tokens = ByteTokenizer.encode(text);
    boolean score = settings.computeSurprise() && tokens.length > 0;
    double logProbSum = 0;
    for (int from = 0; from < tokens.length; from += settings.absorbChunkTokens()) {
      int to = Math.min(tokens.length, from + settings.absorbChunkTokens());
      AbsorbResult r = calls.absorb(state, Arrays.copyOfRange(tokens, from, to), score, open);
      state = r.state();
      float[] st = r.writeStrengths();
      if (st != null) {
        if (strengthsThisEvent == null) {
          strengthsThisEvent = new double[st.length];
        }
        for (int i = 0; i < st.length; i++) {
          strengthsThisEvent[i] += (double) st[i] * r.segmentsCompressed();
        }
      }
      if (score) {
        for (float lp : r.logProbs()) {
          logProbSum += lp;
        }
      }
    }
    // APPEND text is byte-tokenized: tokens == UTF-8 bytes
    out.setSurpriseBitsPerByte(score ? -logProbSum / LN2 / tokens.length : null);
    return state;
  }

  private StreamState generate(
      ModelCalls calls, StreamState state, InputEvent event, OutputEvent.Builder out) {
    Generation g = event.getGeneration();
    int[] prompt =
        g.getFormat() == PromptFormat.CHAT
            ? ByteTokenizer.chatTurn(event.getText())
            : ByteTokenizer.encode(event.getText());
    // absorb all but the prompt's last chunk first, so no model call exceeds the chunk size;
    // the memory does not depend on how the context is split into calls
    int head = Math.max(0, prompt.length - settings.absorbChunkTokens());
    for (int from = 0; from < head; from += settings.absorbChunkTokens()) {
      int to = Math.min(head, from + settings.absorbChunkTokens());
      state = calls.absorb(state, Arrays.copyOfRange(prompt, from, to), false, null).state();
    }
    GenerationSettings gs =
        new GenerationSettings(
            g.getMaxNewTokens(), g.getTemperature(), g.getSeed(), settings.stopAtEos());
    GenerateResult r = calls.generate(state, Arrays.copyOfRange(prompt, head, prompt.length), gs);
    out.setGeneratedText(ByteTokenizer.decode(r.generated()));
    return r.state();
  }

  /**
   * A stream's state as read from the stores.
   *
   * @param allHeadsStored false for a new or just-reset stream, whose zero memories have no records
   *     yet
   */
  private record Loaded(StreamState state, boolean allHeadsStored) {}

  /** The stream's current state under {@code model}, or a new stream's if it has no session. */
  private Loaded load(String streamId, StoredSession session, InfiniModel model) throws Rejected {
    if (session == null) {
      return new Loaded(model.newState(), false);
    }
    ModelConfig config = model.config();
    String fingerprint = model.fingerprint();
    boolean allHeadsStored = true;
    List<HeadMemory> memories = new ArrayList<>(config.layers() * config.heads());
    for (int layer = 0; layer < config.layers(); layer++) {
      for (int head = 0; head < config.heads(); head++) {
        StoredHeadMemory stored = memory.get(new MemoryKey(streamId, layer, head));
        if (stored == null) {
          if (session.getSegmentsAbsorbed() > 0) {
            throw new Rejected(
                DeadLetterReason.STATE_MISMATCH,
                "memory of layer "
                    + layer
                    + " head "
                    + head
                    + " missing after "
                    + session.getSegmentsAbsorbed()
                    + " segments");
          }
          memories.add(HeadMemory.zero(config.dKey(), config.dValue()));
          allHeadsStored = false;
          continue;
        }
        if (!fingerprint.equals(stored.getModelFingerprint())) {
          throw new Rejected(
              DeadLetterReason.FINGERPRINT_MISMATCH,
              "memory of layer "
                  + layer
                  + " head "
                  + head
                  + " written by model "
                  + stored.getModelFingerprint()
                  + ", this model is "
                  + fingerprint
                  + "; RESET the stream");
        }
        try {
          memories.add(StateCodec.fromStored(stored));
        } catch (IllegalArgumentException e) {
          throw new Rejected(DeadLetterReason.STATE_MISMATCH, e.getMessage());
        }
      }
    }
    try {
      return new Loaded(StateCodec.toState(config, session, memories), allHeadsStored);
    } catch (IllegalArgumentException e) {
      throw new Rejected(DeadLetterReason.STATE_MISMATCH, e.getMessage());
    }
  }

  /**
   * The session and every head memory that changed (all of them if some had no record), written by
   * {@code model}; the head records in {@code dropped} that are not written again are deleted.
   */
  private StateChange changes(
      String streamId,
      InfiniModel model,
      boolean writeAll,
      StreamState before,
      StreamState after,
      long seq,
      List<MemoryKey> dropped) {
    ModelConfig config = model.config();
    String fingerprint = model.fingerprint();
    Map<MemoryKey, StoredHeadMemory> puts = new LinkedHashMap<>();
    for (int layer = 0; layer < config.layers(); layer++) {
      for (int head = 0; head < config.heads(); head++) {
        HeadMemory m = after.memory(layer, head);
        if (writeAll || !m.equals(before.memory(layer, head))) {
          puts.put(
              new MemoryKey(streamId, layer, head),
              StateCodec.toStored(layer, head, m, fingerprint));
        }
      }
    }
    List<MemoryKey> deletes = new ArrayList<>();
    for (MemoryKey k : dropped) {
      if (!puts.containsKey(k)) {
        deletes.add(k);
      }
    }
    return new StateChange(
        deletes,
        puts,
        StateCodec.toSession(after, seq, fingerprint, context.currentSystemTimeMs()));
  }

  private void deadLetter(Record<byte[], byte[]> record, Rejected rejected) {
    String source = source(context, record, settings.repartitionInput());
    context.forward(
        deadLetterRecord(record, rejected, source, deadLetterLog), InfiniTopology.DEAD_LETTER_SINK);
  }

  /**
   * Where {@code record} was read from the input topic, {@code topic/partition/offset}. Behind the
   * repartition step that is the {@link DeadLetterReason#SOURCE_HEADER} the step wrote (a
   * producer's own header of that name is replaced there); without it, the record's own metadata.
   */
  static String source(
      ProcessorContext<?, ?> context, Record<byte[], byte[]> record, boolean repartitioned) {
    if (repartitioned) {
      Header origin = record.headers().lastHeader(DeadLetterReason.SOURCE_HEADER);
      if (origin != null && origin.value() != null) {
        return new String(origin.value(), StandardCharsets.UTF_8);
      }
    }
    return context.recordMetadata().map(InfiniProcessor::describe).orElse("unknown");
  }

  /**
   * The dead letter of {@code record}: its key, value and timestamp, its headers but those starting
   * with {@link DeadLetterReason#HEADER_PREFIX}, then the reason, detail, source and the
   * rejection's own headers. Logs it through {@code deadLetterLog}.
   */
  static Record<Object, Object> deadLetterRecord(
      Record<byte[], byte[]> record,
      Rejected rejected,
      String source,
      DeadLetterLog deadLetterLog) {
    String detail = truncate(rejected.getMessage());
    String line =
        "dead-lettered record from " + source + ": " + rejected.reason + " (" + detail + ")";
    String logLine = deadLetterLog.onDeadLetter(rejected.reason, line, System.currentTimeMillis());
    if (logLine != null) {
      log.warn(logLine);
    }
    RecordHeaders headers = new RecordHeaders();
    for (Header h : record.headers()) {
      if (!h.key().startsWith(DeadLetterReason.HEADER_PREFIX)) {
        headers.add(h);
      }
    }
    headers.add(DeadLetterReason.HEADER, utf8(rejected.reason.name()));
    headers.add(DeadLetterReason.DETAIL_HEADER, utf8(detail));
    headers.add(DeadLetterReason.SOURCE_HEADER, utf8(source));
    rejected.headers.forEach((k, v) -> headers.add(k, utf8(v)));
    return new Record<Object, Object>(record.key(), record.value(), record.timestamp(), headers);
  }

  static String describe(RecordMetadata m) {
    return m.topic() + "/" + m.partition() + "/" + m.offset();
  }

  private static String truncate(String detail) {
    String d = detail == null ? "" : detail;
    return d.length() <= MAX_DETAIL_CHARS ? d : d.substring(0, MAX_DETAIL_CHARS);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
