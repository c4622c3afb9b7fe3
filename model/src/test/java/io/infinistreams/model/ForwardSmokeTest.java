package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.infinistreams.model.InfiniTransformer.Memory;
import io.infinistreams.model.InfiniTransformer.Options;
import io.infinistreams.model.InfiniTransformer.Output;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Shapes and gradients of the functional forward: batch > 1, backpropagation through 4 segments.
 */
class ForwardSmokeTest {

  @ParameterizedTest(name = "{0} update")
  @EnumSource(UpdateRule.class)
  void backpropagatesThroughFourSegments(UpdateRule rule) {
    ModelConfig c =
        rule == UpdateRule.GATED
            ? ModelConfig.tiny()
            : ModelConfig.tiny().withUpdateRule(rule).withMemoryRead(MemoryRead.PAPER);
    try (NDManager base = NDManager.newBaseManager()) {
      Weights w = Weights.init(c, 7, base);
      for (Weights.Param p : w.parameters()) {
        p.array().setRequiresGradient(true);
      }
      try (NDManager m = base.newSubManager();
          GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        int b = 3;
        SplittableRandom rng = new SplittableRandom(1);
        List<Memory> mem = Memory.zeros(m, c, b);
        NDArray loss = m.zeros(new Shape());
        for (int s = 0; s < 4; s++) {
          int window = c.overlap() + c.segmentLength(); // context, then the segment
          int[] ids = new int[b * window];
          for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(256);
          }
          NDArray tokens = m.create(ids, new Shape(b, window));
          Output out = InfiniTransformer.forward(w, tokens, mem, Options.fullSegment());
          assertEquals(new Shape(b, c.segmentLength(), c.vocabSize()), out.logits().getShape());
          loss = loss.add(out.logits().logSoftmax(-1).mean().neg());
          mem = out.memories();
        }
        gc.backward(loss);
        for (Weights.Param p : w.parameters()) {
          NDArray g = p.array().getGradient();
          assertEquals(p.array().getShape(), g.getShape(), p.name());
          assertTrue(Float.isFinite(g.abs().sum().getFloat()), p.name());
        }
        // K and V learn to write: the first layer's key projection gets gradient via memory
        assertTrue(w.layer(0).wk().getGradient().abs().sum().getFloat() > 0);
        assertTrue(w.layer(0).gate().getGradient().abs().sum().getFloat() > 0);
        if (rule == UpdateRule.GATED) { // the write strength learns through the memory
          assertTrue(w.layer(0).write().getGradient().abs().sum().getFloat() > 0);
          assertTrue(w.layer(0).writeBias().getGradient().abs().sum().getFloat() > 0);
        }
      }
    }
  }

  /**
   * A top-k write's straight-through gradient changes the gradients, not the values: the loss is
   * the same bits with and without it, and the write gate's bias then also learns from the tokens
   * it leaves out (its gradient differs). Under a write of every token the option changes nothing.
   */
  @ParameterizedTest(name = "writeTopK {0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {3, 0})
  void theStraightThroughTopKGradientChangesGradientsNotValues(int k) {
    ModelConfig c = ModelConfig.tiny().withWriteTopK(k);
    float[][] none = lossAndBiasGradient(c, false);
    float[][] through = lossAndBiasGradient(c, true);
    assertEquals(none[0][0], through[0][0], 0f, "the same loss");
    boolean differ = !java.util.Arrays.equals(none[1], through[1]);
    assertEquals(k > 0, differ, "the write bias's gradient differs only under a top-k write");
  }

  /** {loss}, then the first layer's write-bias gradient, over 3 segments of a batch of 2. */
  private static float[][] lossAndBiasGradient(ModelConfig c, boolean straightThrough) {
    try (NDManager base = NDManager.newBaseManager()) {
      Weights w = Weights.init(c, 7, base);
      for (Weights.Param p : w.parameters()) {
        p.array().setRequiresGradient(true);
      }
      try (NDManager m = base.newSubManager();
          GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        int b = 2;
        SplittableRandom rng = new SplittableRandom(4);
        List<Memory> mem = Memory.zeros(m, c, b);
        NDArray loss = m.zeros(new Shape());
        for (int s = 0; s < 3; s++) {
          int window = c.overlap() + c.segmentLength();
          int[] ids = new int[b * window];
          for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(256);
          }
          Options o = Options.fullSegment().withTopKStraightThrough(straightThrough);
          Output out = InfiniTransformer.forward(w, m.create(ids, new Shape(b, window)), mem, o);
          loss = loss.add(out.logits().logSoftmax(-1).mean().neg());
          mem = out.memories();
        }
        float value = loss.getFloat();
        gc.backward(loss);
        return new float[][] {{value}, w.layer(0).writeBias().getGradient().toFloatArray()};
      }
    }
  }
}
