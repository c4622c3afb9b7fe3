package io.infinistreams.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Tasks mixed by weight, optionally in phases (a curriculum): phase {@code i} applies from its
 * start step until the next phase's. Batches are a pure function of (seed, step), so a resumed run
 * sees exactly the batches an uninterrupted one would: the "position" of the data stream, and the
 * phase, is the step.
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

  /** Tasks by weight from step {@code from} on. */
  public record Phase(long from, List<Entry> entries) {
    public Phase {
      if (entries.isEmpty()) {
        throw new IllegalArgumentException("a mix needs at least one task");
      }
      if (from < 0) {
        throw new IllegalArgumentException("a phase cannot start before step 0: " + from);
      }
      entries = List.copyOf(entries);
    }

    Task pick(Random rng) {
      double total = entries.stream().mapToDouble(Entry::weight).sum();
      double u = rng.nextDouble() * total;
      for (Entry e : entries) {
        u -= e.weight();
        if (u < 0) {
          return e.task();
        }
      }
      return entries.get(entries.size() - 1).task();
    }
  }

  private final List<Phase> phases;

  /** One phase for the whole run. */
  public TaskMix(List<Entry> entries) {
    this(new Phase(0, entries));
  }

  private TaskMix(Phase... phases) {
    if (phases.length == 0 || phases[0].from() != 0) {
      throw new IllegalArgumentException("the first phase must start at step 0");
    }
    for (int i = 1; i < phases.length; i++) {
      if (phases[i].from() <= phases[i - 1].from()) {
        throw new IllegalArgumentException(
            "phases must start at increasing steps: "
                + phases[i - 1].from()
                + " then "
                + phases[i].from());
      }
    }
    this.phases = List.of(phases);
  }

  /** A curriculum: phases starting at increasing steps, the first at 0. */
  public static TaskMix phased(List<Phase> phases) {
    return new TaskMix(phases.toArray(new Phase[0]));
  }

  public List<Phase> phases() {
    return phases;
  }

  /** The phase that applies at {@code step}. */
  public Phase phaseAt(long step) {
    Phase current = phases.get(0);
    for (Phase p : phases) {
      if (p.from() <= step) {
        current = p;
      }
    }
    return current;
  }

  /** The rng for {@code (seed, step)}: independent streams for different steps. */
  public static Random rngFor(long seed, long step) {
    return new Random(new SplittableRandom(seed).split().nextLong() ^ (step * 0x9E3779B97F4A7C15L));
  }

  /**
   * The batch of {@code batchSize} samples of {@code segments} segments for training step {@code
   * step} of a run seeded {@code seed}.
   */
  public List<Sample> batch(long seed, long step, int batchSize, int segments, int segmentLength) {
    Random rng = rngFor(seed, step);
    Phase phase = phaseAt(step);
    List<Sample> out = new ArrayList<>(batchSize);
    for (int b = 0; b < batchSize; b++) {
      out.add(phase.pick(rng).sample(rng, segments, segmentLength));
    }
    return out;
  }

  /** "passkey:0.6,chat:0.2,text:0.2", phases after the first as "; from 1500: ...". */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    for (Phase p : phases) {
      if (p.from() > 0) {
        sb.append("; from ").append(p.from()).append(": ");
      }
      boolean first = true;
      for (Entry e : p.entries()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(e.task().name()).append(':').append(e.weight());
      }
    }
    return sb.toString();
  }
}
