package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import io.infinistreams.model.InfiniTransformer.GateOverride;
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
    int calls = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : text.length;
      pieces = model.absorb(pieces, Arrays.copyOfRange(text, from, to), false).state();
      from = to;
      calls++;
    }
    assertEquals(1000, calls);
    assertSameState(whole, pieces);
    assertEquals((text.length + 1 - 1) / model.config().segmentLength(), whole.segmentsAbsorbed());
    assertTrue(whole.memory(1, 1).updates() > 0);
  }

  @Test
  void absorbingManyStreamsInLockstepEqualsEachAlone() {
    lockstepEqualsEachAlone(model);
  }

  /** The SEQUENTIAL and GATED writes' batched inverses give each stream what it gets alone, bit for bit. */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(value = UpdateRule.class, names = {"SEQUENTIAL", "GATED"})
  void sequentialUpdateInLockstepEqualsEachAlone(UpdateRule rule) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(rule).withSegmentLength(40);
    try (InfiniModel sequential = InfiniModel.create(c, 23)) {
      lockstepEqualsEachAlone(sequential);
    }
  }

  /**
   * GATED with SIGNED keys, and with the logistic write gate (an exp, which libtorch rounds by
   * buffer position, so it runs per stream row): bit for bit in lockstep.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0} keys, {1} write gate")
  @org.junit.jupiter.params.provider.CsvSource({"SIGNED,RATIONAL", "ELU_PLUS_ONE,LOGISTIC",
      "SIGNED,LOGISTIC"})
  void gatedVariantsInLockstepEqualEachAlone(KeyFeatures keys, WriteGate gate) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED).withKeyFeatures(keys)
        .withWriteGate(gate).withSegmentLength(40);
    try (InfiniModel variant = InfiniModel.create(c, 29)) {
      lockstepEqualsEachAlone(variant);
    }
  }

  /**
   * The per-token output gates (an exp per token, run per stream row) with non-zero weights: bit
   * for bit in lockstep, and whatever the split of the text into calls.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = OutputGate.class, names = {"CONTENT", "CONTENT_INPUT", "CONTENT_LOCAL"})
  void contentGateInLockstepAndInPiecesIsBitIdentical(OutputGate gate) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withWriteGate(WriteGate.LOGISTIC).withOverlap(4).withOutputGate(gate)
        .withSegmentLength(40);
    try (InfiniModel content = InfiniModel.create(c, 31)) {
      SplittableRandom rng = new SplittableRandom(8);
      for (Weights.Layer l : content.weights().layers()) {
        for (NDArray a : new NDArray[] {l.gateContent(), l.gateInput()}) {
          if (a == null) {
            continue;
          }
          float[] w = new float[Math.toIntExact(a.size())];
          for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rng.nextGaussian() * (a == l.gateInput() ? 0.2 : 1.0));
          }
          a.set(java.nio.FloatBuffer.wrap(w));
        }
      }
      lockstepEqualsEachAlone(content);
      int[] text = randomText(new SplittableRandom(3), 700);
      StreamState whole = content.absorb(content.newState(), text, false).state();
      StreamState pieces = content.newState();
      for (int from = 0; from < text.length; from += 37) {
        pieces = content.absorb(pieces, Arrays.copyOfRange(text, from,
            Math.min(text.length, from + 37)), false).state();
      }
      assertSameState(whole, pieces);
      // the weights matter: the same text through the STATIC gate gives another memory
      try (InfiniModel still = InfiniModel.create(c.withOutputGate(OutputGate.STATIC), 31)) {
        StreamState other = still.absorb(still.newState(), text, false).state();
        assertNotEquals(Arrays.toString(whole.memory(1, 0).toBytes()),
            Arrays.toString(other.memory(1, 0).toBytes()));
      }
    }
  }

  private static void lockstepEqualsEachAlone(InfiniModel model) {
    SplittableRandom rng = new SplittableRandom(5);
    java.util.List<StreamState> starts = new java.util.ArrayList<>();
    java.util.List<int[]> texts = new java.util.ArrayList<>();
    for (int i = 0; i < 7; i++) {
      // different histories (open segments of different lengths) and different amounts of text,
      // including none and less than a segment
      StreamState s = model.absorb(model.newState(), randomText(rng, rng.nextInt(200)), false)
          .state();
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
    StreamState start = model.absorb(model.newState(), randomText(new SplittableRandom(5), 37),
        false).state();
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
    StreamState start = model.absorb(model.newState(), randomText(new SplittableRandom(6), 21),
        false).state();
    GenerateResult all = model.generate(start, new int[] {ByteTokenizer.ASSISTANT},
        new GenerationSettings(40, 0f, 0L, false));
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
    GenerateResult r = model.generate(s, new int[] {ByteTokenizer.USER},
        new GenerationSettings(20_000, 50f, 7L, true));
    int[] gen = r.generated();
    assertEquals(ByteTokenizer.EOS, gen[gen.length - 1]);
    for (int i = 0; i < gen.length - 1; i++) {
      assertNotEquals(ByteTokenizer.EOS, gen[i]);
    }
  }

  @Test
  void memoryOffViewIgnoresMemoryButSharesWeights() {
    InfiniModel off = model.withGateOverride(GateOverride.LOCAL_ONLY);
    assertEquals(model.fingerprint(), off.fingerprint());
    int[] text = randomText(new SplittableRandom(8), 100);
    // two different histories, same open segment afterwards: memory-off scores are identical
    StreamState a = model.absorb(model.newState(), randomText(new SplittableRandom(9), 95), false)
        .state();
    StreamState b = model.absorb(model.newState(), randomText(new SplittableRandom(10), 95), false)
        .state();
    int n = model.config().segmentLength();
    int pad = n - a.openLength(); // fill the open segment so both start a fresh one
    int[] filler = randomText(new SplittableRandom(11), pad);
    a = model.absorb(a, filler, false).state();
    b = model.absorb(b, filler, false).state();
    a = model.absorb(a, new int[] {text[0]}, false).state(); // compresses the full segment
    b = model.absorb(b, new int[] {text[0]}, false).state();
    assertArrayEquals(a.openTokens(), b.openTokens());
    float[] offA = off.absorb(a, text, true).logProbs();
    float[] offB = off.absorb(b, text, true).logProbs();
    for (int i = 0; i < n - 1; i++) { // tokens predicted inside the shared open segment
      assertEquals(offA[i], offB[i], 0f);
    }
    float[] onA = model.absorb(a, text, true).logProbs();
    float[] onB = model.absorb(b, text, true).logProbs();
    assertNotEquals(onA[3], onB[3]);
    off.close(); // a view: must not free the shared weights
    model.absorb(a, text, false);
  }

  @Test
  void rejectsTokensOutsideTheVocabulary() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> model.absorb(model.newState(), new int[] {model.config().vocabSize()}, false));
  }

  /**
   * A head forced local by its gate logit (Weights.withGateLogit, the eval's --local-heads):
   * every head forced gives, bit for bit, the scores and memories of the LOCAL_ONLY view; one head
   * forced gives a third function; the source weights stay as they were.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = OutputGate.class, names = {"STATIC", "CONTENT"})
  void aHeadForcedLocalByItsGateLogitIsTheLocalOnlyView(OutputGate gate) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withWriteGate(WriteGate.LOGISTIC).withOverlap(4).withOutputGate(gate)
        .withSegmentLength(40);
    try (InfiniModel source = InfiniModel.create(c, 41)) {
      SplittableRandom rng = new SplittableRandom(12);
      for (Weights.Layer l : source.weights().layers()) {
        for (NDArray a : new NDArray[] {l.gate(), l.gateContent()}) {
          if (a != null) { // beta and the content weights away from their 0 init
            float[] w = new float[Math.toIntExact(a.size())];
            for (int i = 0; i < w.length; i++) {
              w[i] = (float) rng.nextGaussian();
            }
            a.set(java.nio.FloatBuffer.wrap(w));
          }
        }
      }
      String fingerprint = source.fingerprint();
      int[] text = randomText(new SplittableRandom(5), 300);
      Weights allLocal = source.weights();
      for (int l = 0; l < c.layers(); l++) {
        for (int h = 0; h < c.heads(); h++) {
          allLocal = allLocal.withGateLogit(l, h, Weights.LOCAL_GATE_LOGIT);
        }
      }
      InfiniModel off = source.withGateOverride(GateOverride.LOCAL_ONLY);
      InfiniModel forced = InfiniModel.fromWeights(allLocal);
      AbsorbResult want = off.absorb(off.newState(), text, true);
      AbsorbResult got = forced.absorb(forced.newState(), text, true);
      assertArrayEquals(want.logProbs(), got.logProbs());
      for (int i = 0; i < want.state().memories().size(); i++) {
        assertArrayEquals(want.state().memories().get(i).toBytes(),
            got.state().memories().get(i).toBytes(), "memory #" + i);
      }
      InfiniModel one = InfiniModel.fromWeights(
          source.weights().withGateLogit(1, 0, Weights.LOCAL_GATE_LOGIT));
      float[] oneHead = one.absorb(one.newState(), text, true).logProbs();
      float[] asTrained = source.absorb(source.newState(), text, true).logProbs();
      assertNotEquals(Arrays.toString(asTrained), Arrays.toString(oneHead));
      assertNotEquals(Arrays.toString(want.logProbs()), Arrays.toString(oneHead));
      assertEquals(fingerprint, source.fingerprint(), "the source weights are not edited");
      assertNotEquals(fingerprint, one.fingerprint());
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> source.weights().withGateLogit(c.layers(), 0, 0f));
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> source.weights().withGateLogit(0, c.heads(), 0f));
    }
  }

  static void assertSameState(StreamState want, StreamState got) {
    assertEquals(want.tokensAbsorbed(), got.tokensAbsorbed(), "tokens");
    assertEquals(want.segmentsAbsorbed(), got.segmentsAbsorbed(), "segments");
    assertArrayEquals(want.openTokens(), got.openTokens(), "open segment");
    for (int i = 0; i < want.memories().size(); i++) {
      assertArrayEquals(want.memories().get(i).toBytes(), got.memories().get(i).toBytes(),
          "memory bytes of (layer, head) #" + i);
    }
    assertEquals(want, got);
  }

  /**
   * CONTENT_LOCAL's gate reads the local branch only: two streams that end in the same context
   * and open segment after different texts (so their memories differ) get the same layer-0 gate
   * at every open position, while CONTENT's gate, which also reads the memory, differs between
   * them. (Above layer 0 the local branch attends to states that carry the memory read below.)
   */
  @Test
  void aLocalContentGateDoesNotReadTheMemory() {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withWriteGate(WriteGate.LOGISTIC).withOverlap(4).withSegmentLength(40);
    int[] tail = randomText(new SplittableRandom(21), 150);
    for (OutputGate gate : new OutputGate[] {OutputGate.CONTENT_LOCAL, OutputGate.CONTENT}) {
      try (InfiniModel m = InfiniModel.create(c.withOutputGate(gate), 51)) {
        SplittableRandom rng = new SplittableRandom(13);
        for (Weights.Layer l : m.weights().layers()) {
          float[] w = new float[Math.toIntExact(l.gateContent().size())];
          for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextGaussian();
          }
          l.gateContent().set(java.nio.FloatBuffer.wrap(w));
        }
        float[][][] a = gatesAfter(m, randomText(new SplittableRandom(1), 200), tail);
        float[][][] b = gatesAfter(m, randomText(new SplittableRandom(2), 200), tail);
        boolean same = true; // layer 0: above it, the local branch reads what memory gave below
        for (int h = 0; h < a[0].length; h++) {
          same &= Arrays.equals(a[0][h], b[0][h]);
        }
        assertEquals(gate == OutputGate.CONTENT_LOCAL, same, gate.toString());
      }
    }
  }

  private static float[][][] gatesAfter(InfiniModel m, int[] head, int[] tail) {
    StreamState s = m.absorb(m.newState(), head, false).state();
    s = m.absorb(s, tail, false).state();
    assertTrue(!s.memories().isEmpty() && s.openTokens().length > 0);
    return m.outputGates(s);
  }

  static int[] randomText(SplittableRandom rng, int length) {
    int[] t = new int[length];
    for (int i = 0; i < length; i++) {
      t[i] = rng.nextInt(256);
    }
    return t;
  }
}
