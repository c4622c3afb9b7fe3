package io.infinistreams.model;

import static io.infinistreams.model.InfiniModelTest.assertSameState;
import static io.infinistreams.model.InfiniModelTest.randomText;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ModelConfig#overlap}: a segment's local attention also sees the C tokens before it. The
 * streaming contracts still hold (split invariance, lockstep, generation = absorption, scores), the
 * context is really seen, and it is not written into memory again.
 */
class OverlapTest {
  private static final int C = 5;
  private static InfiniModel model; // the shipped rules: GATED, NORMALIZED
  private static InfiniModel delta; // the paper's DELTA rule and read

  @BeforeAll
  static void open() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(C), 77);
    delta = InfiniModel.create(ModelConfig.tinyPaper().withOverlap(C), 78);
  }

  @AfterAll
  static void close() {
    model.close();
    delta.close();
  }

  @Test
  void aNewStreamsContextIsPadding() {
    int[] context = model.newState().contextTokens();
    assertEquals(C, context.length);
    for (int t : context) {
      assertEquals(ByteTokenizer.PAD, t);
    }
    try (InfiniModel paper = InfiniModel.create(ModelConfig.tinyPaper(), 1)) {
      assertEquals(0, paper.newState().contextTokens().length);
    }
  }

  @Test
  void absorbingInOneCallOrInPiecesGivesBitIdenticalState() {
    for (InfiniModel m : List.of(model, delta)) {
      int[] text = randomText(new SplittableRandom(1), 3_000);
      StreamState whole = m.absorb(m.newState(), text, false).state();
      SplittableRandom rng = new SplittableRandom(2);
      StreamState pieces = m.newState();
      int from = 0;
      while (from < text.length) {
        int to = Math.min(text.length, from + rng.nextInt(40));
        pieces = m.absorb(pieces, Arrays.copyOfRange(text, from, to), false).state();
        from = to;
      }
      assertSameState(whole, pieces);
      int n = m.config().segmentLength();
      int rest = (int) (whole.segmentsAbsorbed() * n); // BOS + text: stream index of the open tail
      int[] stream = new int[text.length + 1];
      stream[0] = ByteTokenizer.BOS;
      System.arraycopy(text, 0, stream, 1, text.length);
      assertArrayEquals(
          Arrays.copyOfRange(stream, rest - C, rest),
          whole.contextTokens(),
          "the context is the last C tokens of the last compressed segment");
    }
  }

  @Test
  void absorbingManyStreamsInLockstepEqualsEachAlone() {
    SplittableRandom rng = new SplittableRandom(5);
    List<StreamState> starts = new ArrayList<>();
    List<int[]> texts = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      starts.add(model.absorb(model.newState(), randomText(rng, rng.nextInt(60)), false).state());
      texts.add(randomText(rng, i == 0 ? 0 : i == 1 ? 3 : rng.nextInt(120)));
    }
    List<StreamState> together = model.absorbAll(starts, texts);
    for (int i = 0; i < starts.size(); i++) {
      assertSameState(model.absorb(starts.get(i), texts.get(i), false).state(), together.get(i));
    }
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
  void kvCacheDecodingEqualsOneTokenAtATime() {
    StreamState s =
        model.absorb(model.newState(), randomText(new SplittableRandom(6), 13), false).state();
    GenerateResult all = model.generate(s, new int[0], GenerationSettings.greedy(40));
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
  void scoresEveryTokenTheSameWayWhateverTheSplit() {
    int[] text = randomText(new SplittableRandom(3), 100);
    float[] whole = model.absorb(model.newState(), text, true).logProbs();
    StreamState s = model.newState();
    int from = 0;
    SplittableRandom rng = new SplittableRandom(4);
    while (from < text.length) {
      int to = Math.min(text.length, from + 1 + rng.nextInt(20));
      float[] lp = model.absorb(s, Arrays.copyOfRange(text, from, to), true).logProbs();
      for (int i = 0; i < lp.length; i++) {
        assertEquals(whole[from + i], lp[i], 1e-4, "token " + (from + i));
      }
      s = model.absorb(s, Arrays.copyOfRange(text, from, to), false).state();
      from = to;
    }
  }

  /**
   * Memory off: what the open segment predicts depends on its context and on nothing before it. Two
   * states with the same memories and open tokens but different contexts score differently; two
   * streams that differ only before the context score the same.
   */
  @Test
  void theLocalBranchSeesTheContextAndNothingBeforeIt() {
    InfiniModel off = InfiniModel.fromWeights(model.weights().withMemoryOff());
    int n = model.config().segmentLength();
    int[] text = randomText(new SplittableRandom(8), 3 * n - 5); // BOS + text: 2 segments + 11
    int[] before = text.clone();
    before[2 * n - C - 2] ^= 1; // stream position 2n - C - 1: the last token before the context
    int[] inside = text.clone();
    inside[2 * n - 2] ^= 1; // stream position 2n - 1: the context's last token
    int[] question = randomText(new SplittableRandom(9), 4);
    float[] base =
        off.absorb(off.absorb(off.newState(), text, false).state(), question, true).logProbs();
    float[] changedBefore =
        off.absorb(off.absorb(off.newState(), before, false).state(), question, true).logProbs();
    float[] changedInside =
        off.absorb(off.absorb(off.newState(), inside, false).state(), question, true).logProbs();
    assertArrayEquals(base, changedBefore, "a token before the context is not seen");
    assertFalse(Arrays.equals(base, changedInside), "a token of the context is seen");
  }

  /**
   * The context is read, not written again: layer 0's keys and values depend on each token alone,
   * so compressing one segment after two different contexts leaves the same layer-0 memory, while
   * the later layers (whose inputs attended to the context) differ.
   */
  @Test
  void theContextIsNotWrittenIntoMemory() {
    int n = model.config().segmentLength();
    StreamState start =
        model.absorb(model.newState(), randomText(new SplittableRandom(10), 40), false).state();
    int[] otherContext = randomText(new SplittableRandom(11), C);
    StreamState other =
        StreamState.of(
            model.config(),
            start.memories(),
            otherContext,
            start.openTokens(),
            start.tokensAbsorbed(),
            start.segmentsAbsorbed());
    int[] more = randomText(new SplittableRandom(12), n - start.openLength() + 1);
    StreamState a = model.absorb(start, more, false).state();
    StreamState b = model.absorb(other, more, false).state();
    int heads = model.config().heads();
    for (int h = 0; h < heads; h++) {
      assertEquals(a.memory(0, h), b.memory(0, h), "layer 0, head " + h);
      assertFalse(a.memory(1, h).equals(b.memory(1, h)), "layer 1, head " + h);
    }
  }

  @Test
  void aStateWhoseContextDoesNotFitIsRejected() {
    StreamState s = model.newState();
    assertThrows(
        IllegalArgumentException.class,
        () -> StreamState.of(model.config(), s.memories(), new int[C - 1], s.openTokens(), 1, 0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            StreamState.of(
                model.config(),
                s.memories(),
                s.openTokens(),
                1,
                0)); // no context for a model with overlap
    assertThrows(IllegalArgumentException.class, () -> ModelConfig.tiny().withOverlap(17));
  }
}
