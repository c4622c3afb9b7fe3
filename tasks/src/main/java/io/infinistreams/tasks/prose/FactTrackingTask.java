package io.infinistreams.tasks.prose;

import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.prose.Haystack.Plan;
import io.infinistreams.tasks.prose.Haystack.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Fact tracking in real prose (bAbI task 1, "single supporting fact", as BABILong embeds it):
 * people move between six places, {@code minFacts} to {@code maxFacts} such moves are inserted in
 * order as whole sentences at sentence boundaries spread over the stream, and the question asks
 * where one person is. The answer is the place of that person's last move, so a later fact must
 * overwrite an earlier one; the person asked about has moved two or more times in about 4 of 5
 * samples (when there are at least two facts), and every move goes to a place other than the
 * person's current one.
 *
 * <pre>
 * BOS ...prose... Mary went to the kitchen. ...prose... John moved to the garden.
 * ...prose... After that, Mary went to the office. ...prose...
 *
 * Question: Where is Mary?
 * Answer: Mary is in the office.
 * </pre>
 *
 * <p>In {@link #document} at depth {@code d} the asked person's last move lies at {@code d} and
 * their earlier moves before it; other people's moves are anywhere. At short lengths the number of
 * facts is capped so that they take at most about half of the stream (never fewer than two). Loss
 * weights as in {@link NeedleTask}.
 *
 * @param prose where the haystack comes from
 * @param phrasing template and name share (TRAIN for training, EVAL for evaluation)
 * @param answerWeight loss weight of each answer token
 * @param minFacts fewest moves (at least 1)
 * @param maxFacts most moves
 * @param localFraction share of training samples whose answering move ends just before the
 *     question, in the answer's local window ({@link Haystack#sample})
 */
public record FactTrackingTask(
    ProseSource prose,
    Phrasing phrasing,
    float answerWeight,
    int minFacts,
    int maxFacts,
    double localFraction)
    implements RetrievalTask {

  /** People (12: 8 train, 4 eval). */
  public static final List<String> NAMES =
      List.of(
          "Mary", "John", "Sandra", "Daniel", "Emma", "Omar", "Priya", "Lucas", "Fatima", "Kenji",
          "Sofia", "Peter");

  /** The six places, shared by both shares. */
  public static final List<String> PLACES =
      List.of("kitchen", "garden", "office", "bathroom", "bedroom", "hallway");

  /** Move sentences, {@code {N}} the person and {@code {P}} the place (15: 10 train, 5 eval). */
  public static final List<String> MOVES =
      List.of(
          "{N} went to the {P}.",
          "{N} moved to the {P}.",
          "{N} journeyed to the {P}.",
          "{N} travelled to the {P}.",
          "{N} went back to the {P}.",
          "{N} walked into the {P}.",
          "Then {N} ran to the {P}.",
          "{N} headed to the {P}.",
          "{N} returned to the {P}.",
          "After that, {N} went to the {P}.",
          "{N} made a trip to the {P}.",
          "{N} wandered into the {P}.",
          "Later, {N} hurried to the {P}.",
          "{N} is now in the {P}.",
          "{N} slipped into the {P}.");

  /** Questions, {@code {N}} the person (9: 6 train, 3 eval). */
  public static final List<String> QUESTIONS =
      List.of(
          "Where is {N}?",
          "Where is {N} now?",
          "In which room is {N}?",
          "Where is {N} at the moment?",
          "Which room is {N} in?",
          "Where can {N} be found now?",
          "Where did {N} go last?",
          "Where is {N} at the end?",
          "Where would you find {N}?");

  /** Bytes budgeted per fact when capping their number by the stream's length. */
  private static final int FACT_BYTES = 42;

  /** 2 to 20 facts. */
  public FactTrackingTask(ProseSource prose, Phrasing phrasing, float answerWeight) {
    this(prose, phrasing, answerWeight, 2, 20, 0);
  }

  /** 2 to 20 facts, {@code localFraction} of training samples with the answering move local. */
  public FactTrackingTask(
      ProseSource prose, Phrasing phrasing, float answerWeight, double localFraction) {
    this(prose, phrasing, answerWeight, 2, 20, localFraction);
  }

  public FactTrackingTask {
    Objects.requireNonNull(prose, "prose");
    Objects.requireNonNull(phrasing, "phrasing");
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    if (minFacts < 1 || maxFacts < minFacts) {
      throw new IllegalArgumentException(
          "need 1 <= minFacts <= maxFacts, got " + minFacts + ", " + maxFacts);
    }
    Haystack.checkLocalFraction(localFraction);
  }

  @Override
  public String name() {
    return "facts";
  }

  private record Fact(String person, double fraction, boolean asked) {}

  Plan plan(Random rng, double depth, int lengthTokens) {
    int facts = minFacts + rng.nextInt(maxFacts - minFacts + 1);
    int fit = Math.max(0, (lengthTokens - 120) / 2) / FACT_BYTES;
    facts = Math.max(Math.min(2, minFacts), Math.min(facts, fit));
    List<String> people = new ArrayList<>(phrasing.of(NAMES));
    Collections.shuffle(people, rng);
    String asked = people.get(0);
    int mine =
        facts == 1 ? 1 : rng.nextDouble() < 0.8 ? 2 + rng.nextInt(Math.min(facts, 5) - 1) : 1;
    int othersCount = 1 + rng.nextInt(Math.min(5, people.size() - 1));
    List<Fact> list = new ArrayList<>();
    if (Double.isNaN(depth)) {
      // training: moves in order over the whole stream, owners in random order
      List<String> owners = new ArrayList<>();
      for (int i = 0; i < facts; i++) {
        owners.add(i < mine ? asked : people.get(1 + rng.nextInt(othersCount)));
      }
      Collections.shuffle(owners, rng);
      double[] f = new double[facts];
      for (int i = 0; i < facts; i++) {
        f[i] = rng.nextDouble();
      }
      java.util.Arrays.sort(f);
      for (int i = 0; i < facts; i++) {
        list.add(new Fact(owners.get(i), f[i], owners.get(i).equals(asked)));
      }
    } else {
      double d = Math.max(0, Math.min(1, depth));
      for (int i = 0; i < mine - 1; i++) {
        list.add(new Fact(asked, rng.nextDouble() * d, true));
      }
      list.sort((a, b) -> Double.compare(a.fraction(), b.fraction()));
      list.add(new Fact(asked, d, true));
      for (int i = mine; i < facts; i++) {
        list.add(new Fact(people.get(1 + rng.nextInt(othersCount)), rng.nextDouble(), false));
      }
      list.sort((a, b) -> Double.compare(a.fraction(), b.fraction())); // stable: ties keep order
    }
    int lastAsked = -1;
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i).asked()) {
        lastAsked = i;
      }
    }
    Map<String, String> where = new HashMap<>();
    List<Statement> statements = new ArrayList<>();
    double[] fractions = new double[list.size()];
    String answer = null;
    for (int i = 0; i < list.size(); i++) {
      Fact fact = list.get(i);
      String place;
      do {
        place = PLACES.get(rng.nextInt(PLACES.size()));
      } while (place.equals(where.get(fact.person())));
      where.put(fact.person(), place);
      String template = Phrasing.pick(rng, phrasing.of(MOVES)).replace("{P}", "{V}");
      statements.add(Haystack.render(template, "N", fact.person(), place, i == lastAsked));
      fractions[i] = fact.fraction();
      if (i == lastAsked) {
        answer = place;
      }
    }
    String question = Haystack.question(Phrasing.pick(rng, phrasing.of(QUESTIONS)), "N", asked);
    return new Plan(
        statements,
        fractions,
        question,
        answer,
        list.get(lastAsked).fraction(),
        asked + " is in the");
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
