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

/** Shapes and gradients of the functional forward: batch > 1, backpropagation through 4 segments. */
class ForwardSmokeTest {

  @ParameterizedTest(name = "{0} output gate")
  @EnumSource(OutputGate.class)
  void backpropagatesThroughFourSegments(OutputGate gate) {
    ModelConfig c = ModelConfig.tiny().withOutputGate(gate);
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
          int[] ids = new int[b * c.segmentLength()];
          for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(256);
          }
          NDArray tokens = m.create(ids, new Shape(b, c.segmentLength()));
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
        if (gate.perToken()) { // zero weights still get a gradient: they can learn
          assertTrue(w.layer(0).gateContent().getGradient().abs().sum().getFloat() > 0);
        }
        if (gate.readsInput()) {
          assertTrue(w.layer(0).gateInput().getGradient().abs().sum().getFloat() > 0);
        }
      }
    }
  }
}
