package io.infinistreams.tasks.prose;

import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.prose.Haystack.Plan;
import io.infinistreams.tasks.prose.Haystack.Statement;
import io.infinistreams.tasks.prose.Labels.Label;
import io.infinistreams.tasks.prose.Values.Kind;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * Multi-key retrieval from real prose (RULER's NIAH-multikey): {@code minKeys} to {@code maxKeys}
 * needles with different labels are inserted at uniform positions of a prose span, and the question
 * asks for one of them. The answering needle's depth is uniform (or requested); the others are
 * uniform over the haystack.
 *
 * <p>With {@code nearCopies} the distractors are hard: every distractor's label is one word away
 * from the answer's ("the blue door code" and "the red door code", "Maria's safe PIN" and "Maria's
 * shed PIN"), it is stated with the same sentence template, and its value differs from the answer's
 * in one or two characters (48213 and 48273), so only the label's content tells them apart.
 *
 * <pre>
 * BOS ...prose... The blue door code is 48213. ...prose... The red door code is 48273.
 * ...prose... The blue gate code is 40213. ...prose...
 *
 * Question: What is the blue door code?
 * Answer: The blue door code is 48213.
 * </pre>
 *
 * <p>At short lengths distractors are dropped (never below one) so that statements take at most
 * about half of the stream. Loss weights as in {@link NeedleTask}.
 *
 * @param prose where the haystack comes from
 * @param phrasing template share (TRAIN for training, EVAL for evaluation)
 * @param answerWeight loss weight of each answer token
 * @param minKeys fewest needles (at least 2)
 * @param maxKeys most needles
 * @param nearCopies distractors are near copies of the answer (see above)
 * @param localFraction share of training samples whose asked needle ends just before the question,
 *     in the answer's local window ({@link Haystack#sample})
 */
public record MultiKeyTask(
    ProseSource prose,
    Phrasing phrasing,
    float answerWeight,
    int minKeys,
    int maxKeys,
    boolean nearCopies,
    double localFraction)
    implements RetrievalTask {

  /** 2 to 8 needles at uniform depths. */
  public MultiKeyTask(
      ProseSource prose, Phrasing phrasing, float answerWeight, boolean nearCopies) {
    this(prose, phrasing, answerWeight, 2, 8, nearCopies, 0);
  }

  /** 2 to 8 needles, {@code localFraction} of training samples with the asked one local. */
  public MultiKeyTask(
      ProseSource prose,
      Phrasing phrasing,
      float answerWeight,
      boolean nearCopies,
      double localFraction) {
    this(prose, phrasing, answerWeight, 2, 8, nearCopies, localFraction);
  }

  public MultiKeyTask {
    Objects.requireNonNull(prose, "prose");
    Objects.requireNonNull(phrasing, "phrasing");
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    if (minKeys < 2 || maxKeys < minKeys) {
      throw new IllegalArgumentException(
          "need 2 <= minKeys <= maxKeys, got " + minKeys + ", " + maxKeys);
    }
    Haystack.checkLocalFraction(localFraction);
  }

  @Override
  public String name() {
    return nearCopies ? "multikey-near" : "multikey";
  }

  Plan plan(Random rng, double depth, int lengthTokens) {
    int keys = minKeys + rng.nextInt(maxKeys - minKeys + 1);
    Label label = nearCopies ? Labels.composed(rng, phrasing) : Labels.random(rng, phrasing);
    Kind kind = label.values().get(rng.nextInt(label.values().size()));
    String value = Values.draw(kind, rng, phrasing);
    String template = Phrasing.pick(rng, phrasing.of(NeedlePhrases.STATEMENTS));
    String question = Phrasing.pick(rng, phrasing.of(NeedlePhrases.QUESTIONS));
    double d = Haystack.depthOrUniform(rng, depth);
    Set<String> labels = new HashSet<>(List.of(label.text()));
    Set<String> values = new HashSet<>(List.of(value));
    List<Statement> distractors = new ArrayList<>();
    for (int tries = 0; distractors.size() < keys - 1 && tries < 20 * keys; tries++) {
      Label l;
      String v;
      String t;
      if (nearCopies) {
        l = Labels.oneWordOff(rng, label, phrasing);
        v = Values.nearCopy(rng, value);
        t = template;
      } else {
        l = Labels.random(rng, phrasing);
        v = Values.draw(l.values().get(rng.nextInt(l.values().size())), rng, phrasing);
        t = Phrasing.pick(rng, phrasing.of(NeedlePhrases.STATEMENTS));
      }
      if (labels.contains(l.text()) || values.contains(v)) {
        continue;
      }
      labels.add(l.text());
      values.add(v);
      distractors.add(Haystack.render(t, "L", l.text(), v, false));
    }
    Statement answer = Haystack.render(template, "L", label.text(), value, true);
    String asked = Haystack.question(question, "L", label.text());
    String prefix = Haystack.capitalise(label.text()) + " is";
    // keep statements to about half of the stream: drop distractors, the last one only if the
    // prompt and the answer leave no room for it (a short sample is then a single needle)
    int left =
        lengthTokens
            - 1
            - Utf8.length(Haystack.prompt(asked, prefix))
            - Utf8.length(Haystack.answer(value));
    int cap = Math.max(0, (lengthTokens - 120) / 2);
    int bytes = answer.bytes() + 1 + distractors.stream().mapToInt(s -> s.bytes() + 1).sum();
    while (!distractors.isEmpty() && (bytes > left || (distractors.size() > 1 && bytes > cap))) {
      bytes -= distractors.remove(distractors.size() - 1).bytes() + 1;
    }
    List<Statement> statements = new ArrayList<>(distractors);
    statements.add(rng.nextInt(statements.size() + 1), answer);
    double[] fractions = new double[statements.size()];
    for (int i = 0; i < fractions.length; i++) {
      fractions[i] = statements.get(i).answers() ? d : rng.nextDouble();
    }
    return new Plan(statements, fractions, asked, value, d, prefix);
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    return Haystack.sample(
        name(),
        prose,
        rng,
        plan(rng, Double.NaN, total),
        segments,
        segmentLength,
        answerWeight,
        localFraction);
  }

  @Override
  public RetrievalDocument document(Random rng, int lengthTokens, double depth) {
    return Haystack.document(name(), prose, rng, plan(rng, depth, lengthTokens), lengthTokens);
  }
}
