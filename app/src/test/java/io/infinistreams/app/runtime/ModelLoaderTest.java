package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.Models;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the serving and previous models: the layout, and what is refused at start. */
class ModelLoaderTest {
  @TempDir static Path models;

  private static String fingerprintA;
  private static String fingerprintB;

  /** models/a, models/b, models/a-copy (A again), models/empty, models/elsewhere/broken. */
  @BeforeAll
  static void saveCheckpoints() throws Exception {
    try (InfiniModel a = InfiniModel.create(ModelConfig.tiny(), 1);
        InfiniModel b = InfiniModel.create(ModelConfig.tiny().withOverlap(2), 2)) {
      a.save(models.resolve("a"), "test");
      a.save(models.resolve("a-copy"), "test");
      b.save(models.resolve("b"), "test");
      fingerprintA = a.fingerprint();
      fingerprintB = b.fingerprint();
    }
    Files.createDirectories(models.resolve("empty"));
    Path broken = Files.createDirectories(models.resolve("elsewhere").resolve("broken"));
    Files.copy(
        models.resolve("a").resolve(Checkpoint.WEIGHTS_FILE),
        broken.resolve(Checkpoint.WEIGHTS_FILE));
    String manifest =
        Files.readString(
                models.resolve("a").resolve(Checkpoint.MANIFEST_FILE), StandardCharsets.UTF_8)
            .replaceFirst("\"config\"\\s*:\\s*\\{", "\"config\": {\"attentionSinks\": 4, ");
    Files.writeString(broken.resolve(Checkpoint.MANIFEST_FILE), manifest, StandardCharsets.UTF_8);
  }

  private static AppConfig config(Map<String, String> keys) {
    return AppConfig.builder().overrides(keys).build();
  }

  private static String refusal(Map<String, String> keys) {
    CliException e = assertThrows(CliException.class, () -> ModelLoader.loadAll(config(keys)));
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    return e.getMessage();
  }

  @Test
  void aFolderOfCheckpointsLoadsEachButTheServingOne() {
    try (ModelLoader.LoadedModels loaded =
        ModelLoader.loadAll(
            config(
                Map.of(
                    "model.path", models.resolve("b").toString(),
                    "model.previous", models.resolve("a").toString(),
                    "model.upgrade.policy", "serve")))) {
      assertEquals(fingerprintB, loaded.models().serving().fingerprint());
      assertEquals(1, loaded.models().previous().size());
      assertEquals(fingerprintA, loaded.models().previous().get(0).fingerprint());
      assertEquals(Models.UpgradePolicy.SERVE, loaded.models().policy());
      assertEquals(2, loaded.descriptions().size());
      assertTrue(loaded.descriptions().get(1).contains(models.resolve("a").toString()));
    }
    // The whole folder: a, a-copy and b are checkpoints; b serves, a and a-copy are one model.
    String twice =
        refusal(
            Map.of(
                "model.path", models.resolve("b").toString(),
                "model.previous", models.toString(),
                "model.upgrade.policy", "serve"));
    assertTrue(
        twice.contains("same model") && twice.contains(fingerprintA.substring(0, 12)), twice);
  }

  @Test
  void theSameModelTwiceIsRefused() {
    String twice =
        refusal(
            Map.of(
                "model.path",
                models.resolve("b").toString(),
                "model.previous",
                models.resolve("a") + "," + models.resolve("a-copy"),
                "model.upgrade.policy",
                "serve"));
    assertTrue(twice.startsWith("model.previous: checkpoint "), twice);
    assertTrue(twice.contains("same model"), twice);
    String serving =
        refusal(
            Map.of(
                "model.path", models.resolve("a").toString(),
                "model.previous", models.resolve("a-copy").toString(),
                "model.upgrade.policy", "serve"));
    assertTrue(serving.contains("(model.path)"), serving);
  }

  @Test
  void aCheckpointThatDoesNotLoadOrIsMissingIsRefused() {
    String broken =
        refusal(
            Map.of(
                "model.previous", models.resolve("elsewhere").toString(),
                "model.upgrade.policy", "serve",
                "model.random", "tiny"));
    assertTrue(broken.startsWith("model.previous: cannot load the checkpoint in "), broken);
    assertTrue(broken.contains("attentionSinks"), broken);
    String missing =
        refusal(
            Map.of(
                "model.previous", models.resolve("nothing-here").toString(),
                "model.upgrade.policy", "serve",
                "model.random", "tiny"));
    assertTrue(missing.startsWith("model.previous: no checkpoint folder at "), missing);
    String empty =
        refusal(
            Map.of(
                "model.previous", models.resolve("empty").toString(),
                "model.upgrade.policy", "serve",
                "model.random", "tiny"));
    assertTrue(empty.startsWith("model.previous: no checkpoint in "), empty);
  }

  @Test
  void previousModelsNeedThePolicyServe() {
    for (String policy : List.of("dead-letter", "reset")) {
      String refused =
          refusal(
              Map.of(
                  "model.previous",
                  models.resolve("a").toString(),
                  "model.upgrade.policy",
                  policy,
                  "model.random",
                  "tiny"));
      assertTrue(refused.contains("model.upgrade.policy=serve"), refused);
    }
    try (ModelLoader.LoadedModels loaded =
        ModelLoader.loadAll(
            config(Map.of("model.random", "tiny", "model.upgrade.policy", "reset")))) {
      assertEquals(Models.UpgradePolicy.RESET, loaded.models().policy());
      assertTrue(loaded.models().previous().isEmpty());
    }
    try (ModelLoader.LoadedModels loaded =
        ModelLoader.loadAll(config(Map.of("model.random", "tiny")))) {
      assertEquals(Models.UpgradePolicy.DEAD_LETTER, loaded.models().policy(), "the default");
    }
  }
}
