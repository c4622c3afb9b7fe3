package io.infinistreams.model;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Runs many absorb/score/generate calls and prints how the process's resident memory moved. Started
 * in its own JVM by {@link LongStreamTest} with a pre-touched fixed heap, so RSS growth is native
 * growth. Output lines: {@code ARRAYS <before> <after>} (arrays attached to the weights' manager)
 * and {@code RSS <after warm-up> <at the end>} in bytes.
 */
public final class LeakProbe {
  private LeakProbe() {}

  public static void main(String[] args) throws Exception {
    int warmup = Integer.parseInt(args[0]);
    int rounds = Integer.parseInt(args[1]);
    ModelConfig c = ModelConfig.tiny().withSegmentLength(64);
    try (InfiniModel model = InfiniModel.create(c, 4)) {
      NDManager owner = model.weights().embed().getManager();
      int arraysBefore = owner.getManagedArrays().size();
      SplittableRandom rng = new SplittableRandom(3);
      StreamState s = model.newState();
      for (int i = 0; i < warmup; i++) {
        s = round(model, s, rng);
      }
      long rssBefore = settledRss();
      for (int i = 0; i < rounds; i++) {
        s = round(model, s, rng);
      }
      long rssAfter = settledRss();
      System.out.println("ARRAYS " + arraysBefore + " " + owner.getManagedArrays().size());
      System.out.println("RSS " + rssBefore + " " + rssAfter);
    }
  }

  private static StreamState round(InfiniModel model, StreamState s, SplittableRandom rng) {
    s = model.absorb(s, InfiniModelTest.randomText(rng, 1_000), false).state();
    s = model.absorb(s, InfiniModelTest.randomText(rng, 1_000), true).state();
    return model
        .generate(s, new int[] {ByteTokenizer.USER}, new GenerationSettings(99, 1f, 1, false))
        .state();
  }

  private static long settledRss() throws Exception {
    System.gc();
    Thread.sleep(300);
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS");
  }
}
