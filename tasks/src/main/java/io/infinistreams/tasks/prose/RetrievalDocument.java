package io.infinistreams.tasks.prose;

import java.util.Arrays;
import java.util.List;

/**
 * One evaluation trial of a retrieval task: a stream of tokens that ends with a question prompt,
 * where the statements that matter lie, and the answer the model should generate after the prompt.
 * An evaluator absorbs {@link #context()}, generates after {@link #prompt()} (greedy, until EOS or
 * a dozen tokens) and scores with {@link #correct(String)}.
 *
 * <p>Answers have one format in every task: the value, then a terminator. In the prose tasks the
 * prompt ends with {@code "Answer:"} and the answer's opening words ({@code "Answer: Maria's locker
 * code is"}) and the answer is {@code " 48213."}; in chat the prompt ends with the ASSISTANT token
 * and the answer is {@code "48213."} followed by EOS. {@link #firstWord} takes the first run of
 * letters and digits (inner hyphens kept, as in {@code k7-Qm2x}) of a generation, and it must equal
 * {@link #expected()}.
 *
 * @param task name of the task that made it
 * @param corpus corpus the haystack's prose came from (in chat, whose turns draw many passages, the
 *     source's name)
 * @param tokens BOS, the haystack with the statements in it, the question prompt
 * @param promptStart index in {@code tokens} where the question prompt starts
 * @param answer what the model should generate after the prompt, e.g. {@code " 48213."} (in chat an
 *     EOS token follows it)
 * @param expected the value alone, e.g. {@code "48213"}
 * @param needles every inserted statement (the answering one and distractors), in stream order, as
 *     token positions in {@code tokens}
 * @param depth where the answering statement was placed, as a fraction (0 = start, 1 = end) of the
 *     haystack
 */
public record RetrievalDocument(
    String task,
    String corpus,
    int[] tokens,
    int promptStart,
    String answer,
    String expected,
    List<Needle> needles,
    double depth) {

  /**
   * One inserted statement.
   *
   * @param start token index of its first token
   * @param length its tokens
   * @param valueStart token index of the value's first token inside it
   * @param value the value it states
   * @param label what the value is of: the needle's label ("the blue door code"), the person who
   *     moved, or the chat fact's kind ("dog")
   * @param answers true for the statement whose value is the expected answer (in fact tracking and
   *     chat: the latest statement about the one asked for)
   */
  public record Needle(
      int start, int length, int valueStart, String value, String label, boolean answers) {}

  public RetrievalDocument {
    needles = List.copyOf(needles);
    if (promptStart <= 0 || promptStart >= tokens.length) {
      throw new IllegalArgumentException(
          "promptStart " + promptStart + " outside 1.." + (tokens.length - 1));
    }
    if (needles.stream().filter(Needle::answers).count() != 1) {
      throw new IllegalArgumentException("exactly one needle must answer the question");
    }
  }

  /** The tokens before the question prompt (BOS and the haystack). */
  public int[] context() {
    return Arrays.copyOfRange(tokens, 0, promptStart);
  }

  /** The question prompt's tokens, after which the answer is generated. */
  public int[] prompt() {
    return Arrays.copyOfRange(tokens, promptStart, tokens.length);
  }

  /** The statement that holds the answer. */
  public Needle answering() {
    return needles.stream().filter(Needle::answers).findFirst().orElseThrow();
  }

  /** Tokens from the start of the answering statement to the start of the prompt. */
  public int distance() {
    return promptStart - answering().start();
  }

  /** Whether a generation (the text after the prompt) answers correctly. */
  public boolean correct(String generated) {
    return firstWord(generated).equals(expected);
  }

  /**
   * The first word of a generation: leading whitespace skipped, then letters and digits, with a
   * hyphen kept only between two of them; "" if the text starts otherwise.
   */
  public static String firstWord(String generated) {
    int i = 0;
    while (i < generated.length() && Character.isWhitespace(generated.charAt(i))) {
      i++;
    }
    int start = i;
    while (i < generated.length()) {
      char c = generated.charAt(i);
      if (Character.isLetterOrDigit(c)) {
        i++;
      } else if (c == '-'
          && i > start
          && i + 1 < generated.length()
          && Character.isLetterOrDigit(generated.charAt(i + 1))) {
        i++;
      } else {
        break;
      }
    }
    return generated.substring(start, i);
  }

  @Override
  public String toString() {
    return "RetrievalDocument["
        + task
        + ", "
        + tokens.length
        + " tokens, prompt at "
        + promptStart
        + ", expected "
        + expected
        + ", depth "
        + depth
        + ", needles "
        + needles
        + "]";
  }
}
