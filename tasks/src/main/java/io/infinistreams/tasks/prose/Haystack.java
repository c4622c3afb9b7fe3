package io.infinistreams.tasks.prose;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.Sample;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The shared layout of the prose retrieval tasks: statements inserted as whole sentences into a
 * span of real prose, then the question prompt, then (in training) the answer and more prose.
 *
 * <pre>
 * BOS prose... Statement. prose... Statement. prose...\n\nQuestion: q\nAnswer: value. \n\nprose
 * </pre>
 *
 * <p>A statement goes to the start of the last sentence at or before its target position (a byte
 * after ". ", "! ", "? " or a line break), failing that to the start of a word, failing that to a
 * character boundary, and is followed by one space. Statements keep their order when their targets
 * are ordered.
 */
final class Haystack {
  private Haystack() {}

  static final String QUESTION = "\n\nQuestion: ";
  static final String ANSWER = "\nAnswer:";

  /** How far back a statement may move to reach a sentence start, and then a word start. */
  private static final int SENTENCE_REACH = 400;

  private static final int WORD_REACH = 64;

  /** A statement to insert: its text and the byte offset of its value in the text. */
  record Statement(String text, int valueOffset, String value, String label, boolean answers) {
    int bytes() {
      return Utf8.length(text);
    }
  }

  /**
   * A document before its prose is drawn.
   *
   * @param statements the statements, in the order they should appear when fractions tie
   * @param fractions target position of each statement, as a fraction of the prose
   * @param question the question (without the prompt frame)
   * @param value the expected answer
   * @param depth the answering statement's fraction
   * @param answerPrefix the answer's opening words, before the value ({@code "Maria's locker code
   *     is"}), part of the prompt as in RULER's templates: the model continues a sentence that
   *     names what it is asked for
   */
  record Plan(
      List<Statement> statements,
      double[] fractions,
      String question,
      String value,
      double depth,
      String answerPrefix) {
    int statementBytes() {
      return statements.stream().mapToInt(s -> s.bytes() + 1).sum();
    }

    /** The question prompt of this plan. */
    String prompt() {
      return Haystack.prompt(question, answerPrefix);
    }
  }

  /**
   * The question prompt: {@code "\n\nQuestion: " + question + "\nAnswer: " + answerPrefix}; the
   * answer ({@link #answer}) follows it.
   */
  static String prompt(String question, String answerPrefix) {
    return QUESTION + question + ANSWER + " " + answerPrefix;
  }

  /** The answer as generated after the prompt: {@code " " + value + "."}. */
  static String answer(String value) {
    return " " + value + ".";
  }

  /**
   * {@code template} with {@code {key}} replaced by {@code label} and {@code {V}} by {@code value},
   * its first letter upper-cased unless the value opens it.
   */
  static Statement render(
      String template, String key, String label, String value, boolean answers) {
    String t = template.replace("{" + key + "}", label);
    int v = t.indexOf("{V}");
    if (v < 0) {
      throw new IllegalArgumentException("template without {V}: " + template);
    }
    String text = t.substring(0, v) + value + t.substring(v + 3);
    if (v > 0) {
      text = capitalise(text);
    }
    return new Statement(text, Utf8.length(t.substring(0, v)), value, label, answers);
  }

  /** {@code template} with {@code {key}} replaced by {@code label}, first letter upper-cased. */
  static String question(String template, String key, String label) {
    return capitalise(template.replace("{" + key + "}", label));
  }

  static String capitalise(String s) {
    return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }

  /** Uniform fraction, or {@code depth} clamped to [0, 1] when it is a number. */
  static double depthOrUniform(Random rng, double depth) {
    return Double.isNaN(depth) ? rng.nextDouble() : Math.max(0, Math.min(1, depth));
  }

  /**
   * The document of {@code plan}: exactly {@code docTokens} tokens, BOS, prose with the statements,
   * the prompt.
   */
  static RetrievalDocument document(
      String task, ProseSource prose, Random rng, Plan plan, int docTokens) {
    String prompt = plan.prompt();
    int proseBytes = docTokens - 1 - Utf8.length(prompt) - plan.statementBytes();
    if (proseBytes < 0) {
      throw new IllegalArgumentException(
          task
              + ": "
              + docTokens
              + " tokens cannot hold "
              + plan.statements().size()
              + " statements and the question");
    }
    ProseSource.Passage passage = prose.passage(rng, proseBytes);
    byte[] text = Utf8.fit(passage.text(), proseBytes).getBytes(StandardCharsets.UTF_8);
    int n = plan.statements().size();
    int[] at = new int[n];
    for (int i = 0; i < n; i++) {
      double f = plan.fractions()[i];
      at[i] = f == LAST ? text.length : snap(text, (int) Math.round(f * proseBytes));
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingInt((Integer i) -> at[i]).thenComparingInt(i -> i));
    int[] tokens = new int[docTokens];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    int from = 0;
    List<RetrievalDocument.Needle> needles = new ArrayList<>();
    for (int i : order) {
      p = copy(text, from, at[i], tokens, p);
      from = at[i];
      Statement s = plan.statements().get(i);
      needles.add(
          new RetrievalDocument.Needle(
              p, s.bytes(), p + s.valueOffset(), s.value(), s.label(), s.answers()));
      for (int t : ByteTokenizer.encode(s.text() + " ")) {
        tokens[p++] = t;
      }
    }
    p = copy(text, from, text.length, tokens, p);
    int promptStart = p;
    for (int t : ByteTokenizer.encode(prompt)) {
      tokens[p++] = t;
    }
    if (p != docTokens) {
      throw new IllegalStateException(
          task + " document has " + p + " tokens, expected " + docTokens);
    }
    return new RetrievalDocument(
        task,
        passage.corpus(),
        tokens,
        promptStart,
        answer(plan.value()),
        plan.value(),
        needles,
        plan.depth());
  }

