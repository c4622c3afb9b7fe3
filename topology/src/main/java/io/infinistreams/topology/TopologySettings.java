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
    long sessionTtlMillis) {

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
        0L);
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
        0L);
  }

  public TopologySettings withTopics(String input, String output, String deadLetter) {
    return new TopologySettings(
        input,
        output,
        deadLetter,
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
        sessionTtlMillis);
  }

  public TopologySettings withMaxEventTextBytes(int bytes) {
    return new TopologySettings(
        inputTopic,
        outputTopic,
        deadLetterTopic,
        sessionsStore,
        memoryStore,
        bytes,
        absorbChunkTokens,
        maxNewTokensLimit,
        maxStreamIdBytes,
        computeSurprise,
        stopAtEos,
        repartitionInput,
        openCacheBytes,
        sessionTtlMillis);
  }

  public TopologySettings withAbsorbChunkTokens(int tokens) {
    return new TopologySettings(
        inputTopic,
        outputTopic,
        deadLetterTopic,
        sessionsStore,
        memoryStore,
        maxEventTextBytes,
        tokens,
        maxNewTokensLimit,
        maxStreamIdBytes,
        computeSurprise,
        stopAtEos,
        repartitionInput,
        openCacheBytes,
        sessionTtlMillis);
  }

  public TopologySettings withMaxNewTokensLimit(int limit) {
    return new TopologySettings(
        inputTopic,
        outputTopic,
        deadLetterTopic,
        sessionsStore,
        memoryStore,
        maxEventTextBytes,
        absorbChunkTokens,
        limit,
        maxStreamIdBytes,
        computeSurprise,
        stopAtEos,
        repartitionInput,
        openCacheBytes,
        sessionTtlMillis);
  }

  public TopologySettings withComputeSurprise(boolean compute) {
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
        compute,
        stopAtEos,
        repartitionInput,
        openCacheBytes,
        sessionTtlMillis);
  }

  /** These settings with {@code repartitionInput} set to {@code repartition}. */
  public TopologySettings withRepartitionInput(boolean repartition) {
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
        repartition,
        openCacheBytes,
        sessionTtlMillis);
  }

  /** These settings with {@code openCacheBytes} set to {@code bytes}. */
  public TopologySettings withOpenCacheBytes(long bytes) {
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
        bytes,
        sessionTtlMillis);
  }

  /** These settings with {@code sessionTtlMillis} set to {@code millis}. */
  public TopologySettings withSessionTtlMillis(long millis) {
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
        millis);
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
