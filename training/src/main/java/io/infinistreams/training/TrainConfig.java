package io.infinistreams.training;

import io.infinistreams.model.ModelConfig;

/**
 * Every setting of a training run. Together with the code version it determines the run exactly:
 * weights are initialised from {@code seed}, and the batch of step {@code i} is a pure function of
 * {@code (seed, i)}.
 *
 * @param model the architecture trained
 * @param seed seed of the initial weights and of the data stream
 * @param steps optimizer steps in all (the cosine schedule ends here)
 * @param batch sequences per step
 * @param minSegments fewest segments per sequence (backpropagation through all of them)
 * @param maxSegments most segments per sequence; each step draws S in [min, max]
 * @param lr peak learning rate of the weights
 * @param gateLrScale the per-head scalars (output gates, GATED write biases) learn at {@code lr *
 *     gateLrScale}
 * @param minLrFraction the cosine decay ends at {@code lr * minLrFraction}
 * @param warmup linear warm-up steps
 * @param weightDecay decoupled weight decay of the matrices (never of gates, norms, gains)
 * @param clipNorm global gradient-norm clip
 * @param beta1 Adam's first-moment decay
 * @param beta2 Adam's second-moment decay
 * @param mix task weights, e.g. {@code passkey=0.6,chat=0.2,text=0.2}
 * @param localFraction share of passkey samples with the needle in the question's segment
 * @param answerWeight loss weight of answer tokens (passkey digits, recalled chat values)
 * @param corpus {@code kjv} (Debian bible-kjv-text), {@code synthetic}, or a text file path
 * @param noMemory train the memoryless twin a memory must beat: every head's output gate is fixed
 *     at {@link io.infinistreams.model.Weights#LOCAL_GATE_LOGIT} (sigmoid 0, memory never read) and
 *     is not trained; the model it exports carries those gates, so it is served and evaluated as it
 *     is
 * @param warmSegments most segments of a sequence's start run forward only (no gradient, no loss)
 *     before the segments trained through; each step draws W in [0, warmSegments]. They show the
 *     model memories that have absorbed more text than backpropagation can afford, at the cost of a
 *     forward pass. 0: off
 * @param warmFiller most tokens of passkey filler a sequence's memory may have absorbed before it
 *     starts: states after 4K, 16K, ... filler tokens up to this (or an empty memory), drawn per
 *     sequence and recomputed from the current weights every {@link Trainer#WARM_REFRESH_STEPS}
 *     steps. 0: off
 * @param warmProse most tokens of real prose (the {@code corpus}'s training prose) a sequence's
 *     memory may have absorbed before it starts: states after 4K, 16K, ... prose tokens up to this
 *     (or an empty memory), drawn per sequence, from one stream of prose drawn anew and recomputed
 *     from the current weights every {@link Trainer#WARM_REFRESH_STEPS} steps. They show the model
 *     the full memory of a long stream, which short trained sequences never fill. 0: off; at most
 *     one of warmFiller and warmProse
 * @param recompute backpropagate through the trained segments by recomputation: the memory of one
 *     segment's autograd tape whatever the number of segments, at the cost of one more forward pass
 *     per segment; the gradients are those of one tape over all segments
 * @param writePenalty lambda of an added loss term lambda * (mean GATED write strength of every
 *     written token, head and layer, averaged over the segments): writing costs, so the model
 *     learns to write only what a later answer needs. 0: off
 * @param writePenaltyKnee c > 0 makes the penalty concave: each written token costs lambda * c *
 *     ln(1 + beta / c) instead of lambda * beta. A weak write costs as much as before (slope lambda
 *     at beta = 0), a firm one far less (slope lambda * c / (c + beta)): a few firm writes cost
 *     less than many weak ones of the same total strength, so the penalty thins the writes out
 *     rather than weakening all of them. 0: linear; else in [{@link #MIN_WRITE_PENALTY_KNEE},
 *     {@link #MAX_WRITE_PENALTY_KNEE}] and only with a writePenalty
 * @param segmentSampling how S is drawn from [minSegments, maxSegments] (null: UNIFORM)
 */
