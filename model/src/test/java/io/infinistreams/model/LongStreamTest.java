package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Long streams: the state does not grow, and neither does native memory. */
class LongStreamTest {

  /**
   * A real 1M-token absorb under the shipped update rule. A one-layer tiny config (D = 32, H = 2, K
   * = V = 8) with N = 200 keeps it to 5,000 segment forwards (per-op overhead, not FLOPs, bounds a
   * tiny model); 200 divides 1,000,000 - 1,000, so both streams end with the same open-segment
   * length. The memory keeps changing to the end, stays finite, and its size levels off: the norm
   * of M after 1M tokens is within 1.5x of its norm after 100K (under the paper's DELTA rule it
   * grows with the stream, see {@link MemoryGrowthTest}).
   */
  @Test
  void aMillionTokensKeepTheMemoryFiniteBoundedAndMoving() {
    ModelConfig c =
        new ModelConfig(
            264, 32, 1, 2, 8, 8, 64, 200, UpdateRule.GATED, MemoryRead.NORMALIZED, 10000f, 8);
    try (InfiniModel model = InfiniModel.create(c, 9)) {
      SplittableRandom rng = new SplittableRandom(2);
      StreamState small =
          model.absorb(model.newState(), InfiniModelTest.randomText(rng, 1_000), false).state();
      StreamState big = model.newState();
      long t0 = System.nanoTime();
      double normAt100k = 0;
      StreamState before = null;
      for (int i = 0; i < 10; i++) {
        before = big;
        big = model.absorb(big, InfiniModelTest.randomText(rng, 100_000), false).state();
        if (i == 0) {
          normAt100k = norm(big);
        }
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          "absorbed 1,000,000 tokens in %.1f s (%,.0f tokens/s)%n", seconds, 1e6 / seconds);
      assertEquals(1_000_001, big.tokensAbsorbed());
      assertEquals(1_000_000 / 200, big.segmentsAbsorbed());
      assertEquals(small.openLength(), big.openLength());
      assertEquals(small.byteSize(), big.byteSize());
      for (int i = 0; i < big.memories().size(); i++) {
        for (float v : big.memories().get(i).m()) {
          assertTrue(Float.isFinite(v), "M stays finite");
        }
        assertTrue(
            !java.util.Arrays.equals(before.memories().get(i).m(), big.memories().get(i).m()),
            "the last 100K tokens still change memory #" + i);
      }
      double normAt1m = norm(big);
      System.out.printf("|M| after 100K tokens %.3f, after 1M %.3f%n", normAt100k, normAt1m);
      assertTrue(
          normAt1m > 0 && normAt1m < 1.5 * normAt100k, "|M| " + normAt100k + " -> " + normAt1m);
    }
  }

  private static double norm(StreamState s) {
    double sq = 0;
    for (HeadMemory h : s.memories()) {
      sq += h.norm() * h.norm();
    }
    return Math.sqrt(sq);
  }

  /**
   * Many calls (absorb with and without scores, generate) must leave nothing behind: no array
   * attached to the weights' manager, and no growth of resident memory. Runs {@link LeakProbe} in a
   * child JVM whose fixed heap is touched up front, so RSS growth is native growth. Leaking one
   * forward's intermediates (~130 arrays) per forward would add gigabytes over the measured rounds;
   * the bound is 96 MB because glibc's arenas move RSS by tens of MB. A leak into the weights'
   * manager, the only scope that outlives a call, is caught exactly by the array count.
   */
  @Test
  @EnabledOnOs(OS.LINUX)
  void manyCallsDoNotLeakNativeMemory() throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms256m",
                "-Xmx256m",
                "-XX:+AlwaysPreTouch",
                "-cp",
                System.getProperty("java.class.path")));
    for (String key :
        List.of(
            "ai.djl.offline",
            "ai.djl.pytorch.num_threads",
            "ai.djl.pytorch.num_interop_threads",
            "ENGINE_CACHE_DIR",
            "DJL_CACHE_DIR")) {
      if (System.getProperty(key) != null) {
        cmd.add("-D" + key + "=" + System.getProperty(key));
      }
    }
    cmd.addAll(List.of(LeakProbe.class.getName(), "20", "60"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("MALLOC_ARENA_MAX", "2"); // fewer glibc arenas: less RSS noise
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    long[] arrays = numbers(out, "ARRAYS");
    long[] rss = numbers(out, "RSS");
    System.out.printf(
        "weights' manager arrays %d -> %d; RSS %,d -> %,d bytes over 60 rounds "
            + "(126,000 tokens, ~7,800 forwards)%n",
        arrays[0], arrays[1], rss[0], rss[1]);
    assertEquals(arrays[0], arrays[1], "arrays attached to the weights' manager");
    assertTrue(rss[1] - rss[0] < 96L << 20, "RSS grew by " + (rss[1] - rss[0]) + " bytes");
  }

  private static long[] numbers(String out, String tag) {
    for (String line : out.split("\n")) {
      if (line.startsWith(tag + " ")) {
        String[] parts = line.trim().split(" ");
        return new long[] {Long.parseLong(parts[1]), Long.parseLong(parts[2])};
      }
    }
    throw new AssertionError("no " + tag + " line in:\n" + out);
  }
}
