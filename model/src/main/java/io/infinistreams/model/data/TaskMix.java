package io.infinistreams.model.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Tasks mixed by weight. Batches are a pure function of (seed, step), so a resumed run sees
 * exactly the batches an uninterrupted one would: the "position" of the data stream is the step.
 */
public final class TaskMix {

  /** A task and its relative weight (> 0). */
  public record Entry(Task task, double weight) {
    public Entry {
      if (!(weight > 0)) {
        throw new IllegalArgumentException("weight of " + task.name() + " must be > 0");
      }
    }
  }

  private final List<Entry> entries;
  private final double total;

  public TaskMix(List<Entry> entries) {
    if (entries.isEmpty()) {
      throw new IllegalArgumentException("a mix needs at least one task");
    }
    this.entries = List.copyOf(entries);
    this.total = entries.stream().mapToDouble(Entry::weight).sum();
  }

  public List<Entry> entries() {
    return entries;
  }

  /** The rng for {@code (seed, step)}: independent streams for different steps. */
  public static Random rngFor(long seed, long step) {
    return new Random(new SplittableRandom(seed).split().nextLong() ^ (step * 0x9E3779B97F4A7C15L));
  }

  /** A task drawn by weight. */
  public Task pick(Random rng) {
    double u = rng.nextDouble() * total;
    for (Entry e : entries) {
      u -= e.weight();
      if (u < 0) {
        return e.task();
      }
    }
    return entries.get(entries.size() - 1).task();
  }

  /**
   * The batch of {@code batchSize} samples of {@code segments} segments for training step
   * {@code step} of a run seeded {@code seed}.
   */
  public List<Sample> batch(long seed, long step, int batchSize, int segments,
      int segmentLength) {
    Random rng = rngFor(seed, step);
    List<Sample> out = new ArrayList<>(batchSize);
    for (int b = 0; b < batchSize; b++) {
      out.add(pick(rng).sample(rng, segments, segmentLength));
    }
    return out;
  }

  /** "passkey:0.6,chat:0.2,text:0.2". */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (Entry e : entries) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(e.task().name()).append(':').append(e.weight());
    }
    return sb.toString();
  }
}
