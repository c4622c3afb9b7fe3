package io.infinistreams.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.MemoryRead;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.Weights;
import io.infinistreams.model.WriteGate;
import io.infinistreams.tasks.CopyTask;
import io.infinistreams.tasks.PasskeyDocument;
import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.Task;
import io.infinistreams.tasks.TaskMix;
import io.infinistreams.training.eval.PasskeyEval;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongFunction;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A few steps of the tiny model: learning happens, and checkpoint + resume is exact. No real
 * training.
 */
class TrainerTest {

  @Test
  void lossFallsOverAFewSteps() {
    TrainConfig c = TrainConfig.tiny(3, 12);
    List<Double> losses = new ArrayList<>();
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      for (int i = 0; i < 12; i++) {
        losses.add(t.step().loss());
      }
      // the gates moved from sigmoid(0) = 0.5: their own learning rate works
      float maxMove = 0;
      for (float g : t.gates()) {
        maxMove = Math.max(maxMove, Math.abs(g - 0.5f));
      }
      assertTrue(maxMove > 0.005, "gates did not move: " + maxMove);
    }
    double first = (losses.get(0) + losses.get(1)) / 2;
    double last = (losses.get(10) + losses.get(11)) / 2;
    assertTrue(last < first - 0.5, "loss " + first + " -> " + last);
  }

  /**
   * LOG_UNIFORM draws S within [min, max], reaches both ends, and draws each doubling about equally
   * often: with 8..96, S < 16 about as often as 48 <= S (1/3.6 and 1/2.6 of steps, the latter
   * including 96/97 of the last octave), and the mean S is (97 - 8) / ln(97 / 8) = 35.4, 0.68 of
   * UNIFORM's 52. Both are pure functions of (seed, step).
   */
  @Test
  void logUniformSegmentsCoverEachDoublingAlike() {
    TrainConfig u =
        new TrainConfig(
            TrainConfig.tiny(5, 10).model(),
            5,
            4000,
            2,
            8,
            96,
            3e-3f,
            10f,
            0.1f,
            1,
            0.1f,
            1.0f,
            0.9f,
            0.95f,
            "passkey=1",
            0.5,
            5f,
            "synthetic",
            false,
            0,
            0,
            0,
            false,
            0f,
            0f,
            TrainConfig.SegmentSampling.UNIFORM);
    TrainConfig g = u.withSegmentSampling(TrainConfig.SegmentSampling.LOG_UNIFORM);
    int[] octave = new int[4]; // [8,16) [16,32) [32,64) [64,96]
    int min = Integer.MAX_VALUE;
    int max = 0;
    double sumU = 0;
    double sumG = 0;
    int n = 4000;
    for (long step = 0; step < n; step++) {
      int s = Trainer.segmentsAt(g, step);
      assertEquals(s, Trainer.segmentsAt(g, step));
      min = Math.min(min, s);
      max = Math.max(max, s);
      octave[s < 16 ? 0 : s < 32 ? 1 : s < 64 ? 2 : 3]++;
      sumG += s;
      sumU += Trainer.segmentsAt(u, step);
    }
    assertEquals(8, min);
    assertEquals(96, max);
    double perOctave = n / (Math.log(97.0 / 8) / Math.log(2)); // ~1,112 draws per doubling
    for (int i = 0; i < 3; i++) {
      assertTrue(
          Math.abs(octave[i] - perOctave) < 0.1 * perOctave,
          "octave " + i + ": " + octave[i] + " of " + n + ", expected ~" + perOctave);
    }
    assertTrue(octave[0] > 0.2 * n, "short sequences are common: " + octave[0]);
    double ratio = (sumG / n) / (sumU / n);
    assertTrue(ratio > 0.64 && ratio < 0.72, "mean S ratio LOG_UNIFORM / UNIFORM = " + ratio);
  }

  /**
   * A non-finite gradient (here: a NaN loss weight in the first batch) skips that update and leaves
   * the weights as they were; the next steps train normally (the gradients were cleared, and
   * clearing them did not corrupt native memory, as a raw buffer copy once did).
   */
  @Test
  void aNonFiniteGradientSkipsTheUpdateAndTrainingGoesOn() {
    TrainConfig c = TrainConfig.tiny(3, 8);
    AtomicInteger calls = new AtomicInteger();
    Task poisoned =
        new Task() {
          @Override
          public String name() {
            return "copy";
          }

          @Override
          public Sample sample(Random rng, int segments, int segmentLength) {
            Sample x = new CopyTask(5f).sample(rng, segments, segmentLength);
            if (calls.getAndIncrement() >= c.batch()) {
              return x;
            }
            float[] w = x.weights().clone();
            w[10] = Float.NaN;
            return new Sample(x.tokens(), w, x.task());
          }
        };
    TaskMix mix = new TaskMix(List.of(new TaskMix.Entry(poisoned, 1.0)));
    try (Trainer t = Trainer.fresh(c, mix)) {
      List<float[]> before = new ArrayList<>();
      t.weights().parameters().forEach(p -> before.add(p.array().toFloatArray()));
      assertTrue(!Float.isFinite(t.step().gradNorm()), "the poisoned step");
      List<Weights.Param> params = t.weights().parameters();
      for (int i = 0; i < params.size(); i++) {
        assertArrayEquals(
            before.get(i), params.get(i).array().toFloatArray(), params.get(i).name() + " changed");
      }
      double first = Double.NaN;
      double last = Double.NaN;
      for (int i = 0; i < 7; i++) {
        StepResult r = t.step();
        assertTrue(Float.isFinite(r.gradNorm()) && Double.isFinite(r.loss()), "step " + i);
        first = i == 0 ? r.loss() : first;
        last = r.loss();
      }
      assertTrue(last < first, "loss " + first + " -> " + last);
    }
  }

  /**
   * The memoryless twin trains weights whose output gates are fixed at the local branch: the gates
   * are not among the optimizer's parameters and stay at LOCAL_GATE_LOGIT (sigmoid 0), so the model
   * reads no memory, while the loss still falls (the local branch learns). Its checkpoint resumes.
   */
  @Test
  void theMemorylessTwinLearnsWithItsGatesFixedLocal(@TempDir Path dir) {
    TrainConfig c = TrainConfig.tiny(3, 9).withNoMemory(true);
    List<Double> losses = new ArrayList<>();
    Path ckpt = dir.resolve("checkpoint");
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      assertTrue(t.names().stream().noneMatch(Trainer::isOutputGate), t.names().toString());
      assertEquals(t.weights().parameters().size() - c.model().layers(), t.names().size());
      for (int i = 0; i < 8; i++) {
        losses.add(t.step().loss());
      }
      for (Weights.Layer l : t.weights().layers()) {
        for (float beta : l.gate().toFloatArray()) {
          assertEquals(Weights.LOCAL_GATE_LOGIT, beta, "a gate of the memoryless twin moved");
        }
      }
      for (float g : t.gates()) {
        assertEquals(0f, g);
      }
      try (InfiniModel m = InfiniModel.fromWeights(t.weights())) {
        assertTrue(PasskeyEval.readsNoMemory(m));
      }
      TrainCheckpoint.save(t, ckpt, 1.0, "test", List.of());
    }
    assertTrue(
        losses.get(7) < losses.get(0) - 0.5, "loss " + losses.get(0) + " -> " + losses.get(7));
    try (Trainer t = TrainCheckpoint.resume(ckpt, TaskMixes.build(c))) {
      assertEquals(8, t.stepsDone());
      assertTrue(Double.isFinite(t.step().loss()));
      assertEquals(Weights.LOCAL_GATE_LOGIT, t.weights().layer(1).gate().getFloat(0));
    }
  }

  /**
   * A GATED run started from a DELTA model ({@code train --init-from}) begins with every tensor the
   * two share, bit for bit, and the write gate fresh; then the write gate learns. A source of
   * another shape is refused.
   */
  @Test
  void aGatedRunStartsFromADeltaModelAndItsWriteGateLearns() {
    TrainConfig c = TrainConfig.tiny(3, 6);
    assertEquals(UpdateRule.GATED, c.model().updateRule());
    ModelConfig delta = c.model().withUpdateRule(UpdateRule.DELTA);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights source = Weights.init(delta, 17, m);
      Map<String, float[]> before = new HashMap<>();
      for (Weights.Param p : source.parameters()) {
        before.put(p.name(), p.array().toFloatArray());
      }
      try (Trainer t = Trainer.fresh(c, TaskMixes.build(c), source)) {
        List<Weights.Param> params = t.weights().parameters();
        assertEquals(source.parameters().size() + 2 * c.model().layers(), params.size());
        for (Weights.Param p : params) {
          float[] want = before.get(p.name());
          if (p.name().contains("attn.write")) {
            assertEquals(null, want, p.name());
          } else {
            assertArrayEquals(want, p.array().toFloatArray(), p.name());
          }
        }
        float[] bias0 = t.weights().layer(0).writeBias().toFloatArray();
        assertArrayEquals(new float[] {Weights.WRITE_BIAS_INIT, Weights.WRITE_BIAS_INIT}, bias0);
        for (int i = 0; i < 6; i++) {
          assertTrue(Double.isFinite(t.step().loss()));
        }
        float[] bias6 = t.weights().layer(0).writeBias().toFloatArray();
        assertTrue(
            Math.abs(bias6[0] - bias0[0]) + Math.abs(bias6[1] - bias0[1]) > 1e-4,
            "the write bias did not move");
      }
      Weights wider = Weights.init(delta.withSegmentLength(32), 17, m);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> Trainer.fresh(c, TaskMixes.build(c), wider).close());
      assertTrue(
          e.getMessage().contains("segmentLength=32") && e.getMessage().contains("may differ"),
          e.getMessage());
    }
  }

  /**
   * Resume continues the same run: same step, same data, same optimizer state, and the trajectory
   * of an uninterrupted run. Bit-identical in a fresh process (a run stopped and resumed logs the
   * same loss at the resumed step to the last digit); inside a JVM that already trained other
   * models, MKL may pick kernels that round differently, and Adam turns rounding noise on near-zero
   * gradients into moves of up to ~lr per step, so here the losses must agree to 1e-4 and the
   * weights to 10 * lr.
   */
  @ParameterizedTest(name = "warm filler {0}, warm prose {1}, overlap {2}")
  @CsvSource({"0, 0, 4", "4096, 0, 4", "0, 4096, 4", "0, 4096, 0"})
  void checkpointAndResumeContinueTheUninterruptedRun(
      int warmFiller, int warmProse, int overlap, @TempDir Path dir) {
    // with warm states (passkey only, so that sequences use them) the checkpoint carries the
    // states computed at step 0: a resumed run must not recompute them from step 3's weights
    // (and, for prose, keeps the tail of the prose drawn at step 0)
    TrainConfig run =
        warmFiller == 0
            ? TrainConfig.tiny(5, 6).withWarmProse(warmProse)
            : TrainConfig.tiny(5, 6).withData("passkey=1", 0.5, 5f).withWarmFiller(warmFiller);
    TrainConfig c = run.withModel(run.model().withOverlap(overlap));
    List<float[]> uninterrupted = new ArrayList<>();
    List<Double> losses = new ArrayList<>();
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      for (int i = 0; i < 6; i++) {
        losses.add(t.step().loss());
      }
      t.weights().parameters().forEach(p -> uninterrupted.add(p.array().toFloatArray()));
    }
    Path ckpt = dir.resolve("checkpoint");
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      for (int i = 0; i < 3; i++) {
        t.step();
      }
      TrainCheckpoint.save(t, ckpt, 1.0, "test", List.of());
    }
    TrainCheckpoint.State state = TrainCheckpoint.readState(ckpt);
    assertEquals(3, state.step());
    assertEquals(3, state.optimizerSteps());
    assertEquals(c, state.config());
    try (Trainer t = TrainCheckpoint.resume(ckpt, TaskMixes.build(state.config()))) {
      assertEquals(3, t.stepsDone());
      for (int i = 3; i < 6; i++) {
        assertEquals(losses.get(i), t.step().loss(), 1e-4 * losses.get(i), "loss of step " + i);
      }
      List<Weights.Param> params = t.weights().parameters();
      for (int k = 0; k < params.size(); k++) {
        float[] a = uninterrupted.get(k);
        float[] b = params.get(k).array().toFloatArray();
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 10 * c.lr(), params.get(k).name() + "[" + i + "]");
        }
      }
    }
  }

  /**
   * Warm segments are the sequence's start, run forward only: the loss of a step is the model's own
   * score of the trained tokens given everything before them, warm segments included (what
   * InfiniModel.absorb computes over the whole sequence), and only the trained tokens count. With
   * an overlap, every segment also sees the tokens before it as InfiniModel does.
   */
  @ParameterizedTest(name = "overlap {0}")
  @ValueSource(ints = {0, 7})
  void warmSegmentsAreTheSequencesStartSeenForwardOnly(int overlap) {
    TrainConfig c = null;
    for (long seed = 1; c == null; seed++) {
      TrainConfig x = TrainConfig.tiny(seed, 4).withWarmSegments(3);
      x = x.withModel(x.model().withOverlap(overlap));
      if (Trainer.warmSegmentsAt(x, 0) >= 2) {
        c = x;
      }
    }
    int n = c.model().segmentLength();
    int warm = Trainer.warmSegmentsAt(c, 0);
    int trained = Trainer.segmentsAt(c, 0);
    List<Sample> batch = Trainer.batchAt(c, TaskMixes.build(c), 0);
    assertEquals((warm + trained) * n + 1, batch.get(0).tokens().length);
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      double weighted = 0;
      double total = 0;
      try (InfiniModel m = InfiniModel.fromWeights(t.weights())) {
        for (Sample x : batch) {
          int[] tokens = Arrays.copyOfRange(x.tokens(), 1, x.tokens().length);
          float[] lp = m.absorb(m.newState(), tokens, true).logProbs(); // lp[i]: tokens[i]
          for (int i = warm * n; i < (warm + trained) * n; i++) {
            weighted += -lp[i] * x.weights()[i];
            total += x.weights()[i];
          }
        }
      }
      StepResult r = t.step();
      assertEquals((long) c.batch() * trained * n, r.tokens());
      assertEquals(weighted / total, r.loss(), 1e-4 * Math.abs(weighted / total));
    }
  }

  /**
   * Warm states: a sequence that starts from the memory after L filler tokens is scored as the
   * model scores the one document BOS, intro, L filler tokens, then the sample with its BOS and
   * intro replaced by the filler that leads into its own; the lengths end on segment boundaries.
   * With an overlap the warm sequence's first segment sees the warm stream's last tokens.
   */
  @ParameterizedTest(name = "overlap {0}")
  @ValueSource(ints = {0, 7})
  void warmStatesContinueALongFillerStreamAsOneDocument(int overlap) {
    TrainConfig c =
        oneWarmOneEmpty(
            seed -> TrainConfig.tiny(seed, 4).withData("passkey=1", 0.5, 5f).withWarmFiller(4096),
            overlap);
    int n = c.model().segmentLength();
    int[] lengths = Trainer.warmFillerLengths(c);
    assertEquals(1, lengths.length);
    int len = lengths[0];
    assertTrue(len >= 4096 && (Trainer.PASSKEY_PREFIX + len) % n == 0, "length " + len);
    String lead = PasskeyDocument.INTRO + PasskeyDocument.filler(0, len);
    for (Sample x : Trainer.batchAt(c, TaskMixes.build(c), 0)) {
      // the document reads on seamlessly: intro, then one filler stream into the sample's
      String joined = lead + ByteTokenizer.decode(Trainer.withFillerPrefix(x.tokens()));
      String sampleText =
          ByteTokenizer.decode(Arrays.copyOfRange(x.tokens(), 1, x.tokens().length));
      assertEquals(
          lead
              + PasskeyDocument.filler(len, Trainer.PASSKEY_PREFIX)
              + sampleText.substring(Trainer.PASSKEY_PREFIX - 1),
          joined);
    }
    assertTheStepScoresTheWarmStream(c, ByteTokenizer.encode(lead), Trainer::withFillerPrefix);
  }

  /** A configuration from {@code bySeed} whose first step has one warm and one empty sequence. */
  private static TrainConfig oneWarmOneEmpty(LongFunction<TrainConfig> bySeed, int overlap) {
    for (long seed = 1; ; seed++) {
      TrainConfig x = bySeed.apply(seed);
      x = x.withModel(x.model().withOverlap(overlap));
      int[] levels = Trainer.warmLevelsAt(x, 0, x.batch());
      if (levels[0] != levels[1]) {
        return x;
      }
    }
  }

  /**
   * The loss of {@code c}'s first step is the model's own score of the trained tokens: a sequence
   * at level 0 absorbed into a new stream, one at level 1 absorbed after the tokens {@code warm}
   * (the warm stream after its BOS), joined to it by {@code join}.
   */
  private static void assertTheStepScoresTheWarmStream(
      TrainConfig c, int[] warm, UnaryOperator<int[]> join) {
    int n = c.model().segmentLength();
    int[] levels = Trainer.warmLevelsAt(c, 0, c.batch());
    int trained = Trainer.segmentsAt(c, 0);
    List<Sample> batch = Trainer.batchAt(c, TaskMixes.build(c), 0);
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      double weighted = 0;
      double total = 0;
      try (InfiniModel m = InfiniModel.fromWeights(t.weights())) {
        for (int b = 0; b < batch.size(); b++) {
          Sample x = batch.get(b);
          float[] lp;
          if (levels[b] == 0) {
            lp =
                m.absorb(m.newState(), Arrays.copyOfRange(x.tokens(), 1, x.tokens().length), true)
                    .logProbs(); // lp[i] scores tokens[i + 1]
          } else {
            StreamState state = m.absorb(m.newState(), warm, false).state();
            int[] joined = join.apply(x.tokens());
            float[] all = m.absorb(state, joined, true).logProbs(); // all[i] scores joined[i]
            lp = Arrays.copyOfRange(all, 1, all.length);
          }
          for (int i = 0; i < trained * n; i++) {
            weighted += -lp[i] * x.weights()[i];
            total += x.weights()[i];
          }
        }
      }
      StepResult r = t.step();
      assertEquals(weighted / total, r.loss(), 1e-4 * Math.abs(weighted / total));
    }
  }

  /**
   * Warm prose states: a sequence that starts from the memory after L tokens of prose is scored as
   * the model scores the one stream BOS, the L - 1 bytes of prose drawn for the step, then the
   * sample with its BOS replaced by a line break; the lengths end on segment boundaries. With an
   * overlap the sequence's first segment sees the prose's last tokens.
   */
  @ParameterizedTest(name = "overlap {0}")
  @ValueSource(ints = {0, 7})
  void warmProseStatesContinueALongProseStreamAsOneStream(int overlap) {
    TrainConfig c = oneWarmOneEmpty(seed -> TrainConfig.tiny(seed, 4).withWarmProse(4096), overlap);
    int n = c.model().segmentLength();
    int[] lengths = Trainer.warmLengths(c);
    assertEquals(1, lengths.length);
    int len = lengths[0];
    assertTrue(len >= 4096 && len % n == 0, "length " + len);
    String prose = Trainer.warmProse(c, TaskMixes.prose(c.corpus()), 0, len - 1);
    assertEquals(len - 1, ByteTokenizer.encode(prose).length);
    for (Sample x : Trainer.batchAt(c, TaskMixes.build(c), 0)) {
      int[] joined = Trainer.withProseJoin(x.tokens());
      assertEquals(ByteTokenizer.encode("\n")[0], joined[0]);
      assertArrayEquals(
          Arrays.copyOfRange(x.tokens(), 1, x.tokens().length),
          Arrays.copyOfRange(joined, 1, joined.length));
    }
    // a new stream starts with BOS; the prose after it brings the stream to len tokens
    assertTheStepScoresTheWarmStream(c, ByteTokenizer.encode(prose), Trainer::withProseJoin);
  }

  /** Warm filler and warm prose are one or the other; warm prose starts at 4K tokens. */
  @Test
  void warmProseIsCheckedWhenConfigured() {
    TrainConfig c = TrainConfig.tiny(5, 6);
    assertThrows(IllegalArgumentException.class, () -> c.withWarmFiller(4096).withWarmProse(4096));
    assertThrows(IllegalArgumentException.class, () -> c.withWarmProse(-1));
    assertThrows(IllegalArgumentException.class, () -> Trainer.warmLengths(c.withWarmProse(1000)));
    assertArrayEquals(new int[] {4096, 16384}, Trainer.warmLengths(c.withWarmProse(20000)));
  }

  /** A tiny configuration of {@code rule} and {@code read}: passkey only, 4-5 segments. */
  private static TrainConfig tinyRun(
      UpdateRule rule, MemoryRead read, int overlap, boolean recompute, float writePenalty) {
    ModelConfig model =
        TrainConfig.tiny(7, 3)
            .model()
            .withUpdateRule(rule)
            .withMemoryRead(read)
            .withOverlap(overlap);
    return new TrainConfig(
        model,
        7,
        3,
        2,
        4,
        5,
        3e-3f,
        10f,
        0.1f,
        1,
        0.1f,
        1.0f,
        0.9f,
        0.95f,
        "passkey=1",
        0.5,
        5f,
        "synthetic",
        false,
        0,
        0,
        0,
        recompute,
        writePenalty,
        0f,
        TrainConfig.SegmentSampling.UNIFORM);
  }

  /**
   * Backpropagation by recomputation gives the gradients of one tape over all segments: the same
   * loss, the same gradient norm, the same next step. The paper's model (DELTA, PAPER read: z
   * enters the write and the read), and GATED, whose write strengths the tape path once returned
   * garbage gradients for (see {@link #aGarbageCollectionBeforeTheBackwardPassChangesNoGradient}).
   */
  @ParameterizedTest(name = "{0} {1}, overlap {2}")
  @CsvSource({"DELTA, PAPER, 0", "GATED, NORMALIZED, 0", "GATED, NORMALIZED, 9"})
  void recomputationGivesTheGradientsOfOneTape(UpdateRule rule, MemoryRead read, int overlap) {
    TrainConfig c = tinyRun(rule, read, overlap, false, 0f);
    List<StepResult> tape = new ArrayList<>();
    List<StepResult> recomputed = new ArrayList<>();
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      for (int i = 0; i < 2; i++) {
        tape.add(t.step());
      }
    }
    try (Trainer t = Trainer.fresh(c.withRecompute(true), TaskMixes.build(c))) {
      for (int i = 0; i < 2; i++) {
        recomputed.add(t.step());
      }
    }
    for (int i = 0; i < 2; i++) {
      assertEquals(
          tape.get(i).loss(),
          recomputed.get(i).loss(),
          1e-5 * tape.get(i).loss(),
          "loss of step " + i);
      assertEquals(
          tape.get(i).gradNorm(),
          recomputed.get(i).gradNorm(),
          1e-4 * tape.get(i).gradNorm(),
          "gradient norm of step " + i);
    }
  }

  /**
   * The backward pass reads only memory libtorch owns. DJL's {@code mul(Number)} and {@code
   * div(Number)} put the number in a tensor over a Java buffer and drop the buffer when the call
   * returns, while autograd keeps the tensor for the backward pass: a garbage collection between
   * the forward and the backward pass then freed it, and the gradient came out as Infinity, NaN,
   * 1e19 or off in the fifth digit (with this collection forced, 9 steps in 10 went wrong). {@link
   * io.infinistreams.model.Scalars} keeps such constants in libtorch. Each case: two steps of a
   * fresh trainer with and without a full collection just before each backward pass must agree bit
   * for bit.
   */
  @ParameterizedTest(name = "{0} {1}, recompute {2}, write penalty {3}")
  @CsvSource({
    "GATED, NORMALIZED, false, 0",
    "GATED, NORMALIZED, true, 0.05",
    "DELTA, PAPER, false, 0"
  })
  void aGarbageCollectionBeforeTheBackwardPassChangesNoGradient(
      UpdateRule rule, MemoryRead read, boolean recompute, float penalty) {
    TrainConfig c = tinyRun(rule, read, 0, recompute, penalty);
    assertAGarbageCollectionChangesNothing(c, m -> null);
  }

  /**
   * Two steps of a fresh trainer (from {@code weights}, or the config's seed when it gives null)
   * with and without a full collection before each backward pass agree bit for bit.
   */
  private static void assertAGarbageCollectionChangesNothing(
      TrainConfig c, java.util.function.Function<NDManager, Weights> weights) {
    StepResult[][] r = new StepResult[2][2];
    for (int run = 0; run < 2; run++) {
      try (NDManager m = NDManager.newBaseManager()) {
        Weights w = weights.apply(m);
        try (Trainer t =
            w == null
                ? Trainer.fresh(c, TaskMixes.build(c))
                : Trainer.fresh(c, TaskMixes.build(c), w)) {
          if (run == 1) {
            t.beforeBackward(System::gc);
          }
          for (int i = 0; i < 2; i++) {
            r[run][i] = t.step();
          }
        }
      }
    }
    for (int i = 0; i < 2; i++) {
      assertEquals(r[0][i].loss(), r[1][i].loss(), "loss of step " + i);
      assertEquals(r[0][i].gradNorm(), r[1][i].gradNorm(), "gradient norm of step " + i);
    }
  }

  /**
   * As {@link #aGarbageCollectionBeforeTheBackwardPassChangesNoGradient} under the sparse write
   * gate, from weights whose write bias is 0, so that many tokens write nothing and pass the
   * surrogate gradient: the gate's constants too must be libtorch's. The run also checks that
   * tokens were silenced (the mean write strength of the first step is below the logistic's).
   */
  @ParameterizedTest(name = "recompute {0}")
  @ValueSource(booleans = {false, true})
  void aGarbageCollectionChangesNoGradientUnderTheSparseGate(boolean recompute) {
    TrainConfig base = tinyRun(UpdateRule.GATED, MemoryRead.NORMALIZED, 0, recompute, 0.05f);
    TrainConfig c = base.withModel(base.model().withWriteGate(WriteGate.SPARSE));
    assertAGarbageCollectionChangesNothing(c, m -> zeroWriteBias(c.model(), m));
    try (NDManager m = NDManager.newBaseManager()) {
      int[] text = new int[4 * c.model().segmentLength()];
      Random rng = new Random(3);
      for (int i = 0; i < text.length; i++) {
        text[i] = 32 + rng.nextInt(95);
      }
      double[] mean = new double[2];
      for (int g = 0; g < 2; g++) {
        InfiniModel model =
            InfiniModel.fromWeights(zeroWriteBias(g == 0 ? base.model() : c.model(), m));
        for (float beta : model.absorb(model.newState(), text, false).writeStrengths()) {
          mean[g] += beta;
        }
      }
      assertTrue(
          mean[1] > 0 && mean[1] < 0.5 * mean[0],
          "sparse " + mean[1] + " against logistic " + mean[0] + ": tokens silenced");
    }
  }

  /** Fresh weights of {@code model} with every write bias 0: about half the logits below 0. */
  private static Weights zeroWriteBias(ModelConfig model, NDManager m) {
    Weights init = Weights.init(model, 7, m);
    ai.djl.ndarray.NDList named = new ai.djl.ndarray.NDList();
    for (Weights.Param p : init.parameters()) {
      NDArray a = p.name().endsWith("write_bias") ? p.array().zerosLike() : p.array().duplicate();
      a.setName(p.name());
      named.add(a);
    }
    return Weights.fromNamed(model, named);
  }

  /**
   * The write penalty reaches the gradient (recomputation path, as the runs use it): the same data
   * and loss, a different gradient norm, and a write bias pushed down harder.
   */
  @Test
  void theWritePenaltyIsInTheGradient() {
    TrainConfig c = tinyRun(UpdateRule.GATED, MemoryRead.NORMALIZED, 0, true, 0f);
    StepResult[] r = new StepResult[2];
    float[] lambdas = {0f, 1f};
    for (int i = 0; i < 2; i++) {
      TrainConfig ci = c.withWritePenalty(lambdas[i]);
      try (Trainer t = Trainer.fresh(ci, TaskMixes.build(ci))) {
        r[i] = t.step();
        if (lambdas[i] > 0) { // writing costs: every head's write bias goes down
          for (int l = 0; l < ci.model().layers(); l++) {
            for (float b : t.weights().layer(l).writeBias().toFloatArray()) {
              assertTrue(b < Weights.WRITE_BIAS_INIT, "layer " + l + ": " + b);
            }
          }
        }
      }
    }
    assertSameLossOtherGradient(r[0], r[1]);
  }

  /** The same data and loss, and a gradient norm that differs beyond rounding. */
  private static void assertSameLossOtherGradient(StepResult a, StepResult b) {
    assertEquals(a.loss(), b.loss(), 1e-6 * a.loss(), "same data, same loss");
    assertTrue(
        Math.abs(a.gradNorm() - b.gradNorm()) > 1e-4 * a.gradNorm(),
        a.gradNorm() + " vs " + b.gradNorm());
  }

  /**
   * The knee's cost c ln(1 + beta / c) and its gradient c / (c + beta), through autograd: equal to
   * beta's slope at 0, a tenth of it at beta = 9c; knee 0 is beta itself.
   */
  @Test
  void aKneeMakesFirmWritesCheaper() {
    float c = 0.05f;
    float[] beta = {0f, 0.05f, 0.45f, 1f};
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray b = m.create(beta);
      assertSame(b, Trainer.writeCostOf(b, 0f));
      b.setRequiresGradient(true);
      try (GradientCollector g = Engine.getInstance().newGradientCollector()) {
        NDArray cost = Trainer.writeCostOf(b, c);
        float[] v = cost.toFloatArray();
        g.backward(cost.sum());
        float[] slope = b.getGradient().toFloatArray();
        for (int i = 0; i < beta.length; i++) {
          assertEquals(c * Math.log1p(beta[i] / c), v[i], 1e-6, "cost at " + beta[i]);
          assertEquals(c / (c + beta[i]), slope[i], 1e-5, "slope at " + beta[i]);
        }
        assertEquals(0.1, slope[2], 1e-5);
      }
    }
    TrainConfig linear = TrainConfig.tiny(1, 2).withWritePenalty(1f);
    assertThrows(IllegalArgumentException.class, () -> linear.withWritePenaltyKnee(1e-6f));
    assertThrows(IllegalArgumentException.class, () -> linear.withWritePenaltyKnee(-1f));
    assertThrows(
        IllegalArgumentException.class,
        () -> linear.withWritePenaltyKnee(0.05f).withWritePenalty(0f),
        "a knee without a penalty would do nothing");
  }

  /**
   * Under a knee the penalty still reaches the gradient, differently from the linear one, and a
   * collection before the backward pass changes nothing (its constants are libtorch's).
   */
  @ParameterizedTest(name = "recompute {0}")
  @ValueSource(booleans = {false, true})
  void theKneePenaltyIsInTheGradientAndSafeFromCollections(boolean recompute) {
    TrainConfig linear = tinyRun(UpdateRule.GATED, MemoryRead.NORMALIZED, 0, recompute, 1f);
    TrainConfig knee = linear.withWritePenaltyKnee(0.05f);
    assertAGarbageCollectionChangesNothing(knee, m -> null);
    StepResult[] r = new StepResult[2];
    TrainConfig[] cs = {linear, knee};
    for (int i = 0; i < 2; i++) {
      try (Trainer t = Trainer.fresh(cs[i], TaskMixes.build(cs[i]))) {
        r[i] = t.step();
      }
    }
    assertSameLossOtherGradient(r[0], r[1]);
  }

  /**
   * A gradient norm far above the clip is reported on stderr with the parameters that carry it, at
   * most once per {@link Trainer#STEEP_REPORT_EVERY} steps; a norm below it is not.
   */
  @Test
  void aSteepGradientIsReportedWithItsParameters() {
    TrainConfig normal = tinyRun(UpdateRule.GATED, MemoryRead.NORMALIZED, 0, false, 0f);
    String[] err = new String[2];
    float[] gradNorms = new float[2];
    for (int run = 0; run < 2; run++) {
      // clip 1e6: nothing is steep; clip 1e-6: every norm is (the loss and gradients are equal)
      TrainConfig c = normal.withClipNorm(run == 0 ? 1e6f : 1e-6f);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      PrintStream old = System.err;
      System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
      try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
        gradNorms[run] = t.step().gradNorm();
        t.step();
      } finally {
        System.setErr(old);
      }
      err[run] = bytes.toString(StandardCharsets.UTF_8);
    }
    assertEquals(gradNorms[0], gradNorms[1], "the clip does not change the first gradient");
    assertTrue(!err[0].contains("over 100x the clip"), err[0]);
    String[] lines =
        err[1].lines().filter(l -> l.contains("over 100x the clip")).toArray(String[]::new);
    assertEquals(1, lines.length, "step 0 reported, step 1 within the interval not: " + err[1]);
    assertTrue(lines[0].startsWith("step 0: gradient norm "), lines[0]);
    assertTrue(
        lines[0].contains("largest: layers.") || lines[0].contains("largest: embed"), lines[0]);
  }

  @Test
  void theBatchOfAStepIsAPureFunctionOfSeedAndStep() {
    TrainConfig c = TrainConfig.tiny(5, 6);
    List<Sample> a = Trainer.batchAt(c, TaskMixes.build(c), 4);
    List<Sample> b = Trainer.batchAt(c, TaskMixes.build(c), 4);
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
    }
  }

  @Test
  void gatesGetTheirOwnRateAndNoDecay() {
    TrainConfig c = TrainConfig.tiny(1, 10);
    assertEquals(new AdamW.Group(c.gateLrScale(), 0f), Trainer.groupOf("layers.0.attn.gate", c));
    assertEquals(new AdamW.Group(1f, 0f), Trainer.groupOf("layers.1.attn.mem_norm", c));
    assertEquals(new AdamW.Group(1f, 0f), Trainer.groupOf("final_norm", c));
    assertEquals(
        new AdamW.Group(c.gateLrScale(), 0f), Trainer.groupOf("layers.0.attn.write_bias", c));
    assertEquals(new AdamW.Group(1f, c.weightDecay()), Trainer.groupOf("layers.0.attn.write", c));
    assertEquals(new AdamW.Group(1f, c.weightDecay()), Trainer.groupOf("layers.0.attn.wk", c));
    assertEquals(new AdamW.Group(1f, c.weightDecay()), Trainer.groupOf("embed", c));
  }

  @Test
  void scheduleWarmsUpThenDecays() {
    LrSchedule s = new LrSchedule(10, 110, 0.1);
    assertEquals(0.1, s.at(0), 1e-9);
    assertEquals(1.0, s.at(9), 1e-9);
    assertEquals(0.55, s.at(60), 1e-9);
    assertEquals(0.1, s.at(110), 1e-9);
  }
}
