package io.infinistreams.topology;

/**
 * What {@link InfiniTopology#build} needs besides the model: topic and store names and the bounds
 * on per-event work. Plain values; the app layer maps its configuration onto this record.
 *
 * @param inputTopic input events (key: stream id, value: InputEvent). Default {@code infini-input}.
 * @param outputTopic output events (key: stream id, value: OutputEvent). Default {@code
 *     infini-output}.
 * @param deadLetterTopic rejected events, original key and value bytes, reason in headers. Default
 *     {@code infini-dlq}.
 * @param sessionsStore store name of the per-stream sessions; also names its changelog topic
 *     ({@code <application.id>-<name>-changelog}). Default {@code infini-sessions}.
 * @param memoryStore store name of the per-(stream, layer, head) memories. Default {@code
 *     infini-memory}.
 * @param maxEventTextBytes largest event text in UTF-8 bytes; larger events are dead-lettered
 *     (TEXT_TOO_LARGE). Bounds the work of one record: see docs/streaming.md, "Bounded work per
 *     record". Default 16384.
 * @param absorbChunkTokens tokens per model call when absorbing an event's text: bounds native
 *     memory and the length of one call; the result does not depend on it. Default 2048.
 * @param maxNewTokensLimit largest maxNewTokens a GENERATE may ask for; above it the event is
 *     dead-lettered (INVALID_SETTINGS). Default 1024.
 * @param maxStreamIdBytes longest stream id (the key) in UTF-8 bytes; longer keys are dead-lettered
 *     (INVALID_KEY). Default 256.
 * @param computeSurprise score appended text (surpriseBitsPerByte); costs a forward pass over the
 *     tokens of the open segment. Default true.
 * @param stopAtEos generation stops after the model emits EOS. Default true.
 * @param repartitionInput bring every input record to the partition that owns its key (murmur2 of
 *     the key bytes, as Java clients' default partitioner) through an internal repartition topic
 *     before the processor, so a stream's state is in one task whichever partitioner the producer
 *     used. False: the processor reads the input topic directly, one topic hop less, and every
 *     producer must partition by murmur2 of the key bytes. Default true.
 * @param openCacheBytes bound on the native memory that keeps recently active streams' open
 *     segments computed between events ({@link OpenSegmentCaches}), so that scoring an APPEND costs
 *     its own tokens; 0 recomputes the open segment on every scored APPEND. Shared by all stream
 *     threads of the instance. Default 64 MiB.
 * @param sessionTtlMillis a stream to which no event was applied for this long (wall clock) is
 *     removed: its session and head memories are deleted, with tombstones in the changelogs; a
 *     later event for its key starts a new stream at seq 1. 0 keeps every stream forever. Default
 *     0.
 * @param maxCrashesPerEvent an input record whose processing stopped the processor this many times
 *     (the process died or its stream thread failed while applying it: a native crash, an
 *     out-of-memory error, kill -9) is dead-lettered ({@code CRASH_LOOP}) the next time it is read
 *     instead of being applied again. Counted per instance in a small file beside the state stores
 *     ({@link AttemptJournal}). 0 never dead-letters such a record: it is retried on every restart.
 *     Default 3.
 */
