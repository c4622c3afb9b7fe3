package io.infinistreams.app.bench;

import java.util.Arrays;

/** Latency samples in microseconds; percentiles by the nearest-rank method. */
final class Latencies {
  private long[] samples = new long[64];
  private int count;

  void add(long micros) {
    if (count == samples.length) {
      samples = Arrays.copyOf(samples, count * 2);
    }
    samples[count++] = micros;
  }

  int count() {
    return count;
  }

  /**
   * The smallest sample with at least {@code p} (0..1] of the samples at or below it, in
   * milliseconds; NaN without samples.
   */
  double percentileMs(double p) {
    if (count == 0) {
      return Double.NaN;
    }
    long[] sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p * count);
    return sorted[Math.max(0, Math.min(count - 1, rank - 1))] / 1000.0;
  }

  double maxMs() {
    return percentileMs(1.0);
  }

  /** The smallest sample in milliseconds; NaN without samples. */
  double minMs() {
    return count == 0 ? Double.NaN : Arrays.stream(samples, 0, count).min().getAsLong() / 1000.0;
  }
}
