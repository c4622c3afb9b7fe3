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
   * Impossible generation settings: maxNewTokens negative or above the limit, temperature NaN,
   * infinite or negative.
   */
  INVALID_SETTINGS,
  /**
   * The stream's stored state was written by a different model (weights fingerprint). RESET the
   * stream to start it afresh with the current model.
   */
  FINGERPRINT_MISMATCH,
  /** The stream's stored records do not fit the model's shapes, or are missing. */
  STATE_MISMATCH,
  /**
   * The model rejected this event's input (IllegalArgumentException). Other model failures are not
   * dead-lettered: they fail the task, the transaction aborts, and the event is retried.
   */
  MODEL_ERROR;

  /** Header holding the reason's name (UTF-8). */
  public static final String HEADER = "infini.dlq.reason";

  /** Header holding a human-readable detail (UTF-8, at most 1,000 characters). */
  public static final String DETAIL_HEADER = "infini.dlq.detail";

  /** Header holding the source topic, partition and offset as {@code topic/partition/offset}. */
  public static final String SOURCE_HEADER = "infini.dlq.source";
}
