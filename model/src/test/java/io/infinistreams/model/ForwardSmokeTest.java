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
}
