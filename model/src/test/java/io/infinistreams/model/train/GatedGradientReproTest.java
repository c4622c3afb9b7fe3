package io.infinistreams.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.WriteGate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * A reproducer of an open defect (docs/training.md, "Known defect: garbage GATED gradients"),
 * disabled because it fails. The same first step of the same fresh trainer, taken by twelve
 * trainers in one JVM while the earlier ones stay open, should give one gradient norm twelve
 * times. Under GATED with a write penalty, on the tape path, the second trainer's norm is
 * Infinity, 1e14-1e18 or off in the fifth digit (session 5, one libtorch thread); the other
 * eleven agree. The forward values are identical; the garbage enters in the backward pass and
 * reaches every tensor below layer 1's write gate. It also appears without the penalty (LOGISTIC,
 * fifth digit) and with --recompute (RATIONAL, seventh digit), rarely. Without GATED (SEQUENTIAL,
 * DELTA) it was never seen. Run with
 * {@code mvn -pl model test -Dtest=GatedGradientReproTest -Djunit.jupiter.conditions.deactivate=org.junit.*DisabledCondition}.
 */
class GatedGradientReproTest {

  @Test
  @Disabled("open defect: the second trainer's GATED gradient is garbage; see the class javadoc")
  void theSameFirstStepGivesTheSameGradientNormInEveryTrainer() {
    TrainConfig c = new TrainConfig(TrainConfig.tiny(7, 3).model()
        .withUpdateRule(UpdateRule.GATED).withWriteGate(WriteGate.RATIONAL), 7, 3, 2, 4, 5, 3e-3f,
        10f, 0.1f, 1, 0.1f, 1.0f, 0.9f, 0.95f, "passkey=1", 0.5, 5f, "synthetic", false, 0, 0,
        false, 0.05f);
    List<Trainer> open = new ArrayList<>();
    List<Float> norms = new ArrayList<>();
    try {
      for (int i = 0; i < 12; i++) {
        Trainer t = Trainer.fresh(c, TaskMixes.build(c));
        open.add(t);
        norms.add(t.step().gradNorm());
      }
    } finally {
      open.forEach(Trainer::close);
    }
    for (int i = 1; i < norms.size(); i++) {
      assertEquals(norms.get(0), norms.get(i), "trainer " + i + " of " + norms);
    }
  }
}
