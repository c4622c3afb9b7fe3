package io.infinistreams.app.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code bench --lockstep} on a tiny model: a rate for each batch size and mode, and the table. */
class LockstepComparisonTest {

  @Test
  void measuresEachBatchSizeBothWays() {
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 1)) {
      LockstepComparison result = LockstepComparison.run(model, new int[] {1, 3}, 2, 3, 5);
      for (int i = 0; i < 2; i++) {
        assertTrue(result.alone()[i] > 0 && Double.isFinite(result.alone()[i]), "alone " + i);
        assertTrue(
            result.lockstep()[i] > 0 && Double.isFinite(result.lockstep()[i]), "lockstep " + i);
      }
      StringWriter text = new StringWriter();
      result.print(new PrintWriter(text, true), 3);
      String table = text.toString();
      assertEquals(2, table.lines().filter(l -> l.matches("\\| [13] \\| .*")).count(), table);
      assertTrue(table.contains("(2 segments each, no scores)"), table);
      assertTrue(table.contains("Medians of 3 rounds"), table);
    }
  }
}
