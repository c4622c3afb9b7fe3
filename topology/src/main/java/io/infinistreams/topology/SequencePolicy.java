package io.infinistreams.topology;

import io.infinistreams.schemas.StoredSession;
import java.util.Map;

/**
 * The per-stream sequence contract: an event is applied only if its seq is exactly the stream's
 * last applied seq + 1 (a stream without a session has last applied seq 0, so its first event is
 * seq 1). A seq is used up only by an applied event: after a dead letter of any reason the stream
 * still expects the same seq, so the rejected event can be fixed and sent again, and no later event
 * can be applied past it. A lower seq is a duplicate ({@code DUPLICATE_SEQ}), a higher one a gap
 * ({@code SEQ_GAP}); both dead letters carry the last applied seq in {@link
 * DeadLetterReason#LAST_SEQ_HEADER}.
 */
final class SequencePolicy {
  private SequencePolicy() {}

  static long lastApplied(StoredSession session) {
    return session == null ? 0 : session.getLastSeq();
  }

  static void check(StoredSession session, long seq) throws Rejected {
    long last = lastApplied(session);
    if (seq == last + 1) {
      return;
    }
    Map<String, String> headers = Map.of(DeadLetterReason.LAST_SEQ_HEADER, Long.toString(last));
    if (seq <= last) {
      throw new Rejected(
          DeadLetterReason.DUPLICATE_SEQ,
          "seq " + seq + " already applied or passed: last applied seq is " + last,
          headers,
          null);
    }
    throw new Rejected(
        DeadLetterReason.SEQ_GAP,
        "seq " + seq + " skips ahead: last applied seq is " + last + ", expected " + (last + 1),
        headers,
        null);
  }
}
