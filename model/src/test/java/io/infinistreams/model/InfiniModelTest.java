package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The facade's contracts: split invariance, generation = absorption, scoring, views. */
class InfiniModelTest {
  private static InfiniModel model;

  @BeforeAll
  static void open() {
    model = InfiniModel.create(ModelConfig.tiny(), 1234);
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void scoringOrNotWritesTheSameMemoryBitForBit() {
    // A scored call compresses with the same segment step and scores in a separate pass; the
    // shipped shape (C = 32) trims the step's last two layers.
    int[] text = randomText(new SplittableRandom(11), 1_500);
    for (InfiniModel m : new InfiniModel[] {model, InfiniModel.create(ModelConfig.defaults(), 5)}) {
      try {
        StreamState plain = m.absorb(m.newState(), text, false).state();
        StreamState scored = m.absorb(m.newState(), text, true).state();
        assertSameState(plain, scored);
        assertTrue(plain.segmentsAbsorbed() > 1);
      } finally {
        if (m != model) {
          m.close();
        }
      }
    }
  }

  @Test
  void absorbingInOneCallOrAThousandPiecesGivesBitIdenticalState() {
    int[] text = randomText(new SplittableRandom(1), 9_000);
    StreamState whole = model.absorb(model.newState(), text, false).state();

    SplittableRandom rng = new SplittableRandom(2);
    int[] cuts = new int[999];
    for (int i = 0; i < cuts.length; i++) {
      cuts[i] = rng.nextInt(text.length + 1);
    }
    Arrays.sort(cuts);
    StreamState pieces = model.newState();
    int from = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : text.length;
      pieces = model.absorb(pieces, Arrays.copyOfRange(text, from, to), false).state();
      from = to;
    }
    assertSameState(whole, pieces);
    assertEquals((text.length + 1 - 1) / model.config().segmentLength(), whole.segmentsAbsorbed());
    assertTrue(whole.memory(1, 1).updates() > 0);
  }

  /**
   * The write strengths an absorb reports are the mean over the segments it compressed, whatever
   * the split: the segment-weighted mean of the pieces' strengths is the whole call's.
   */
  @Test
  void writeStrengthsAreTheMeanOverTheCompressedSegmentsWhateverTheSplit() {
    int n = model.config().segmentLength();
    int heads = model.config().layers() * model.config().heads();
    int[] text = randomText(new SplittableRandom(5), 6 * n);
    AbsorbResult whole = model.absorb(model.newState(), text, false);
    assertEquals(heads, whole.writeStrengths().length);
    double[] weighted = new double[heads];
    StreamState state = model.newState();
    int segments = 0;
    for (int from = 0; from < text.length; from += n / 2) {
      AbsorbResult piece =
          model.absorb(
              state, Arrays.copyOfRange(text, from, Math.min(text.length, from + n / 2)), false);
      state = piece.state();
      if (piece.segmentsCompressed() == 0) {
        assertEquals(null, piece.writeStrengths(), "nothing compressed, nothing to report");
        continue;
      }
      segments += piece.segmentsCompressed();
      for (int i = 0; i < heads; i++) {
        weighted[i] += piece.writeStrengths()[i] * piece.segmentsCompressed();
      }
    }
    assertEquals(whole.segmentsCompressed(), segments);
    for (int i = 0; i < heads; i++) {
      float s = whole.writeStrengths()[i];
      assertTrue(s > 0 && s < 1, "a logistic's mean: " + s);
      assertEquals(s, weighted[i] / segments, 1e-6, "head " + i);
    }
    try (InfiniModel paper = InfiniModel.create(ModelConfig.tinyPaper(), 3)) {
      assertEquals(
          null,
          paper.absorb(paper.newState(), text, false).writeStrengths(),
          "the delta rule has no write strength");
    }
  }

  @Test
  void absorbingManyStreamsInLockstepEqualsEachAlone() {
    lockstepEqualsEachAlone(model);
  }

