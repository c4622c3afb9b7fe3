package io.infinistreams.tasks.prose;

import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.prose.Haystack.Plan;
import io.infinistreams.tasks.prose.Haystack.Statement;
import io.infinistreams.tasks.prose.Labels.Label;
import io.infinistreams.tasks.prose.Values.Kind;
import java.util.List;
import java.util.Random;

/**
 * Single-needle retrieval from real prose (RULER's NIAH-single with a prose haystack): one sentence
 * stating a value is inserted at a sentence boundary of a prose span, at a uniform depth (or a
 * requested one), and the stream ends with a question about it.
 *
 * <pre>
 * BOS ...and the evening and the morning were the third day. Maria's locker code is 48213.
 * And God said, Let the waters... (more prose)
 *
 * Question: What was Maria's locker code set to?
 * Answer: Maria's locker code is 48213.
 *
 * (0 to N-1 tokens of prose in training samples)
 * </pre>
 *
 * <p>Labels come from {@link Labels} (classics like "the pass key" and composed ones like "the
 * password for the north gate"), values from {@link Values} (4 to 8 digits, a word, or a code like
 * {@code k7-Qm2x}, as the label's kind allows), the sentence and question from {@link
 * NeedlePhrases}; all from the task's {@link Phrasing} share.
 *
 * <p>Loss weights: 1 on every token (prose is language modelling), {@code answerWeight} on the
 * value and its terminating period after the answer's opening words ("Answer: Maria's locker code
 * is").
 *
 * @param prose where the haystack comes from
 * @param phrasing template share (TRAIN for training, EVAL for evaluation)
 * @param answerWeight loss weight of each answer token
 * @param localFraction share of training samples whose needle ends just before the question, in the
 *     answer's local window ({@link Haystack#sample})
 */
public record NeedleTask(
    ProseSource prose, Phrasing phrasing, float answerWeight, double localFraction)
    implements RetrievalTask {

  public NeedleTask {
    java.util.Objects.requireNonNull(prose, "prose");
    java.util.Objects.requireNonNull(phrasing, "phrasing");
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    Haystack.checkLocalFraction(localFraction);
  }

  /** Needles at uniform depths only. */
  public NeedleTask(ProseSource prose, Phrasing phrasing, float answerWeight) {
    this(prose, phrasing, answerWeight, 0);
  }

  @Override
  public String name() {
    return "needle";
  }

  /** One needle: a random label, value, statement and question of {@code phrasing}. */
  static Plan plan(Random rng, Phrasing phrasing, double depth) {
    Label label = Labels.random(rng, phrasing);
    Kind kind = label.values().get(rng.nextInt(label.values().size()));
    String value = Values.draw(kind, rng, phrasing);
    String statement = Phrasing.pick(rng, phrasing.of(NeedlePhrases.STATEMENTS));
    String question = Phrasing.pick(rng, phrasing.of(NeedlePhrases.QUESTIONS));
    double d = Haystack.depthOrUniform(rng, depth);
    Statement s = Haystack.render(statement, "L", label.text(), value, true);
    return new Plan(
        List.of(s),
        new double[] {d},
        Haystack.question(question, "L", label.text()),
        value,
        d,
        Haystack.capitalise(label.text()) + " is");
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    return Haystack.sample(
        name(),
        prose,
        rng,
        plan(rng, phrasing, Double.NaN),
        segments,
        segmentLength,
        answerWeight,
        localFraction);
  }

  @Override
  public RetrievalDocument document(Random rng, int lengthTokens, double depth) {
    return Haystack.document(name(), prose, rng, plan(rng, phrasing, depth), lengthTokens);
  }
}
