package io.infinistreams.topology;

import io.infinistreams.schemas.EventKind;

/**
 * What the processor reports while it works, for an application's metrics: one call per input
 * record, either {@link #applied} or {@link #deadLettered}. The topology depends on no metrics
 * library; the application implements this interface with its own. {@link #NONE} records nothing.
 *
 * <p>Implementations are called on the stream threads, concurrently from several of them, once per
 * record after the record was handled: they must be thread-safe, cheap and must not throw. They get
 * no stream id, so that whatever they record does not grow with the number of streams.
 */
public interface ProcessorMetrics {

  /** Records nothing. */
  ProcessorMetrics NONE = new ProcessorMetrics() {};

  /**
   * An event was applied and its output emitted.
   *
   * @param kind the applied event's kind (APPEND, GENERATE, RESET, IMPORT, DELETE)
   * @param tokens tokens the event added to its stream's context: an APPEND's UTF-8 bytes; a
   *     GENERATE's prompt and generated tokens; 0 for a RESET
   * @param segments full segments the event compressed into its stream's memory
   * @param nanos time the processor spent on the record, decoding to output
   */
  default void applied(EventKind kind, long tokens, long segments, long nanos) {}

  /**
   * The event just reported to {@link #applied} was applied by the model of {@code fingerprint},
   * one of the topology's loaded {@link Models}, and, with {@code contextReset}, started its stream
   * afresh under the serving model first, dropping the state another model wrote (upgrade policy
   * reset).
   */
  default void appliedBy(String fingerprint, boolean contextReset) {}

  /**
   * A scored APPEND was applied with the open-segment cache on ({@link OpenSegmentCaches}).
   *
   * @param reused model calls of the event that continued from the stream's cached open segment
   * @param recomputed model calls that computed the open segment afresh
   * @param cacheBytes native bytes the instance's open-segment cache holds now
   */
  default void openSegments(long reused, long recomputed, long cacheBytes) {}

  /**
   * An applied event wrote the memory of one head of its stream: the Frobenius norm |M| of that
   * head's memory after the event.
   */
  default void memoryWritten(int layer, int head, double norm) {}

  /**
   * An applied APPEND compressed {@code segments} segments of its stream, in which head ({@code
   * layer}, {@code head}) wrote with mean strength {@code meanStrength} per token (the gated rule's
   * beta, averaged over the segments' tokens; tokens a top-k write leaves out count 0).
   */
  default void writeStrength(int layer, int head, double meanStrength, long segments) {}

  /** The time-to-live sweep removed {@code count} idle streams (session and head memories). */
  default void sessionsExpired(long count) {}

  /** An input record went to the dead-letter topic for {@code reason}; nothing was applied. */
  default void deadLettered(DeadLetterReason reason) {}
}
