package io.infinistreams.training;

/**
 * Linear warm-up from 0 to the peak over {@code warmup} steps, then cosine decay to {@code
 * minFraction * peak} at {@code total} steps. Returns a multiplier of the peak rate.
 */
public record LrSchedule(long warmup, long total, double minFraction) {
  public LrSchedule {
    if (warmup < 0 || total < 1 || warmup > total) {
      throw new IllegalArgumentException("need 0 <= warmup <= total, total >= 1");
    }
  }

  /** Multiplier for 0-based {@code step}. */
  public double at(long step) {
    if (step < warmup) {
      return (step + 1) / (double) warmup;
    }
    double progress = Math.min(1.0, (step - warmup) / (double) Math.max(1, total - warmup));
    return minFraction + (1 - minFraction) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}
