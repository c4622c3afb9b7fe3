package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.Weights;
import io.infinistreams.model.WriteGate;
import io.infinistreams.tasks.SyntheticText;
import io.infinistreams.tasks.prose.ProseSource;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The write-strength measurement reads the gate the model actually applies, token by token. */
class WritesEvalTest {
  private static ProseSource prose;

  @BeforeAll
  static void open() {
    prose =
        ProseSource.fromText(
            "synthetic",
            new String(SyntheticText.corpus(1, 200_000, 0.05).bytes(), StandardCharsets.UTF_8));
  }

  @Test
  void oneRowPerLayerAndHeadWithStrengthsInTheUnitInterval() {
    ModelConfig c = ModelConfig.tiny();
    try (NDManager m = NDManager.newBaseManager()) {
      List<WritesEval.Row> rows = WritesEval.run(Weights.init(c, 3, m), prose, 2, 7);
      assertEquals(c.layers() * c.heads(), rows.size());
      for (WritesEval.Row r : rows) {
        for (double beta : new double[] {r.value(), r.statement(), r.prose()}) {
          assertTrue(beta > 0 && beta < 1, r.toString());
        }
        assertEquals(1.0, r.proseWritten(), r.toString()); // the logistic gate is never 0
      }
    }
  }

  /** A top-k write leaves most prose tokens unwritten; the sparse gate writes none below 0. */
  @Test
  void theShareOfProseWrittenCountsOnlyTokensThatWrite() {
    ModelConfig topK = ModelConfig.tiny().withWriteTopK(2);
    try (NDManager m = NDManager.newBaseManager()) {
      for (WritesEval.Row r : WritesEval.run(Weights.init(topK, 3, m), prose, 2, 7)) {
        assertTrue(r.proseWritten() > 0 && r.proseWritten() < 0.5, r.toString());
      }
      ModelConfig sparse = ModelConfig.tiny().withWriteGate(WriteGate.SPARSE);
      List<WritesEval.Row> rows =
          WritesEval.run(Weights.fromNamed(sparse, biased(sparse, -30f, 30f, m)), prose, 2, 7);
      int last = sparse.layers() - 1;
      for (WritesEval.Row r : rows) {
        if (r.layer() == 0) {
          assertEquals(0.0, r.proseWritten(), r.toString());
          assertEquals(0.0, r.prose(), r.toString());
        } else if (r.layer() == last) {
          assertEquals(1.0, r.proseWritten(), r.toString());
        }
      }
    }
  }

  /**
   * With the write bias of layer 0 pushed far down and that of the last layer far up, the measured
   * strengths follow: about 0 and about 1 on every kind of token.
   */
  @Test
  void theMeasuredStrengthIsTheGateTheModelApplies() {
    ModelConfig c = ModelConfig.tiny();
    int last = c.layers() - 1;
    try (NDManager m = NDManager.newBaseManager()) {
      List<WritesEval.Row> rows =
          WritesEval.run(Weights.fromNamed(c, biased(c, -30f, 30f, m)), prose, 2, 7);
      for (WritesEval.Row r : rows) {
        double want = r.layer() == 0 ? 0 : r.layer() == last ? 1 : Double.NaN;
        if (!Double.isNaN(want)) {
          assertEquals(want, r.value(), 1e-6, r.toString());
          assertEquals(want, r.statement(), 1e-6, r.toString());
          assertEquals(want, r.prose(), 1e-6, r.toString());
        }
      }
    }
  }

  /**
   * Every retrieval task's documents can be measured: each has an answering value whose tokens the
   * value column averages (0/0 would give NaN), and with the write biases pushed apart the
   * strengths on them follow the gate there too.
   */
  @Test
  void everyRetrievalTaskHasAnAnsweringValueToMeasure() {
    ModelConfig c = ModelConfig.tiny();
    int last = c.layers() - 1;
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = Weights.fromNamed(c, biased(c, -30f, 30f, m));
      for (String task : io.infinistreams.tasks.prose.RetrievalTask.NAMES) {
        List<WritesEval.Row> rows = WritesEval.run(w, RetrievalEval.task(task, prose), 2, 7);
        assertEquals(c.layers() * c.heads(), rows.size(), task);
        for (WritesEval.Row r : rows) {
          assertTrue(Double.isFinite(r.value()), task + " " + r);
          if (r.layer() == last) {
            assertEquals(1.0, r.value(), 1e-6, task + " " + r);
          }
        }
      }
    }
  }

  /**
   * Random weights of {@code c} with layer 0's write bias at {@code first}, the last's at {@code
   * last}.
   */
  private static NDList biased(ModelConfig c, float first, float last, NDManager m) {
    NDList edited = new NDList();
    for (NDArray a : Weights.init(c, 3, m).toNamedList()) {
      NDArray b = a;
      if (a.getName().equals("layers.0.attn.write_bias")) {
        b = a.zerosLike().add(first);
      } else if (a.getName().equals("layers." + (c.layers() - 1) + ".attn.write_bias")) {
        b = a.zerosLike().add(last);
      }
      b.setName(a.getName());
      edited.add(b);
    }
    return edited;
  }

  @Test
  void aRuleWithoutWriteStrengthIsNotMeasured() {
    ModelConfig c = ModelConfig.tinyPaper();
    assertEquals(UpdateRule.DELTA, c.updateRule());
    try (NDManager m = NDManager.newBaseManager()) {
      assertTrue(WritesEval.run(Weights.init(c, 3, m), prose, 1, 7).isEmpty());
    }
  }
}