public record TrainConfig(
    ModelConfig model,
    long seed,
    long steps,
    int batch,
    int minSegments,
    int maxSegments,
    float lr,
    float gateLrScale,
    float minLrFraction,
    int warmup,
    float weightDecay,
    float clipNorm,
    float beta1,
    float beta2,
    String mix,
    double localFraction,
    float answerWeight,
    String corpus,
    boolean noMemory,
    int warmSegments,
    int warmFiller,
    int warmProse,
    boolean recompute,
    float writePenalty,
    float writePenaltyKnee,
    SegmentSampling segmentSampling) {

  /**
   * How a step draws its segments per sequence S from [minSegments, maxSegments]. UNIFORM: every S
   * equally often. LOG_UNIFORM: S = floor(exp(u)), u uniform in [ln min, ln(max + 1)), so each
   * doubling of S is drawn equally often and short sequences (a document of a few segments read
   * from an empty memory) are common. The mean S, and so the cost of a step, is lower: 35 for
   * 8..96, against 52 drawn uniformly.
   */
  public enum SegmentSampling {
    UNIFORM,
    LOG_UNIFORM
  }

  /**
   * The smallest knee accepted: a smaller one makes the cost nearly a count of the written tokens,
   * its slope of 1 reaching only strengths far below any real write.
   */
  public static final float MIN_WRITE_PENALTY_KNEE = 1e-4f;

  /** The largest knee accepted: far above any strength, where the cost is beta itself. */
  public static final float MAX_WRITE_PENALTY_KNEE = 1e3f;

  public TrainConfig {
    if (segmentSampling == null) {
      segmentSampling = SegmentSampling.UNIFORM; // a train-state.json without the field
    }
    if (steps < 1 || batch < 1 || minSegments < 1 || maxSegments < minSegments) {
      throw new IllegalArgumentException(
          "need steps >= 1, batch >= 1, 1 <= minSegments <= maxSegments");
    }
    if (warmFiller < 0) {
      throw new IllegalArgumentException("warmFiller must be >= 0, got " + warmFiller);
    }
    if (warmProse < 0 || (warmProse > 0 && warmProse < 4096)) {
      throw new IllegalArgumentException("warmProse must be 0 or >= 4096, got " + warmProse);
    }
    if (warmProse > 0 && warmFiller > 0) {
      throw new IllegalArgumentException(
          "warmFiller and warmProse cannot both be on (got " + warmFiller + ", " + warmProse + ")");
    }
    if (warmSegments < 0) {
      throw new IllegalArgumentException("warmSegments must be >= 0, got " + warmSegments);
    }
    if (!(writePenalty >= 0)) {
      throw new IllegalArgumentException("writePenalty must be >= 0, got " + writePenalty);
    }
    if (writePenaltyKnee != 0f
        && !(writePenaltyKnee >= MIN_WRITE_PENALTY_KNEE
            && writePenaltyKnee <= MAX_WRITE_PENALTY_KNEE)) {
      throw new IllegalArgumentException(
          "writePenaltyKnee must be 0 or in ["
              + MIN_WRITE_PENALTY_KNEE
              + ", "
              + MAX_WRITE_PENALTY_KNEE
              + "], got "
              + writePenaltyKnee);
    }
    if (writePenaltyKnee > 0f && writePenalty == 0f) {
      throw new IllegalArgumentException(
          "writePenaltyKnee "
              + writePenaltyKnee
              + " shapes a write penalty, but writePenalty is 0");
    }
    if (warmup > steps) {
      throw new IllegalArgumentException("warmup (" + warmup + ") exceeds steps (" + steps + ")");
    }
  }

  /**
   * A few-second configuration for tests: the tiny model with N = 64 (a passkey needs ~250 tokens),
   * 4-5 segments, synthetic text.
   */
  public static TrainConfig tiny(long seed, long steps) {
    return new TrainConfig(
        ModelConfig.tiny().withSegmentLength(64),
        seed,
        steps,
        2,
        4,
        5,
        3e-3f,
        10f,
        0.1f,
        Math.min(2, (int) steps),
        0.1f,
        1.0f,
        0.9f,
        0.95f,
        "passkey=0.5,chat=0.25,text=0.25",
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
        SegmentSampling.UNIFORM);
  }

  /** The same run continued with another data recipe (a curriculum change at resume). */
  public TrainConfig withData(String newMix, double newLocalFraction, float newAnswerWeight) {
    Edit e = new Edit(this);
    e.mix = newMix;
    e.localFraction = newLocalFraction;
    e.answerWeight = newAnswerWeight;
    return e.build();
  }

  public TrainConfig withSteps(long newSteps) {
    Edit e = new Edit(this);
    e.steps = newSteps;
    return e.build();
  }

  public TrainConfig withNoMemory(boolean off) {
    Edit e = new Edit(this);
    e.noMemory = off;
    return e.build();
  }

  public TrainConfig withWarmSegments(int warm) {
    Edit e = new Edit(this);
    e.warmSegments = warm;
    return e.build();
  }

  public TrainConfig withWarmFiller(int tokens) {
    Edit e = new Edit(this);
    e.warmFiller = tokens;
    return e.build();
  }

  public TrainConfig withWarmProse(int tokens) {
    Edit e = new Edit(this);
    e.warmProse = tokens;
    return e.build();
  }

  public TrainConfig withRecompute(boolean on) {
    Edit e = new Edit(this);
    e.recompute = on;
    return e.build();
  }

  public TrainConfig withModel(ModelConfig newModel) {
    Edit e = new Edit(this);
    e.model = newModel;
    return e.build();
  }

  public TrainConfig withWritePenalty(float lambda) {
    Edit e = new Edit(this);
    e.writePenalty = lambda;
    return e.build();
  }

  public TrainConfig withClipNorm(float clip) {
    Edit e = new Edit(this);
    e.clipNorm = clip;
    return e.build();
  }

  public TrainConfig withWritePenaltyKnee(float knee) {
    Edit e = new Edit(this);
    e.writePenaltyKnee = knee;
    return e.build();
  }

  public TrainConfig withSegmentSampling(SegmentSampling sampling) {
    Edit e = new Edit(this);
    e.segmentSampling = sampling;
    return e.build();
  }

  /** A configuration's fields, to change some and build the result (checked like any other). */
  private static final class Edit {
    private ModelConfig model;
    private long seed;
    private long steps;
    private int batch;
    private int minSegments;
    private int maxSegments;
    private float lr;
    private float gateLrScale;
    private float minLrFraction;
    private int warmup;
    private float weightDecay;
    private float clipNorm;
    private float beta1;
    private float beta2;
    private String mix;
    private double localFraction;
    private float answerWeight;
    private String corpus;
    private boolean noMemory;
    private int warmSegments;
    private int warmFiller;
    private int warmProse;
    private boolean recompute;
    private float writePenalty;
    private float writePenaltyKnee;
    private SegmentSampling segmentSampling;

    Edit(TrainConfig c) {
      model = c.model;
      seed = c.seed;
      steps = c.steps;
      batch = c.batch;
      minSegments = c.minSegments;
      maxSegments = c.maxSegments;
      lr = c.lr;
      gateLrScale = c.gateLrScale;
      minLrFraction = c.minLrFraction;
      warmup = c.warmup;
      weightDecay = c.weightDecay;
      clipNorm = c.clipNorm;
      beta1 = c.beta1;
      beta2 = c.beta2;
      mix = c.mix;
      localFraction = c.localFraction;
      answerWeight = c.answerWeight;
      corpus = c.corpus;
      noMemory = c.noMemory;
      warmSegments = c.warmSegments;
      warmFiller = c.warmFiller;
      warmProse = c.warmProse;
      recompute = c.recompute;
      writePenalty = c.writePenalty;
      writePenaltyKnee = c.writePenaltyKnee;
      segmentSampling = c.segmentSampling;
    }

    TrainConfig build() {
      return new TrainConfig(
          model,
          seed,
          steps,
          batch,
          minSegments,
          maxSegments,
          lr,
          gateLrScale,
          minLrFraction,
          warmup,
          weightDecay,
          clipNorm,
          beta1,
          beta2,
          mix,
          localFraction,
          answerWeight,
          corpus,
          noMemory,
          warmSegments,
          warmFiller,
          warmProse,
          recompute,
          writePenalty,
          writePenaltyKnee,
          segmentSampling);
    }
  }
}
