package io.infinistreams.topology;

import java.util.EnumMap;
import java.util.Map;

/**
 * Rate limit of the dead-letter log: the first {@code firstPerReason} dead letters of each reason
 * are logged one by one; after that, per reason, one summary line per {@code windowMillis} counts
 * the dead letters not logged (written when the next dead letter of that reason arrives after the
 * window ends). Every dead letter is on the dead-letter topic; the log is for operators only. One
 * instance per processor (one stream task): not thread-safe.
 */
final class DeadLetterLog {
  private final int firstPerReason;
  private final long windowMillis;
  private final Map<DeadLetterReason, Counter> counters = new EnumMap<>(DeadLetterReason.class);

  private static final class Counter {
    long logged;
    long suppressed;
    long windowStart;
  }

  DeadLetterLog(int firstPerReason, long windowMillis) {
    this.firstPerReason = firstPerReason;
    this.windowMillis = windowMillis;
  }

  /**
   * What to log for one dead letter at {@code nowMillis}: the line, or null to log nothing.
   *
   * @param line the full line of this dead letter
   */
  String onDeadLetter(DeadLetterReason reason, String line, long nowMillis) {
    Counter c = counters.computeIfAbsent(reason, r -> new Counter());
    if (c.logged < firstPerReason) {
      c.logged++;
      c.windowStart = nowMillis;
      return line;
    }
    c.suppressed++;
    if (nowMillis - c.windowStart < windowMillis) {
      return null;
    }
    String summary =
        c.suppressed
            + " dead letters with reason "
            + reason
            + " in the last "
            + (nowMillis - c.windowStart) / 1000
            + " s (first "
            + firstPerReason
            + " logged one by one); latest: "
            + line;
    c.suppressed = 0;
    c.windowStart = nowMillis;
    return summary;
  }
}
