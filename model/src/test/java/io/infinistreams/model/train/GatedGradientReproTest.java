package io.infinistreams.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.WriteGate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * A reproducer of an open defect (docs/training.md, "Known defect: garbage gradients in the
 * backward pass"), disabled because it fails (in about one run in three: repeat it). The same first step of the same fresh trainer,
 * taken by twelve trainers in one JVM while the earlier ones stay open, should give one gradient
 * norm twelve times. Under GATED with a write penalty, on the tape path, the second trainer's
 * norm is Infinity, 1e9-1e19 or off in the fifth digit (session 5, one libtorch thread); the
 * other eleven agree. The loss is the same every time: the garbage enters in the backward pass.
 * SEQUENTIAL and DELTA show it too, smaller (sixth digit) and only with longer sequences (12
 * segments); GATED amplifies it. Run with
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

  /** TrainerTest's recomputation-versus-tape comparison under GATED; fails when the defect strikes. */
  @Test
  @Disabled("open defect: GATED's tape path returns garbage now and then; see the class javadoc")
  void recomputationMatchesTheTapeUnderGated() {
    TrainerTest.assertRecomputationMatchesTape(UpdateRule.GATED);
  }
}
