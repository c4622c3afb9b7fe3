package io.infinistreams.app.bench;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What running many streams' segments together buys on one thread: for each batch size B, B new
 * streams absorb {@code segments} full segments each (plus one token, so that the last one is
 * compressed), once one stream after another ({@link InfiniModel#absorb}, no scores) and once in
 * lockstep ({@link InfiniModel#absorbAll}: one batched segment step per round), timed by the
 * calling thread's CPU time. The two alternate within each round, in turns first, after a round
 * that warms both up and is not counted; the medians over the rounds and their ratio are printed.
 * Both give every stream the same state, bit for bit.
 */
record LockstepComparison(int[] batches, double[] alone, double[] lockstep, int segments) {

  static LockstepComparison run(
      InfiniModel model, int[] batches, int segments, int rounds, long seed) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    int length = segments * model.config().segmentLength() + 1;
    SplittableRandom rng = new SplittableRandom(seed);
    double[][] aloneRates = new double[batches.length][rounds];
    double[][] lockstepRates = new double[batches.length][rounds];
    for (int round = -1; round < rounds; round++) { // round -1 warms up
      for (int i = 0; i < batches.length; i++) {
        int b = batches[i];
        List<StreamState> states = new ArrayList<>();
        List<int[]> texts = new ArrayList<>();
        for (int s = 0; s < b; s++) {
          states.add(model.newState());
          int[] text = new int[length];
          for (int j = 0; j < length; j++) {
            text[j] = 32 + rng.nextInt(95);
          }
          texts.add(text);
        }
        double tokens = (double) b * length;
        for (int turn = 0; turn < 2; turn++) {
          boolean lockstepNow = (turn == 0) == (round % 2 != 0);
          long c0 = threads.getCurrentThreadCpuTime();
          if (lockstepNow) {
            model.absorbAll(states, texts);
          } else {
            for (int s = 0; s < b; s++) {
              model.absorb(states.get(s), texts.get(s), false);
            }
          }
          double rate = tokens / ((threads.getCurrentThreadCpuTime() - c0) / 1e9);
          if (round >= 0) {
            (lockstepNow ? lockstepRates : aloneRates)[i][round] = rate;
          }
        }
      }
    }
    double[] alone = new double[batches.length];
    double[] lockstep = new double[batches.length];
    for (int i = 0; i < batches.length; i++) {
      alone[i] = PyTorchComparison.median(aloneRates[i]);
      lockstep[i] = PyTorchComparison.median(lockstepRates[i]);
    }
    return new LockstepComparison(batches, alone, lockstep, segments);
  }

  void print(PrintWriter out, int rounds) {
    out.printf(
        "%n| streams in the batch (%d segments each, no scores) | one after another, tokens per CPU"
            + " second | lockstep, tokens per CPU second | **ratio lockstep / one after another**"
            + " |%n|---:|---:|---:|---:|%n",
        segments);
    for (int i = 0; i < batches.length; i++) {
      out.printf(
          "| %d | %,.0f | %,.0f | **%.2f** |%n",
          batches[i], alone[i], lockstep[i], lockstep[i] / alone[i]);
    }
    out.printf("%nMedians of %d rounds, after one round of warm-up.%n", rounds);
  }
}
