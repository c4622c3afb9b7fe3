package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * What a long repetitive stream does to the memory: under the paper's DELTA rule M grows in
 * proportion to the stream (so one early write, a needle, becomes a vanishing share of what a read
 * returns); under the gated delta rule it levels off, because content the memory already predicts
 * writes nothing.
 */
class MemoryGrowthTest {
  private static final String FILLER =
      "The grass is green. The sky is blue. The sun is yellow. "
          + "Here we go. There and back again. ";

  private static double[] normsAt(ModelConfig c, int... lengths) {
    double[] out = new double[lengths.length];
    try (InfiniModel m = InfiniModel.create(c, 17)) {
      StreamState s = m.newState();
      int at = 0;
      for (int i = 0; i < lengths.length; i++) {
        s = m.absorb(s, ByteTokenizer.encode(filler(lengths[i] - at)), false).state();
        at = lengths[i];
        double sq = 0;
        for (HeadMemory h : s.memories()) {
          sq += h.norm() * h.norm();
        }
        out[i] = Math.sqrt(sq);
      }
    }
    return out;
  }

  private static String filler(int bytes) {
    return FILLER.repeat(bytes / FILLER.length() + 1).substring(0, bytes);
  }

  @Test
  void theGatedRuleLevelsOffWhereThePapersDeltaRuleGrowsWithTheStream() {
    double[] delta = normsAt(ModelConfig.tinyPaper(), 16_380, 65_520);
    double[] gated = normsAt(ModelConfig.tiny(), 16_380, 65_520, 262_080);
    System.out.printf(
        "|M| at 16K, 64K, 256K tokens of filler: DELTA %.1f, %.1f; " + "GATED %.2f, %.2f, %.2f%n",
        delta[0], delta[1], gated[0], gated[1], gated[2]);
    assertTrue(delta[1] / delta[0] > 3.5, "DELTA grows with the stream");
    assertTrue(gated[2] / gated[1] < 1.1, "GATED 64K -> 256K: x" + gated[2] / gated[1]);
  }
}
