package io.infinistreams.model;

import static io.infinistreams.model.InfiniModelTest.assertSameState;
import static io.infinistreams.model.InfiniModelTest.randomText;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short convolution over the query, key and value projections on the paths the reference
 * comparison does not cover: decoding with the KV cache (which carries the convolution's last
 * inputs), generation then absorption, the identity start, checkpoints and the config's limits. The
 * numerics of the convolution itself are pinned by {@link WholeModelReferenceTest}.
 */
class ShortConvTest {
  private static final int WIDTH = 4;
  private static NDManager manager;
  private static InfiniModel model; // taps drawn away from the identity

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager();
    ModelConfig c = ModelConfig.tiny().withShortConv(WIDTH);
    model = InfiniModel.fromWeights(WholeModelReferenceTest.perturbedWeights(c, 41, manager));
  }

  @AfterAll
  static void close() {
    model.close();
    manager.close();
  }

  @Test
  void kvCacheDecodingEqualsOneTokenAtATime() {
    // one call decodes through the cache (the convolution reads the cached tail); one token per
    // call prefills the open segment afresh each time
    StreamState s =
        model.absorb(model.newState(), randomText(new SplittableRandom(6), 13), false).state();
    GenerateResult all = model.generate(s, new int[0], GenerationSettings.greedy(40));
    assertTrue(all.segmentsCompressed() >= 2, "decoding crossed segment boundaries");
    int[] oneByOne = new int[40];
    for (int i = 0; i < 40; i++) {
      GenerateResult r = model.generate(s, new int[0], GenerationSettings.greedy(1));
      oneByOne[i] = r.generated()[0];
      s = r.state();
    }
    assertArrayEquals(oneByOne, all.generated());
    assertSameState(s, all.state());
  }

  @Test
  void generatingThenAbsorbingTheSameTokensGivesTheSameState() {
    StreamState start =
        model.absorb(model.newState(), randomText(new SplittableRandom(5), 37), false).state();
    int[] prompt = ByteTokenizer.chatTurn("what did I say?");
    GenerateResult g = model.generate(start, prompt, new GenerationSettings(50, 1.0f, 9L, false));
    int[] all = Arrays.copyOf(prompt, prompt.length + g.generated().length);
    System.arraycopy(g.generated(), 0, all, prompt.length, g.generated().length);
    assertSameState(model.absorb(start, all, false).state(), g.state());
  }

  @Test
  void theConvolutionChangesWhatTheModelComputes() {
    // guards the tests above against a convolution that is silently skipped
    int[] text = randomText(new SplittableRandom(3), 60);
    ModelConfig plain = model.config().withShortConv(0);
    try (NDManager m = NDManager.newBaseManager();
        InfiniModel without =
            InfiniModel.fromWeights(WholeModelReferenceTest.perturbedWeights(plain, 41, m))) {
      assertNotEquals(
          without.absorb(without.newState(), text, true).logProbs()[50],
          model.absorb(model.newState(), text, true).logProbs()[50]);
    }
  }

  @Test
  void freshTapsAreTheIdentitySoAModelStartsAsItsSourceWithoutThem() {
    ModelConfig c = ModelConfig.tiny();
    int[] text = randomText(new SplittableRandom(8), 90);
    try (NDManager m = NDManager.newBaseManager();
        InfiniModel source = InfiniModel.create(c, 12);
        InfiniModel grown =
            InfiniModel.fromWeights(
                Weights.initFrom(c.withShortConv(WIDTH), 99, source.weights(), m))) {
      AbsorbResult a = source.absorb(source.newState(), text, true);
      AbsorbResult b = grown.absorb(grown.newState(), text, true);
      assertArrayEquals(a.logProbs(), b.logProbs());
      assertSameState(a.state(), b.state());
    }
  }

  @Test
  void checkpointsKeepTheWidthAndOldManifestsMeanNone(@TempDir Path dir) {
    model.save(dir.resolve("conv"), "test");
    try (InfiniModel loaded = InfiniModel.load(dir.resolve("conv"))) {
      assertEquals(WIDTH, loaded.config().shortConv());
      assertEquals(model.fingerprint(), loaded.fingerprint());
    }
    // a model without it writes no key, so its manifest and fingerprint are as they always were
    assertFalse(Checkpoint.configToJson(ModelConfig.tiny()).has("shortConv"), "no key for 0");
    assertEquals(
        0, Checkpoint.configFromJson(Checkpoint.configToJson(ModelConfig.tiny())).shortConv());
    assertTrue(model.config().canonical().endsWith(",shortConv=" + WIDTH));
    assertEquals(-1, ModelConfig.tiny().canonical().indexOf("shortConv"));
  }

  @Test
  void aWidthNeedsItsHistoryInTheOverlap() {
    ModelConfig tiny = ModelConfig.tiny(); // overlap 4
    assertEquals(5, tiny.withShortConv(5).shortConv());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> tiny.withShortConv(6));
    assertTrue(e.getMessage().contains("overlap of at least 5"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> tiny.withShortConv(-1));
    assertThrows(
        IllegalArgumentException.class, () -> tiny.withOverlap(32).withShortConv(9)); // > max
  }
}
