package io.infinistreams.topology;

/**
 * Why an input record went to the dead-letter topic (header {@value #HEADER}). In every case the
 * stream's stored state is left exactly as it was.
 */
public enum DeadLetterReason {
  /** The record has no key: there is no stream to apply it to. */
  NULL_KEY,
  /** The key is not valid UTF-8 or is longer than {@code maxStreamIdBytes}. */
  INVALID_KEY,
  /** The value is null, not single-object-encoded Avro, or written with an unknown schema. */
  UNDECODABLE,
  /** The kind is one this processor does not know (UNKNOWN, e.g. from a newer producer). */
  UNKNOWN_KIND,
  /** The text is longer than {@code maxEventTextBytes}. */
  TEXT_TOO_LARGE,
  /** Negative sequence number. */
  INVALID_SEQUENCE,
  /**
   * The seq is not above the stream's last applied seq (a retry, a replay, an out-of-order event):
   * nothing is applied. {@value #LAST_SEQ_HEADER} holds the last applied seq.
   */
  DUPLICATE_SEQ,
  /**
   * The seq is above the stream's last applied seq + 1: an event before it is missing (e.g. was
   * dead-lettered and not yet sent again). {@value #LAST_SEQ_HEADER} holds the last applied seq.
   */
  SEQ_GAP,
  /**
   * Impossible generation settings: maxNewTokens negative or above the limit, temperature NaN,
   * infinite or negative.
   */
  INVALID_SETTINGS,
  /**
   * The stream's stored state was written by a different model (fingerprint of configuration and
   * weights), or the event is pinned to another model. Send the event again when the right model
   * serves, or send a RESET pinned to the serving model to restart the stream with it.
   */
  FINGERPRINT_MISMATCH,
  /** The stream's stored records do not fit the model's shapes, or are missing. */
  STATE_MISMATCH,
  /**
   * A stored record of the stream (its session, or a head memory the event reads) does not decode:
   * written by a newer version of this application (after a downgrade), or damaged. A DELETE of the
   * stream removes its records all the same, and when the session is the unreadable one, whatever
   * the DELETE's seq. {@value #EXCEPTION_HEADER} holds the decoding error.
   */
  STATE_UNREADABLE,
  /**
   * An IMPORT whose snapshot is missing, does not decode, does not match its checksum, or holds
   * records that do not fit the model. A snapshot written by another model is {@link
   * #FINGERPRINT_MISMATCH}.
   */
  INVALID_SNAPSHOT,
  /** The model rejected this event's input (IllegalArgumentException). */
  MODEL_ERROR,
  /**
   * Any other exception while applying the event (a poison pill, a closed model, a native error):
   * nothing of the event is written, the stream thread keeps running. {@value #EXCEPTION_HEADER}
   * holds a stack summary. The stream's seq is not used up, so the event can be sent again.
   */
  PROCESSING_ERROR,
  /**
   * The processor was applying this record when it stopped ({@code maxCrashesPerEvent} times on
   * this instance): the process died (a native crash, kill -9) or a {@code java.lang.Error} failed
   * its stream thread. The record is not applied again; {@value #EXCEPTION_HEADER} holds the last
   * Error's stack summary when there was one. The stream's seq is not used up.
   */
  CRASH_LOOP;

  /** Prefix of every header this processor adds; input headers with it are not carried over. */
  public static final String HEADER_PREFIX = "infini.dlq.";

  /** Header holding the reason's name (UTF-8). */
  public static final String HEADER = "infini.dlq.reason";

  /** Header holding a human-readable detail (UTF-8, at most 1,000 characters). */
  public static final String DETAIL_HEADER = "infini.dlq.detail";

  /** Header holding the source topic, partition and offset as {@code topic/partition/offset}. */
  public static final String SOURCE_HEADER = "infini.dlq.source";

  /** DUPLICATE_SEQ and SEQ_GAP: the stream's last applied seq (decimal, UTF-8); the next is +1. */
  public static final String LAST_SEQ_HEADER = "infini.dlq.last-seq";

  /**
   * MODEL_ERROR, PROCESSING_ERROR, STATE_UNREADABLE and CRASH_LOOP: exception, message and first
   * frames (at most 1,000 chars).
   */
  public static final String EXCEPTION_HEADER = "infini.dlq.exception";
}
