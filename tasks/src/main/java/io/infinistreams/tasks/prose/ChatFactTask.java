package io.infinistreams.tasks.prose;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.ChatFacts;
import io.infinistreams.tasks.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Personal facts in a long chat session whose other turns are real prose. Every turn is {@code USER
 * text ASSISTANT reply EOS} ({@link ByteTokenizer#chatTurn}). The user states one to {@code
 * maxFacts} facts about themselves ("My dog's name is Rex."), sometimes changes one later
 * ("Actually, my dog's name is Max."), and between and around them pastes passages of prose and
 * asks about them, the assistant replying briefly (sometimes quoting the passage's first words,
 * sometimes a line of small talk instead). Facts and changes are spread uniformly over the session.
 * At the end the user asks about facts, and the assistant answers with the latest value and a
 * period.
 *
 * <pre>
 * BOS USER My dog's name is Rex. ASSISTANT Noted. EOS
 *     USER Here is a passage I'm reading:\n\nBlessed is the man that walketh not... ASSISTANT
 *       It begins with "Blessed is the". EOS
 *     ... (more prose turns) ...
 *     USER Actually, my dog's name is Max. ASSISTANT Thanks for the update. EOS
 *     ... (more prose turns) ...
 *     USER What is my dog's name? ASSISTANT Max. EOS
 *     (0 to N-1 tokens of further turns in training samples)
 * </pre>
 *
 * <p>A training sample asks about one to three of the stated facts (one that changed first, half of
 * the time when one did); a {@link #document} asks about one, its prompt being {@code USER question
 * ASSISTANT}. Fact statements, change prefixes, questions and most value lists are split by {@link
 * Phrasing}. At short lengths fewer facts and changes are made so that they fit.
 *
 * <p>Loss weights: 1 on every token (user prose, acknowledgements, other replies), {@code
 * answerWeight} on each answer's value, period and EOS.
 *
 * @param prose where the pasted passages come from
 * @param phrasing template and value share (TRAIN for training, EVAL for evaluation)
 * @param answerWeight loss weight of each answer token
 * @param maxFacts most facts stated in a session (1 to {@link #KINDS}'s size)
 */
public record ChatFactTask(ProseSource prose, Phrasing phrasing, float answerWeight, int maxFacts)
    implements RetrievalTask {

  /** How values of a fact kind are drawn. */
  @FunctionalInterface
  public interface Pool {
    String draw(Random rng, Phrasing phrasing);
  }

  /**
   * A kind of personal fact.
   *
   * @param name short name
   * @param statements how the user states it, {@code {V}} the value (split by phrasing)
   * @param questions how the user asks for it (split by phrasing)
   * @param pool its values
   */
  public record Kind(String name, List<String> statements, List<String> questions, Pool pool) {}

  private static Pool oneOf(List<String> values) {
    return (rng, p) -> Phrasing.pick(rng, p.of(values));
  }

  private static Pool anyOf(List<String> values) {
    return (rng, p) -> values.get(rng.nextInt(values.size()));
  }

  private static final List<String> PETS =
      List.of(
          "Biscuit",
          "Pepper",
          "Luna",
          "Rocco",
          "Maple",
          "Ziggy",
          "Nala",
          "Otis",
          "Juniper",
          "Waffles",
          "Mochi",
          "Bruno",
          "Clover",
          "Pixel",
          "Tango",
          "Hazel",
          "Sprocket",
          "Rex",
          "Max",
          "Noodle",
          "Pumpkin");
  private static final List<String> CITIES =
      List.of(
          "Lisbon",
          "Oslo",
          "Nairobi",
          "Quito",
          "Hanoi",
          "Dublin",
          "Perth",
          "Krakow",
          "Montreal",
          "Osaka",
          "Tunis",
          "Lima",
          "Bergen",
          "Seville",
          "Tallinn",
          "Accra",
          "Denver",
          "Gdansk",
          "Porto",
          "Leeds",
          "Zagreb");
  private static final List<String> COLOURS =
      List.of(
          "teal",
          "maroon",
          "amber",
          "violet",
          "olive",
          "coral",
          "indigo",
          "crimson",
          "silver",
          "turquoise",
          "beige",
          "magenta");
  private static final List<String> PEOPLE =
      List.of(
          "Alice", "Carmen", "Dev", "Erin", "Farah", "Gustav", "Hana", "Ivan", "Julia", "Kamal",
          "Laura", "Miguel", "Nora", "Oscar", "Paula", "Rosa", "Samir", "Tessa");
  private static final List<String> JOBS =
      List.of(
          "teacher",
          "nurse",
          "plumber",
          "baker",
          "pilot",
          "lawyer",
          "farmer",
          "chemist",
          "librarian",
          "carpenter",
          "dentist",
          "journalist",
          "tailor",
          "gardener",
          "mechanic");
  private static final List<String> FRUITS =
      List.of(
          "mango", "apricot", "plum", "peach", "cherry", "banana", "kiwi", "papaya", "lychee",
          "guava", "pear", "fig");
  private static final List<String> DAYS =
      List.of("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday");
  private static final List<String> MONTHS =
      List.of(
          "January",
          "February",
          "March",
          "April",
          "May",
          "June",
          "July",
          "August",
          "September",
          "October",
          "November",
          "December");

  /** The fact kinds (14), each with 4 statements (3 train, 1 eval), 3 questions (2, 1). */
  public static final List<Kind> KINDS =
      List.of(
          new Kind(
              "dog",
              List.of(
                  "My dog's name is {V}.",
                  "We named our dog {V}.",
                  "Our puppy is called {V}.",
                  "I have a dog called {V}."),
              List.of(
                  "What is my dog's name?",
                  "What is my dog called?",
                  "Do you remember my dog's name?"),
              oneOf(PETS)),
          new Kind(
              "city",
              List.of(
                  "I live in {V}.",
                  "Home for me is {V}.",
                  "I moved to {V} last year.",
                  "These days I live in {V}."),
              List.of("Where do I live?", "Which city do I live in?", "What city is my home?"),
              oneOf(CITIES)),
          new Kind(
              "colour",
              List.of(
                  "My favourite colour is {V}.",
                  "I like {V} more than any other colour.",
                  "The colour I love most is {V}.",
                  "If I had to pick a colour, it would be {V}."),
              List.of(
                  "What is my favourite colour?",
                  "Which colour do I like best?",
                  "What colour did I say I like most?"),
              oneOf(COLOURS)),
          new Kind(
              "locker",
              List.of(
                  "My locker code is {V}.",
                  "The code for my locker is {V}.",
                  "I set my locker code to {V}.",
                  "My gym locker opens with {V}."),
              List.of(
                  "What is my locker code?",
                  "Which code opens my locker?",
                  "What did I say my locker code is?"),
              (rng, p) -> Values.digits(rng, 4)),
          new Kind(
              "sister",
              List.of(
                  "My sister's name is {V}.",
                  "I have a sister called {V}.",
                  "My younger sister is {V}.",
                  "You can call my sister {V}."),
              List.of(
                  "What is my sister's name?", "What is my sister called?", "Who is my sister?"),
              oneOf(PEOPLE)),
          new Kind(
              "job",
              List.of(
                  "I work as a {V}.",
                  "I'm a {V} by profession.",
                  "By trade I am a {V}.",
                  "I earn my living as a {V}."),
              List.of("What is my job?", "What do I do for a living?", "What is my profession?"),
              oneOf(JOBS)),
          new Kind(
              "meeting",
              List.of(
                  "My meeting moved to {V}.",
                  "The team meeting is on {V}.",
                  "We meet on {V} this week.",
                  "Our weekly meeting is on {V}."),
              List.of(
                  "Which day is my meeting?",
                  "When is the team meeting?",
                  "On which day do we meet?"),
              anyOf(DAYS)),
          new Kind(
              "room",
              List.of(
                  "I'm staying in room {V}.",
                  "My hotel room is number {V}.",
                  "They gave me room {V}.",
                  "I'm in room {V} this week."),
              List.of(
                  "Which room am I in?", "What is my room number?", "What room did they give me?"),
              (rng, p) -> Values.digits(rng, 3)),
          new Kind(
              "fruit",
              List.of(
                  "My favourite fruit is {V}.",
                  "I could eat {V} every day.",
                  "Nothing beats {V} for me.",
                  "The fruit I like best is {V}."),
              List.of(
                  "What is my favourite fruit?",
                  "Which fruit do I like best?",
                  "What fruit did I say I love?"),
              oneOf(FRUITS)),
          new Kind(
              "cat",
              List.of(
                  "My cat is called {V}.",
                  "Our cat's name is {V}.",
                  "We have a cat named {V}.",
                  "The cat at home answers to {V}."),
              List.of(
                  "What is my cat's name?",
                  "What is our cat called?",
                  "Do you remember my cat's name?"),
              oneOf(PETS)),
          new Kind(
              "wifi",
              List.of(
                  "The wifi password is {V}.",
                  "Our wifi password is {V}.",
                  "To join the wifi, use {V}.",
                  "I changed the wifi password to {V}."),
              List.of(
                  "What is the wifi password?",
                  "Which password does the wifi use?",
                  "What did I say the wifi password is?"),
              (rng, p) -> Phrasing.pick(rng, p.of(Values.WORDS)) + (10 + rng.nextInt(90))),
          new Kind(
              "flight",
              List.of(
                  "My flight number is {V}.",
                  "I'm booked on flight {V}.",
                  "I fly out on flight {V}.",
                  "The flight I'm taking is {V}."),
              List.of(
                  "What is my flight number?", "Which flight am I on?", "What flight did I book?"),
              (rng, p) ->
                  ""
                      + (char) ('A' + rng.nextInt(26))
                      + (char) ('A' + rng.nextInt(26))
                      + Values.digits(rng, 3 + rng.nextInt(2))),
          new Kind(
              "manager",
              List.of(
                  "My manager's name is {V}.",
                  "I report to {V}.",
                  "My boss is called {V}.",
                  "The person I work for is {V}."),
              List.of("What is my manager's name?", "Who is my boss?", "Who do I report to?"),
              oneOf(PEOPLE)),
          new Kind(
              "birthday",
              List.of(
                  "My birthday is in {V}.",
                  "I was born in {V}.",
                  "I celebrate my birthday in {V}.",
                  "Every year in {V} I have a birthday."),
              List.of(
                  "In which month is my birthday?",
                  "When is my birthday?",
                  "Which month was I born in?"),
              anyOf(MONTHS)));

  /** Prefixes that turn a statement into a change of a fact (6: 4 train, 2 eval). */
  public static final List<String> CHANGES =
      List.of(
          "Actually, ",
          "Correction: ",
          "Update: ",
          "Scratch what I said before: ",
          "Things have changed: ",
          "Just so you know, it changed: ");

  private static final List<String> ACKS =
      List.of(
          "Got it, I'll remember that.",
          "Noted.",
          "Okay, I will keep that in mind.",
          "Thanks, noted.",
          "Understood.");
  private static final List<String> CHANGE_ACKS =
      List.of(
          "Okay, I've updated that.",
          "Thanks for the update.",
          "Noted, I'll use the new one.",
          "Got it, changed.");

  /** User turns that paste a passage: text before and after it. */
  private static final List<String[]> PASTES =
      List.of(
          new String[] {"", ""},
          new String[] {"Here is a passage I'm reading:\n\n", "\n\nWhat do you make of it?"},
          new String[] {"Can you look at this text?\n\n", ""},
          new String[] {"I found this:\n", "\nAny thoughts?"},
          new String[] {"Please read the following.\n\n", ""},
          new String[] {"", "\n\nWhat is this about?"},
          new String[] {
            "Quick question about this passage:\n\n", "\n\nIs it worth reading in full?"
          },
          new String[] {"Keep this for later:\n\n", ""});

  private static final List<String> REPLIES =
      List.of(
          "Thanks for sharing it.",
          "It is an interesting passage.",
          "I've read it.",
          "Noted. Anything else?",
          "That is a dense passage.",
          "It reads well.",
          "Yes, it is worth a careful read.",
          "Understood.",
          "QUOTE",
          "QUOTE");
  private static final String SHORTEST_REPLY = "Noted.";
  private static final int MIN_PROSE = 24;

  /** Fewest tokens of a prose turn: USER, ASSISTANT, EOS, the shortest reply, some prose. */
  static final int MIN_TURN = 3 + SHORTEST_REPLY.length() + MIN_PROSE;

  /** Up to 4 facts. */
  public ChatFactTask(ProseSource prose, Phrasing phrasing, float answerWeight) {
    this(prose, phrasing, answerWeight, 4);
  }

  public ChatFactTask {
    Objects.requireNonNull(prose, "prose");
    Objects.requireNonNull(phrasing, "phrasing");
    if (!(answerWeight > 0)) {
      throw new IllegalArgumentException("answerWeight must be > 0, got " + answerWeight);
    }
    if (maxFacts < 1 || maxFacts > KINDS.size()) {
      throw new IllegalArgumentException("maxFacts must be in [1, " + KINDS.size() + "]");
    }
  }

  @Override
  public String name() {
    return "chat-facts";
  }

  /** A fact turn: its tokens and where its value starts in them. */
  private record Event(int[] tokens, int valueOffset, String value, String kind) {}

  /** A question turn's parts. */
  private record Question(String text, String value) {
    int[] prompt() {
      return ByteTokenizer.chatTurn(text);
    }

    int[] reply() {
      int[] v = ByteTokenizer.encode(value + ".");
      int[] out = Arrays.copyOf(v, v.length + 1);
      out[v.length] = ByteTokenizer.EOS;
      return out;
    }

    int length() {
      return prompt().length + reply().length;
    }
  }

  /** Events in session order with their target fractions, and the questions. */
  private record Plan(
      List<Event> events,
      double[] fractions,
      List<Question> questions,
      int answering,
      double depth) {
    int eventTokens() {
      return events.stream().mapToInt(e -> e.tokens().length).sum();
    }

    int questionTokens() {
      return questions.stream().mapToInt(Question::length).sum();
    }
  }

  /** One turn: {@code USER user ASSISTANT reply EOS}. */
  static int[] turn(String user, String reply) {
    int[] head = ByteTokenizer.chatTurn(user);
    int[] body = ByteTokenizer.encode(reply);
    int[] out = Arrays.copyOf(head, head.length + body.length + 1);
    System.arraycopy(body, 0, out, head.length, body.length);
    out[out.length - 1] = ByteTokenizer.EOS;
    return out;
  }

  private static String lowerFirst(String s) {
    if (s.startsWith("I ") || s.startsWith("I'")) {
      return s;
    }
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }

  private record Slot(int kind, boolean asked) {}

  private Plan plan(Random rng, double depth, int kindsCap, int changesCap, boolean training) {
    List<Integer> order = new ArrayList<>();
    for (int k = 0; k < KINDS.size(); k++) {
      order.add(k);
    }
    Collections.shuffle(order, rng);
    int facts = Math.min(1 + rng.nextInt(maxFacts), kindsCap);
    List<Integer> kinds = order.subList(0, facts);
    int[] changes = new int[facts];
    for (int i = 0; i < facts; i++) {
      double u = rng.nextDouble();
      changes[i] = Math.min(changesCap, u < 0.1 ? 2 : u < 0.45 ? 1 : 0);
    }
    // the fact asked first: one that changed, half of the time when there is one
    List<Integer> asked = new ArrayList<>();
    for (int i = 0; i < facts; i++) {
      asked.add(i);
    }
    Collections.shuffle(asked, rng);
    if (rng.nextBoolean()) {
      for (int j = 0; j < asked.size(); j++) {
        if (changes[asked.get(j)] > 0) {
          asked.add(0, asked.remove(j));
          break;
        }
      }
    }
    int questions = training ? 1 + rng.nextInt(Math.min(3, facts)) : 1;
    asked = new ArrayList<>(asked.subList(0, questions));
    int first = asked.get(0);
    // positions: training uniform in order; evaluation puts the first asked fact's last
    // statement at the depth and its earlier ones before it
    List<Slot> slots = new ArrayList<>();
    List<Double> fr = new ArrayList<>();
    double d = Haystack.depthOrUniform(rng, depth);
    if (Double.isNaN(depth)) {
      for (int i = 0; i < facts; i++) {
        for (int c = 0; c <= changes[i]; c++) {
          slots.add(new Slot(i, false));
        }
      }
      Collections.shuffle(slots, rng);
      for (int i = 0; i < slots.size(); i++) {
        fr.add(rng.nextDouble());
      }
      Collections.sort(fr);
    } else {
      List<Double> mine = new ArrayList<>();
      for (int c = 0; c < changes[first]; c++) {
        mine.add(rng.nextDouble() * d);
      }
      Collections.sort(mine);
      mine.add(d);
      List<double[]> all = new ArrayList<>(); // {fraction, fact}
      for (double m : mine) {
        all.add(new double[] {m, first});
      }
      for (int i = 0; i < facts; i++) {
        for (int c = 0; i != first && c <= changes[i]; c++) {
          all.add(new double[] {rng.nextDouble(), i});
        }
      }
      all.sort((a, b) -> Double.compare(a[0], b[0]));
      for (double[] a : all) {
        slots.add(new Slot((int) a[1], false));
        fr.add(a[0]);
      }
    }
    // values and texts, in session order
    Map<Integer, String> current = new HashMap<>();
    List<Event> events = new ArrayList<>();
    int answering = -1;
    for (int i = 0; i < slots.size(); i++) {
      int fact = slots.get(i).kind();
      Kind kind = KINDS.get(kinds.get(fact));
      String value;
      do {
        value = kind.pool().draw(rng, phrasing);
      } while (value.equals(current.get(fact)));
      boolean change = current.containsKey(fact);
      current.put(fact, value);
      Haystack.Statement s =
          Haystack.render(
              Phrasing.pick(rng, phrasing.of(kind.statements())), "X", "", value, false);
      String text = s.text();
      int offset = s.valueOffset();
      String ack;
      if (change) {
        String prefix = Phrasing.pick(rng, phrasing.of(CHANGES));
        text = prefix + lowerFirst(text);
        offset += Utf8.length(prefix);
        ack = CHANGE_ACKS.get(rng.nextInt(CHANGE_ACKS.size()));
      } else {
        ack = ACKS.get(rng.nextInt(ACKS.size()));
      }
      events.add(new Event(turn(text, ack), 1 + offset, value, kind.name()));
      if (fact == first) {
        answering = i;
      }
    }
    List<Question> qs = new ArrayList<>();
    for (int fact : asked) {
      Kind kind = KINDS.get(kinds.get(fact));
      qs.add(new Question(Phrasing.pick(rng, phrasing.of(kind.questions())), current.get(fact)));
    }
    double[] fractions = fr.stream().mapToDouble(Double::doubleValue).toArray();
    return new Plan(events, fractions, qs, answering, fractions[answering]);
  }

  /** A plan whose events and questions take at most about half of {@code length} tokens. */
  private Plan fitting(Random rng, double depth, int length, boolean training) {
    int kindsCap = Math.max(1, (length - 100) / 2 / 110);
    for (int changesCap = 2; ; ) {
      Random attempt = new Random(rng.nextLong());
      Plan p = plan(attempt, depth, kindsCap, changesCap, training);
      if (p.eventTokens() + p.questionTokens() <= Math.max(0, length - 100) / 2
          || (kindsCap == 1 && changesCap == 0)) {
        return p;
      }
      if (changesCap > 0) {
        changesCap--;
      } else {
        kindsCap--;
        changesCap = 2;
      }
    }
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    Plan plan = fitting(rng, Double.NaN, total, true);
    int room = total - 1 - plan.eventTokens() - plan.questionTokens() - MIN_TURN;
    if (room < 0) {
      throw new IllegalArgumentException(
          "a chat-facts session needs at least " + (total - room) + " tokens, got " + total);
    }
    int tail = rng.nextInt(Math.min(segmentLength, room + 1));
    int[] tokens = new int[total];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    int middle = total - 1 - plan.questionTokens() - tail;
    p = middle(rng, plan, middle, tokens, p, new ArrayList<>());
    float[] weights = new float[total - 1];
    Arrays.fill(weights, 1f);
    for (Question q : plan.questions()) {
      int[] prompt = q.prompt();
      System.arraycopy(prompt, 0, tokens, p, prompt.length);
      p += prompt.length;
      int[] reply = q.reply();
      System.arraycopy(reply, 0, tokens, p, reply.length);
      for (int i = p; i < p + reply.length; i++) {
        weights[i - 1] = answerWeight;
      }
      p += reply.length;
    }
    p = tail(rng, tokens, p, tail);
    if (p != total) {
      throw new IllegalStateException("chat-facts sample has " + p + " tokens, expected " + total);
    }
    return new Sample(tokens, weights, name());
  }

  @Override
  public RetrievalDocument document(Random rng, int lengthTokens, double depth) {
    Plan plan =
        fitting(
            rng,
            Double.isNaN(depth) ? Double.NaN : Math.max(0, Math.min(1, depth)),
            lengthTokens,
            false);
    Question q = plan.questions().get(0);
    int[] prompt = q.prompt();
    int middle = lengthTokens - 1 - prompt.length;
    if (middle < plan.eventTokens() + MIN_TURN) {
      throw new IllegalArgumentException(
          "a chat-facts document needs at least "
              + (1 + prompt.length + plan.eventTokens() + MIN_TURN)
              + " tokens, got "
              + lengthTokens);
    }
    int[] tokens = new int[lengthTokens];
    tokens[0] = ByteTokenizer.BOS;
    List<RetrievalDocument.Needle> needles = new ArrayList<>();
    int p = middle(rng, plan, middle, tokens, 1, needles);
    int promptStart = p;
    System.arraycopy(prompt, 0, tokens, p, prompt.length);
    return new RetrievalDocument(
        name(),
        prose.name(),
        tokens,
        promptStart,
        q.value() + ".",
        q.value(),
        needles,
        plan.depth());
  }

  /**
   * Writes exactly {@code budget} tokens of fact turns and prose turns at {@code p}; returns the
   * position after them. Fact turn {@code i} comes after about {@code fractions[i]} of the prose
   * turns (a gap too small for a turn is carried to the next one).
   */
  private int middle(
      Random rng,
      Plan plan,
      int budget,
      int[] tokens,
      int p,
      List<RetrievalDocument.Needle> needles) {
    int filler = budget - plan.eventTokens();
    int placed = 0;
    for (int i = 0; i < plan.events().size(); i++) {
      int target = (int) Math.round(plan.fractions()[i] * (filler - MIN_TURN));
      if (target - placed >= MIN_TURN) {
        p = fill(rng, tokens, p, target - placed);
        placed = target;
      }
      Event e = plan.events().get(i);
      needles.add(
          new RetrievalDocument.Needle(
              p,
              e.tokens().length,
              p + e.valueOffset(),
              e.value(),
              e.kind(),
              i == plan.answering()));
      System.arraycopy(e.tokens(), 0, tokens, p, e.tokens().length);
      p += e.tokens().length;
    }
    return fill(rng, tokens, p, filler - placed);
  }

  /** Exactly {@code size} (0 or at least {@link #MIN_TURN}) tokens of prose turns. */
  private int fill(Random rng, int[] tokens, int p, int size) {
    int left = size;
    while (left > 0) {
      int s = rng.nextDouble() < 0.15 ? 1000 + rng.nextInt(3000) : 60 + rng.nextInt(900);
      if (rng.nextDouble() < 0.15) {
        String[] talk = ChatFacts.smallTalk(rng);
        int[] t = turn(talk[0], talk[1]);
        if (left - t.length >= MIN_TURN) {
          System.arraycopy(t, 0, tokens, p, t.length);
          p += t.length;
          left -= t.length;
          continue;
        }
      }
      if (left - s < MIN_TURN) {
        s = left;
      }
      int[] t = proseTurn(rng, s);
      System.arraycopy(t, 0, tokens, p, t.length);
      p += t.length;
      left -= s;
    }
    return p;
  }

  /** A turn of exactly {@code size >= MIN_TURN} tokens that pastes prose. */
  private int[] proseTurn(Random rng, int size) {
    String[] paste = PASTES.get(rng.nextInt(PASTES.size()));
    String reply = REPLIES.get(rng.nextInt(REPLIES.size()));
    String text = prose.passage(rng, size).text();
    int quoted = 0;
    if (reply.equals("QUOTE")) {
      String words = firstWords(text, 3);
      reply = words.isEmpty() ? SHORTEST_REPLY : "It begins with \"" + words + "\".";
      quoted = Utf8.length(words);
    }
    int overhead = 3 + Utf8.length(paste[0]) + Utf8.length(paste[1]) + Utf8.length(reply);
    if (size - overhead < Math.max(MIN_PROSE, quoted)) {
      paste = PASTES.get(0);
      reply = SHORTEST_REPLY;
      overhead = 3 + Utf8.length(reply);
    }
    String user = paste[0] + Utf8.fit(text, size - overhead) + paste[1];
    int[] t = turn(user, reply);
    if (t.length != size) {
      throw new IllegalStateException("prose turn of " + t.length + " tokens, wanted " + size);
    }
    return t;
  }

  /** Up to {@code n} first words of {@code text}, without trailing punctuation. */
  static String firstWords(String text, int n) {
    String[] w = text.strip().split("\\s+", n + 1);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(n, w.length); i++) {
      if (w[i].isEmpty()) {
        break;
      }
      sb.append(i == 0 ? "" : " ").append(w[i]);
    }
    return sb.toString().replaceAll("[\\p{Punct}\u201c\u201d\u2018\u2019]+$", "");
  }

  /** {@code size} tokens after the last answer: prose turns, or a cut user turn if short. */
  private int tail(Random rng, int[] tokens, int p, int size) {
    if (size >= MIN_TURN) {
      return fill(rng, tokens, p, size);
    }
    if (size > 0) {
      tokens[p++] = ByteTokenizer.USER;
      for (int t : ByteTokenizer.encode(prose.text(rng, size - 1))) {
        tokens[p++] = t;
      }
    }
    return p;
  }
}
