package io.infinistreams.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.topology.Models;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The start-up census against the loaded models and the policy; the per-model metrics. */
class ModelCensusTest {
  private static InfiniModel a;
  private static InfiniModel b;
  private static final String UNLOADED = "c".repeat(64);

  @BeforeAll
  static void createModels() {
    a = InfiniModel.create(ModelConfig.tiny(), 1);
    b = InfiniModel.create(ModelConfig.tiny(), 2);
  }

  @AfterAll
  static void closeModels() {
    a.close();
    b.close();
  }

  private static String id(InfiniModel m) {
    return m.fingerprint().substring(0, 12);
  }

  @Test
  void theCensusSaysWhatEachPolicyDoesWithEachModelsStreams() {
    Map<String, Long> byModel = Map.of(b.fingerprint(), 5L, a.fingerprint(), 3L, UNLOADED, 2L);

    String serve =
        ModelCensus.describe(byModel, Models.of(b, List.of(a), Models.UpgradePolicy.SERVE));
    assertTrue(
        serve.startsWith(
            "stored streams by model: "
                + id(b)
                + " (serving) 5, "
                + id(a)
                + " (previous) 3, cccccccccccc 2"),
        serve);
    assertTrue(serve.contains("the 3 written by previous models are continued by them"), serve);
    assertTrue(serve.contains("the 2 written by a model not loaded are refused"), serve);

    String reset =
        ModelCensus.describe(byModel, Models.of(b, List.of(), Models.UpgradePolicy.RESET));
    assertTrue(reset.contains("the 5 written by another model start afresh"), reset);
    assertFalse(reset.contains("refused"), reset);

    String deadLetter = ModelCensus.describe(byModel, Models.of(b));
    assertTrue(deadLetter.contains("the 5 written by another model are refused"), deadLetter);
    assertEquals(deadLetter, ModelCensus.describe(byModel, b.fingerprint()));

    // A previous model that no hosted stream needs any more shows 0: it can be retired.
    String drained =
        ModelCensus.describe(
            Map.of(b.fingerprint(), 8L), Models.of(b, List.of(a), Models.UpgradePolicy.SERVE));
    assertEquals(
        "stored streams by model: " + id(b) + " (serving) 8, " + id(a) + " (previous) 0", drained);
  }

  @Test
  void eachLoadedModelHasItsSeriesAndResetsAreCounted() {
    try (InfiniMetrics metrics =
        new InfiniMetrics(Models.of(b, List.of(a), Models.UpgradePolicy.SERVE))) {
      metrics.applied(EventKind.APPEND, 10, 0, 1000);
      metrics.appliedBy(a.fingerprint(), false);
      metrics.applied(EventKind.APPEND, 10, 0, 1000);
      metrics.appliedBy(b.fingerprint(), true);
      String scrape = metrics.scrape();
      assertTrue(
          scrape.contains("infini_model_info{fingerprint=\"" + id(b) + "\",role=\"serving\"} 1"),
          scrape);
      assertTrue(
          scrape.contains("infini_model_info{fingerprint=\"" + id(a) + "\",role=\"previous\"} 1"),
          scrape);
      assertTrue(
          scrape.contains(
              "infini_model_events_applied_total{fingerprint=\""
                  + id(a)
                  + "\",role=\"previous\"} 1.0"),
          scrape);
      assertTrue(scrape.contains("infini_sessions_upgraded_total{action=\"reset\"} 1.0"), scrape);
    }
  }

  /** Sessions that do not decode are counted apart and said to take only a DELETE. */
  @Test
  void unreadableSessionsAreCountedApart() {
    Map<String, Long> byModel = Map.of(b.fingerprint(), 5L, ModelCensus.UNREADABLE, 2L);
    String line = ModelCensus.describe(byModel, Models.of(b));
    assertTrue(line.startsWith("stored streams by model: " + id(b) + " (serving) 5;"), line);
    assertTrue(
        line.endsWith(
            "; 2 stored session(s) cannot be read by this version (written by a newer one, or"
                + " damaged): their streams take only a DELETE (STATE_UNREADABLE)"),
        line);
    assertFalse(line.contains("refused"), line);
  }
}
