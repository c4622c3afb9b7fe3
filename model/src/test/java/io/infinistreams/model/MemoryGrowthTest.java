package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.data.PasskeyDocument;
import org.junit.jupiter.api.Test;

/**
 * What a long repetitive stream does to the memory: under the paper's DELTA rule M grows in
 * proportion to the stream (so one early write, a needle, becomes a vanishing share of what a
 * read returns), under BOUNDED and SEQUENTIAL it levels off. The passkey's own filler, 16K then 64K tokens.
 */
class MemoryGrowthTest {

  private static double[] normsAt(UpdateRule rule, int... lengths) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule);
    double[] out = new double[lengths.length];
    try (InfiniModel m = InfiniModel.create(c, 17)) {
      StreamState s = m.newState();
      int at = 0;
      for (int i = 0; i < lengths.length; i++) {
        s = m.absorb(s, ByteTokenizer.encode(PasskeyDocument.filler(at, lengths[i] - at)), false)
            .state();
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

  @Test
  void theBoundedRulesLevelOffWhereThePapersDeltaRuleGrowsWithTheStream() {
    double[] delta = normsAt(UpdateRule.DELTA, 16_384, 65_536);
    double[] bounded = normsAt(UpdateRule.BOUNDED, 16_384, 65_536, 262_144);
    double[] sequential = normsAt(UpdateRule.SEQUENTIAL, 16_384, 65_536, 262_144);
    System.out.printf("|M| at 16K, 64K, 256K tokens of filler: DELTA %.1f, %.1f; "
        + "BOUNDED %.2f, %.2f, %.2f; SEQUENTIAL %.2f, %.2f, %.2f%n", delta[0], delta[1],
        bounded[0], bounded[1], bounded[2], sequential[0], sequential[1], sequential[2]);
    assertTrue(delta[1] / delta[0] > 3.5, "DELTA grows with the stream");
    // BOUNDED: far less than DELTA's 4x per 4x longer stream (it levels off slowly along the
    // directions the filler's keys barely excite)
    assertTrue(bounded[2] / bounded[1] < 1.6, "BOUNDED 64K -> 256K: x" + bounded[2] / bounded[1]);
    // SEQUENTIAL: every write is a projection step, so repetitive text settles M
    assertTrue(sequential[2] / sequential[1] < 1.1,
        "SEQUENTIAL 64K -> 256K: x" + sequential[2] / sequential[1]);
  }
}