public record TopologySettings(
    String inputTopic,
    String outputTopic,
    String deadLetterTopic,
    String sessionsStore,
    String memoryStore,
    int maxEventTextBytes,
    int absorbChunkTokens,
    int maxNewTokensLimit,
    int maxStreamIdBytes,
    boolean computeSurprise,
    boolean stopAtEos,
    boolean repartitionInput,
    long openCacheBytes,
    long sessionTtlMillis,
    int maxCrashesPerEvent) {

  /** Default of {@link #maxCrashesPerEvent}: 3. */
  public static final int DEFAULT_MAX_CRASHES_PER_EVENT = 3;

  /** Default of {@link #openCacheBytes}: 64 MiB. */
  public static final long DEFAULT_OPEN_CACHE_BYTES = 64L << 20;

  public TopologySettings {
    requireName(inputTopic, "inputTopic");
    requireName(outputTopic, "outputTopic");
    requireName(deadLetterTopic, "deadLetterTopic");
    requireName(sessionsStore, "sessionsStore");
    requireName(memoryStore, "memoryStore");
    if (sessionsStore.equals(memoryStore)) {
      throw new IllegalArgumentException("sessionsStore and memoryStore must differ");
    }
    require(maxEventTextBytes > 0, "maxEventTextBytes must be > 0");
    require(absorbChunkTokens > 0, "absorbChunkTokens must be > 0");
    require(maxNewTokensLimit >= 0, "maxNewTokensLimit must be >= 0");
    require(maxStreamIdBytes > 0, "maxStreamIdBytes must be > 0");
    require(openCacheBytes >= 0, "openCacheBytes must be >= 0");
    require(sessionTtlMillis >= 0, "sessionTtlMillis must be >= 0");
    require(maxCrashesPerEvent >= 0, "maxCrashesPerEvent must be >= 0");
  }

  /** As the canonical constructor, with {@code repartitionInput} true (the default). */
  public TopologySettings(
      String inputTopic,
      String outputTopic,
      String deadLetterTopic,
      String sessionsStore,
      String memoryStore,
      int maxEventTextBytes,
      int absorbChunkTokens,
      int maxNewTokensLimit,
      int maxStreamIdBytes,
      boolean computeSurprise,
      boolean stopAtEos) {
    this(
        inputTopic,
        outputTopic,
        deadLetterTopic,
        sessionsStore,
        memoryStore,
        maxEventTextBytes,
        absorbChunkTokens,
        maxNewTokensLimit,
        maxStreamIdBytes,
        computeSurprise,
        stopAtEos,
        true,
        DEFAULT_OPEN_CACHE_BYTES,
        0L,
        DEFAULT_MAX_CRASHES_PER_EVENT);
  }

  /** The defaults listed on each component. */
  public static TopologySettings defaults() {
    return new TopologySettings(
        "infini-input",
        "infini-output",
        "infini-dlq",
        "infini-sessions",
        "infini-memory",
        16384,
        2048,
        1024,
        256,
        true,
        true,
        true,
        DEFAULT_OPEN_CACHE_BYTES,
        0L,
        DEFAULT_MAX_CRASHES_PER_EVENT);
  }

  public TopologySettings withTopics(String input, String output, String deadLetter) {
    return edit(
        e -> {
          e.inputTopic = input;
          e.outputTopic = output;
          e.deadLetterTopic = deadLetter;
        });
  }

  public TopologySettings withMaxEventTextBytes(int bytes) {
    return edit(e -> e.maxEventTextBytes = bytes);
  }

  public TopologySettings withAbsorbChunkTokens(int tokens) {
    return edit(e -> e.absorbChunkTokens = tokens);
  }

  public TopologySettings withMaxNewTokensLimit(int limit) {
    return edit(e -> e.maxNewTokensLimit = limit);
  }

  public TopologySettings withComputeSurprise(boolean compute) {
    return edit(e -> e.computeSurprise = compute);
  }

  /** These settings with {@code repartitionInput} set to {@code repartition}. */
  public TopologySettings withRepartitionInput(boolean repartition) {
    return edit(e -> e.repartitionInput = repartition);
  }

  /** These settings with {@code openCacheBytes} set to {@code bytes}. */
  public TopologySettings withOpenCacheBytes(long bytes) {
    return edit(e -> e.openCacheBytes = bytes);
  }

  /** These settings with {@code sessionTtlMillis} set to {@code millis}. */
  public TopologySettings withSessionTtlMillis(long millis) {
    return edit(e -> e.sessionTtlMillis = millis);
  }

  /** These settings with {@code maxCrashesPerEvent} set to {@code crashes}. */
  public TopologySettings withMaxCrashesPerEvent(int crashes) {
    return edit(e -> e.maxCrashesPerEvent = crashes);
  }

  /** A copy of these settings changed by {@code change}, checked by the canonical constructor. */
  private TopologySettings edit(java.util.function.Consumer<Edit> change) {
    Edit e = new Edit(this);
    change.accept(e);
    return e.build();
  }

  /** The components as mutable fields, for {@link #edit}. */
  private static final class Edit {
    String inputTopic;
    String outputTopic;
    String deadLetterTopic;
    String sessionsStore;
    String memoryStore;
    int maxEventTextBytes;
    int absorbChunkTokens;
    int maxNewTokensLimit;
    int maxStreamIdBytes;
    boolean computeSurprise;
    boolean stopAtEos;
    boolean repartitionInput;
    long openCacheBytes;
    long sessionTtlMillis;
    int maxCrashesPerEvent;

    Edit(TopologySettings s) {
      inputTopic = s.inputTopic;
      outputTopic = s.outputTopic;
      deadLetterTopic = s.deadLetterTopic;
      sessionsStore = s.sessionsStore;
      memoryStore = s.memoryStore;
      maxEventTextBytes = s.maxEventTextBytes;
      absorbChunkTokens = s.absorbChunkTokens;
      maxNewTokensLimit = s.maxNewTokensLimit;
      maxStreamIdBytes = s.maxStreamIdBytes;
      computeSurprise = s.computeSurprise;
      stopAtEos = s.stopAtEos;
      repartitionInput = s.repartitionInput;
      openCacheBytes = s.openCacheBytes;
      sessionTtlMillis = s.sessionTtlMillis;
      maxCrashesPerEvent = s.maxCrashesPerEvent;
    }

    TopologySettings build() {
      return new TopologySettings(
          inputTopic,
          outputTopic,
          deadLetterTopic,
          sessionsStore,
          memoryStore,
          maxEventTextBytes,
          absorbChunkTokens,
          maxNewTokensLimit,
          maxStreamIdBytes,
          computeSurprise,
          stopAtEos,
          repartitionInput,
          openCacheBytes,
          sessionTtlMillis,
          maxCrashesPerEvent);
    }
  }

  private static void requireName(String name, String what) {
    require(name != null && !name.isBlank(), what + " must be a non-blank name");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