  /** The paper's rules too: every stream's memory in a batch is what it gets alone, bit for bit. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = UpdateRule.class,
      names = {"LINEAR", "DELTA"})
  void thePapersRulesInLockstepEqualEachAlone(UpdateRule rule) {
    ModelConfig c =
        ModelConfig.tiny()
            .withUpdateRule(rule)
            .withMemoryRead(MemoryRead.PAPER)
            .withSegmentLength(40);
    try (InfiniModel paper = InfiniModel.create(c, 23)) {
      lockstepEqualsEachAlone(paper);
    }
  }

  private static void lockstepEqualsEachAlone(InfiniModel model) {
    SplittableRandom rng = new SplittableRandom(5);
    java.util.List<StreamState> starts = new java.util.ArrayList<>();
    java.util.List<int[]> texts = new java.util.ArrayList<>();
    for (int i = 0; i < 7; i++) {
      // different histories (open segments of different lengths) and different amounts of text,
      // including none and less than a segment
      StreamState s =
          model.absorb(model.newState(), randomText(rng, rng.nextInt(200)), false).state();
      starts.add(s);
      texts.add(randomText(rng, i == 0 ? 0 : i == 1 ? 5 : rng.nextInt(400)));
    }
    java.util.List<StreamState> together = model.absorbAll(starts, texts);
    assertEquals(starts.size(), together.size());
    for (int i = 0; i < starts.size(); i++) {
      assertSameState(model.absorb(starts.get(i), texts.get(i), false).state(), together.get(i));
    }
  }

  @Test
  void scoresEveryTokenTheSameWayWhateverTheSplit() {
    int[] text = randomText(new SplittableRandom(3), 200);
    float[] whole = model.absorb(model.newState(), text, true).logProbs();
    StreamState s = model.newState();
    float[] pieces = new float[text.length];
    int from = 0;
    SplittableRandom rng = new SplittableRandom(4);
    while (from < text.length) {
      int to = Math.min(text.length, from + 1 + rng.nextInt(40));
      AbsorbResult r = model.absorb(s, Arrays.copyOfRange(text, from, to), true);
      System.arraycopy(r.logProbs(), 0, pieces, from, to - from);
      s = r.state();
      from = to;
    }
    for (int i = 0; i < text.length; i++) {
      assertTrue(Float.isFinite(whole[i]) && whole[i] <= 0, "log-prob " + i + " = " + whole[i]);
      assertEquals(whole[i], pieces[i], 1e-4, "token " + i);
    }
    // untrained weights: close to uniform over the vocabulary
    double mean = 0;
    for (float lp : whole) {
      mean += lp / whole.length;
    }
    assertEquals(-Math.log(model.config().vocabSize()), mean, 0.5);
  }

  @Test
  void generatingThenAbsorbingTheSameTokensGivesTheSameMemory() {
    StreamState start =
        model.absorb(model.newState(), randomText(new SplittableRandom(5), 37), false).state();
    int[] prompt = ByteTokenizer.chatTurn("what did I say?");
    GenerationSettings sampled = new GenerationSettings(70, 1.0f, 99L, false);
    GenerateResult g = model.generate(start, prompt, sampled);
    assertEquals(70, g.generated().length);
    assertTrue(g.segmentsCompressed() >= 4, "generation crossed segment boundaries");

    int[] all = Arrays.copyOf(prompt, prompt.length + g.generated().length);
    System.arraycopy(g.generated(), 0, all, prompt.length, g.generated().length);
    StreamState absorbed = model.absorb(start, all, false).state();
    assertSameState(absorbed, g.state());

    // reproducible for a seed
    assertArrayEquals(g.generated(), model.generate(start, prompt, sampled).generated());
  }

  @Test
  void kvCacheDecodingEqualsOneTokenAtATime() {
    StreamState start =
        model.absorb(model.newState(), randomText(new SplittableRandom(6), 21), false).state();
    GenerateResult all =
        model.generate(
            start, new int[] {ByteTokenizer.ASSISTANT}, new GenerationSettings(40, 0f, 0L, false));
    StreamState s = model.absorb(start, new int[] {ByteTokenizer.ASSISTANT}, false).state();
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
  void stopsAtEosWhenAsked() {
    // sample at a high temperature until EOS comes up; the reply must end there
    StreamState s = model.newState();
    GenerateResult r =
        model.generate(
            s, new int[] {ByteTokenizer.USER}, new GenerationSettings(20_000, 50f, 7L, true));
    int[] gen = r.generated();
    assertEquals(ByteTokenizer.EOS, gen[gen.length - 1]);
    for (int i = 0; i < gen.length - 1; i++) {
      assertNotEquals(ByteTokenizer.EOS, gen[i]);
    }
  }

  @Test
  void theMemoryOffViewIgnoresMemory() {
    InfiniModel off = InfiniModel.fromWeights(model.weights().withMemoryOff());
    assertNotEquals(model.fingerprint(), off.fingerprint());
    int[] text = randomText(new SplittableRandom(8), 100);
    // two different histories, same context and open segment afterwards: memory-off scores are
    // identical, memory-on scores are not
    StreamState a =
        model.absorb(model.newState(), randomText(new SplittableRandom(9), 95), false).state();
    StreamState b =
        model.absorb(model.newState(), randomText(new SplittableRandom(10), 95), false).state();
    int n = model.config().segmentLength();
    // the filler leaves one token open: the context and that token are shared by both streams
    int[] filler = randomText(new SplittableRandom(11), 2 * n + Math.floorMod(1 - 95, n));
    a = model.absorb(a, filler, false).state();
    b = model.absorb(b, filler, false).state();
    assertArrayEquals(a.contextTokens(), b.contextTokens());
    assertArrayEquals(a.openTokens(), b.openTokens());
    assertNotEquals(
        Arrays.toString(a.memory(0, 0).toBytes()), Arrays.toString(b.memory(0, 0).toBytes()));
    float[] offA = off.absorb(a, text, true).logProbs();
    float[] offB = off.absorb(b, text, true).logProbs();
    int open = n - a.openLength(); // tokens predicted inside the shared open segment
    assertTrue(open > 3);
    for (int i = 0; i < open; i++) {
      assertEquals(offA[i], offB[i], 0f);
    }
    float[] onA = model.absorb(a, text, true).logProbs();
    float[] onB = model.absorb(b, text, true).logProbs();
    assertNotEquals(onA[3], onB[3]);
  }

  @Test
  void rejectsTokensOutsideTheVocabulary() {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> model.absorb(model.newState(), new int[] {model.config().vocabSize()}, false));
  }

  /**
   * A head forced local by its gate logit (the evaluation's per-head ablation) changes the
   * function, not the source weights; a head that does not exist is refused.
   */
  @Test
  void aHeadForcedLocalByItsGateLogitChangesOnlyThatView() {
    String fingerprint = model.fingerprint();
    int[] text = randomText(new SplittableRandom(5), 300);
    InfiniModel one =
        InfiniModel.fromWeights(model.weights().withGateLogit(1, 0, Weights.LOCAL_GATE_LOGIT));
    InfiniModel off = InfiniModel.fromWeights(model.weights().withMemoryOff());
    float[] oneHead = one.absorb(one.newState(), text, true).logProbs();
    float[] asTrained = model.absorb(model.newState(), text, true).logProbs();
    float[] none = off.absorb(off.newState(), text, true).logProbs();
    assertNotEquals(Arrays.toString(asTrained), Arrays.toString(oneHead));
    assertNotEquals(Arrays.toString(none), Arrays.toString(oneHead));
    assertEquals(fingerprint, model.fingerprint(), "the source weights are not edited");
    assertNotEquals(fingerprint, one.fingerprint());
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> model.weights().withGateLogit(model.config().layers(), 0, 0f));
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class,
        () -> model.weights().withGateLogit(0, model.config().heads(), 0f));
  }

  static void assertSameState(StreamState want, StreamState got) {
    assertEquals(want.tokensAbsorbed(), got.tokensAbsorbed(), "tokens");
    assertEquals(want.segmentsAbsorbed(), got.segmentsAbsorbed(), "segments");
    assertArrayEquals(want.openTokens(), got.openTokens(), "open segment");
    for (int i = 0; i < want.memories().size(); i++) {
      assertArrayEquals(
          want.memories().get(i).toBytes(),
          got.memories().get(i).toBytes(),
          "memory bytes of (layer, head) #" + i);
    }
    assertEquals(want, got);
  }

  static int[] randomText(SplittableRandom rng, int length) {
    int[] t = new int[length];
    for (int i = 0; i < length; i++) {
      t[i] = rng.nextInt(256);
    }
    return t;
  }
}
