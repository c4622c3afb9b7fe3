package io.infinistreams.tasks;

import java.util.Random;

/**
 * A generator of training sequences. Deterministic: the same {@link Random} state gives the same
 * sample. Implementations are immutable and thread-safe (all randomness comes from {@code rng}).
 */
public interface Task {
  /** Short name used in logs and manifests. */
  String name();

  /**
   * A sequence of exactly {@code segments * segmentLength + 1} tokens starting with BOS.
   *
   * @throws IllegalArgumentException if the task cannot fit into that length
   */
  Sample sample(Random rng, int segments, int segmentLength);
}
