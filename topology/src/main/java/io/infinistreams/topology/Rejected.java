package io.infinistreams.topology;

import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;

/** An input record that must go to the dead-letter topic, with its reason and extra headers. */
final class Rejected extends Exception {
  private static final long serialVersionUID = 1L;

  final DeadLetterReason reason;
  final transient Map<String, String> headers;

  Rejected(DeadLetterReason reason, String detail) {
    this(reason, detail, Map.of(), null);
  }

  Rejected(DeadLetterReason reason, String detail, Map<String, String> headers, Throwable cause) {
    super(detail, cause, false, false);
    this.reason = reason;
    this.headers = Map.copyOf(headers);
  }

  /**
   * A failure while applying an event (reading its stream's state, running the model, building the
   * records to write): {@code MODEL_ERROR} for an IllegalArgumentException (the model rejects the
   * input; the state codec's own IllegalArgumentExceptions are reported as STATE_MISMATCH before
   * this), {@code STATE_UNREADABLE} for a stored record that does not decode (Kafka's
   * SerializationException: the event's own value was decoded before), {@code PROCESSING_ERROR} for
   * anything else; all with a stack summary.
   */
  static Rejected failure(RuntimeException e) {
    DeadLetterReason reason =
        e instanceof IllegalArgumentException
            ? DeadLetterReason.MODEL_ERROR
            : e instanceof SerializationException
                ? DeadLetterReason.STATE_UNREADABLE
                : DeadLetterReason.PROCESSING_ERROR;
    return new Rejected(
        reason, e.toString(), Map.of(DeadLetterReason.EXCEPTION_HEADER, stackSummary(e)), e);
  }

  /** Exception classes and messages along the cause chain, and the first frames of each. */
  static String stackSummary(Throwable e) {
    StringBuilder sb = new StringBuilder();
    int depth = 0;
    for (Throwable t = e; t != null && depth < 3; t = t.getCause(), depth++) {
      if (depth > 0) {
        sb.append(" | caused by ");
      }
      sb.append(t);
      StackTraceElement[] frames = t.getStackTrace();
      for (int i = 0; i < Math.min(4, frames.length); i++) {
        sb.append(" at ").append(frames[i]);
      }
    }
    return sb.length() <= 1000 ? sb.toString() : sb.substring(0, 1000);
  }
}
