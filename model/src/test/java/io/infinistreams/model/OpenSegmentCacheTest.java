package io.infinistreams.model;

import static io.infinistreams.model.InfiniModelTest.assertSameState;
import static io.infinistreams.model.InfiniModelTest.randomText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scoring through an {@link OpenSegmentCache}: the same states bit for bit and the same scores to
 * float rounding as without it, whatever the split; a cache of another state is ignored.
 */
class OpenSegmentCacheTest {

  static Stream<ModelConfig> configs() {
    return Stream.of(
        ModelConfig.tiny(), ModelConfig.tiny().withShortConv(3), ModelConfig.tinyPaper());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void cachedScoresEqualUncachedAndStatesAreBitIdentical(ModelConfig config) {
    try (InfiniModel model = InfiniModel.create(config, 7);
        OpenSegmentCache cache = model.newOpenSegmentCache()) {
      int[] text = randomText(new SplittableRandom(11), 600);
      AbsorbResult whole = model.absorb(model.newState(), text, true);

      StreamState s = model.newState();
      float[] pieces = new float[text.length];
      SplittableRandom rng = new SplittableRandom(12);
      int from = 0;
      while (from < text.length) {
        int to = Math.min(text.length, from + 1 + rng.nextInt(9)); // mostly inside one segment
        AbsorbResult r = model.absorb(s, Arrays.copyOfRange(text, from, to), true, cache);
        System.arraycopy(r.logProbs(), 0, pieces, from, to - from);
        s = r.state();
        from = to;
      }
      assertSameState(whole.state(), s);
      for (int i = 0; i < text.length; i++) {
        assertTrue(Float.isFinite(pieces[i]), "token " + i + " scored " + pieces[i]);
        assertEquals(whole.logProbs()[i], pieces[i], 1e-4, "token " + i);
      }
      assertTrue(cache.hits() > cache.misses(), cache.hits() + " hits, " + cache.misses());
      assertTrue(cache.bytes() > 0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void aCacheOfAnotherStateIsIgnoredAndACallWithoutScoresEmptiesIt(ModelConfig config) {
    try (InfiniModel model = InfiniModel.create(config, 8);
        OpenSegmentCache cache = model.newOpenSegmentCache()) {
      SplittableRandom rng = new SplittableRandom(13);
      StreamState a = model.absorb(model.newState(), randomText(rng, 5), true, cache).state();
      assertEquals(1, cache.misses());
      // Another stream with the same counters and open length: only its tokens differ.
      StreamState b = model.absorb(model.newState(), randomText(rng, 5), false).state();
      int[] more = randomText(rng, 4);
      AbsorbResult viaCache = model.absorb(b, more, true, cache);
      AbsorbResult plain = model.absorb(b, more, true);
      assertEquals(2, cache.misses());
      assertEquals(0, cache.hits());
      assertSameState(plain.state(), viaCache.state());
      for (int i = 0; i < more.length; i++) {
        assertEquals(plain.logProbs()[i], viaCache.logProbs()[i], 1e-5, "token " + i);
      }
      // The cache now describes viaCache's state: the next call continues from it.
      model.absorb(viaCache.state(), randomText(rng, 2), true, cache);
      assertEquals(1, cache.hits());

      model.absorb(a, randomText(rng, 3), false, cache);
      assertTrue(cache.isEmpty());
      assertEquals(0, cache.bytes());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void aCacheOfAnotherModelIsRefused(ModelConfig config) {
    try (InfiniModel one = InfiniModel.create(config, 9);
        InfiniModel two = InfiniModel.create(config, 10);
        OpenSegmentCache cache = one.newOpenSegmentCache()) {
      StreamState s = one.absorb(one.newState(), new int[] {65, 66}, true, cache).state();
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> two.absorb(s, new int[] {67}, true, cache));
      assertTrue(e.getMessage().contains("another model"), e.getMessage());
      assertEquals(0, cache.hits());
    }
  }
}