  private static int copy(byte[] text, int from, int to, int[] tokens, int p) {
    for (int i = from; i < to; i++) {
      tokens[p++] = text[i] & 0xFF;
    }
    return p;
  }

  /**
   * A training sample of {@code segments * segmentLength + 1} tokens: the document of {@code plan},
   * its answer (weighted {@code answerWeight} on the value and the terminator), then prose up to
   * the sample's end (0 to N-1 tokens, so that answers fall anywhere in a segment).
   *
   * <p>With probability {@code localFraction} the sample is local: the answering statement is
   * placed last, right before the question (not snapped back to a sentence start), and the answer
   * near the end of the last segment, so that the statement's value is in the answer's local window
   * (the segment and its overlap) whenever the prompt leaves room: the reading is learned with
   * local attention, which the memory read then reuses.
   */
  static Sample sample(
      String task,
      ProseSource prose,
      Random rng,
      Plan plan,
      int segments,
      int segmentLength,
      float answerWeight,
      double localFraction) {
    int total = segments * segmentLength + 1;
    String answer = answer(plan.value());
    int answerBytes = Utf8.length(answer);
    int room = total - 1 - Utf8.length(plan.prompt()) - plan.statementBytes() - answerBytes;
    if (room < 0) {
      throw new IllegalArgumentException(
          task + ": a sample needs at least " + (total - room) + " tokens, got " + total);
    }
    boolean local = localFraction > 0 && rng.nextDouble() < localFraction;
    int tail;
    if (local) {
      double[] fractions = plan.fractions().clone();
      for (int i = 0; i < fractions.length; i++) {
        if (plan.statements().get(i).answers()) {
          fractions[i] = LAST; // after all prose, right before the question
        }
      }
      plan =
          new Plan(
              plan.statements(),
              fractions,
              plan.question(),
              plan.value(),
              plan.depth(),
              plan.answerPrefix());
      tail = Math.min(room, 1 + rng.nextInt(8)); // the answer ends its segment, or nearly
    } else {
      tail = rng.nextInt(Math.min(segmentLength, room + 1));
    }
    RetrievalDocument doc = document(task, prose, rng, plan, total - answerBytes - tail);
    String after = Utf8.fit("\n\n" + prose.passage(rng, tail).text(), tail);
    int[] tokens = Arrays.copyOf(doc.tokens(), total);
    int p = doc.tokens().length;
    int answerStart = p;
    for (int t : ByteTokenizer.encode(answer + after)) {
      tokens[p++] = t;
    }
    float[] weights = new float[total - 1];
    Arrays.fill(weights, 1f);
    // the leading space is not weighted; the value and the terminator are
    for (int i = answerStart + 1; i < answerStart + answerBytes; i++) {
      weights[i - 1] = answerWeight;
    }
    return new Sample(tokens, weights, local ? task + "/local" : task);
  }

  /** A statement fraction that places the statement after all prose, unsnapped. */
  static final double LAST = Double.POSITIVE_INFINITY;

  static void checkLocalFraction(double localFraction) {
    if (!(localFraction >= 0 && localFraction <= 1)) {
      throw new IllegalArgumentException("localFraction must be in [0, 1], got " + localFraction);
    }
  }

  /** Where a statement aimed at byte {@code target} of {@code text} goes (see class doc). */
  static int snap(byte[] text, int target) {
    int n = text.length;
    if (n == 0) {
      return 0;
    }
    int t = Math.max(0, Math.min(target, n - 1));
    for (int j = t; j >= Math.max(0, t - SENTENCE_REACH); j--) {
      if (sentenceStart(text, j)) {
        return j;
      }
    }
    for (int j = t; j >= Math.max(0, t - WORD_REACH); j--) {
      if (j == 0 || (!space(text[j]) && space(text[j - 1]))) {
        return j;
      }
    }
    int j = t;
    while (j > 0 && Utf8.isContinuation(text[j])) {
      j--;
    }
    return j;
  }

  private static boolean sentenceStart(byte[] b, int j) {
    if (j == 0) {
      return true;
    }
    if (space(b[j])) {
      return false;
    }
    if (b[j - 1] == '\n') {
      return true;
    }
    if (b[j - 1] != ' ' || j < 2) {
      return false;
    }
    byte p = b[j - 2];
    if (end(p)) {
      return true;
    }
    return (p == '"' || p == '\'' || p == ')') && j >= 3 && end(b[j - 3]);
  }

  private static boolean end(byte b) {
    return b == '.' || b == '!' || b == '?';
  }

  private static boolean space(byte b) {
    return b == ' ' || b == '\n' || b == '\t';
  }
}
