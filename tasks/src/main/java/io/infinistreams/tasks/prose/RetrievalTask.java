package io.infinistreams.tasks.prose;

import io.infinistreams.tasks.Task;
import java.util.Random;

/**
 * A task whose samples ask for something stated earlier in the stream, and which can also make
 * evaluation trials: the same document, cut at the question prompt, with the answer and the
 * positions of the statements reported apart ({@link RetrievalDocument}).
 *
 * <p>A task evaluates generalisation when built with {@link Phrasing#EVAL} (templates and value
 * lists training never used) and a held-out {@link ProseSource}.
 */
public interface RetrievalTask extends Task {

  /** The template share this task draws from. */
  Phrasing phrasing();

  /**
   * A trial of exactly {@code lengthTokens} tokens (BOS, haystack, question prompt) whose answering
   * statement lies at {@code depth} (0 = start of the haystack, 1 = its end; {@code Double.NaN} for
   * a uniform depth, as in training).
   *
   * @throws IllegalArgumentException if the trial cannot fit into that length
   */
  RetrievalDocument document(Random rng, int lengthTokens, double depth);

  /** The retrieval tasks, as the evaluation and the demo name them. */
  java.util.List<String> NAMES =
      java.util.List.of("needle", "multikey", "multikey-near", "facts", "chat-facts");

  /**
   * The evaluation build of task {@code name} ({@link #NAMES}) on {@code prose}: the {@link
   * Phrasing#EVAL} share of templates and values (loss weights play no part here).
   *
   * @throws IllegalArgumentException for a name not in {@link #NAMES}
   */
  static RetrievalTask evaluation(String name, ProseSource prose) {
    return evaluation(name, prose, Phrasing.EVAL);
  }

  /**
   * Task {@code name} ({@link #NAMES}) on {@code prose} with the {@code phrasing} share, trials
   * drawn as in evaluation: {@link Phrasing#TRAIN} tells apart what a model cannot retrieve from
   * what it cannot read in words it was never trained on.
   *
   * @throws IllegalArgumentException for a name not in {@link #NAMES}
   */
  static RetrievalTask evaluation(String name, ProseSource prose, Phrasing phrasing) {
    return switch (name) {
      case "needle" -> new NeedleTask(prose, phrasing, 1f);
      case "multikey" -> new MultiKeyTask(prose, phrasing, 1f, false);
      case "multikey-near" -> new MultiKeyTask(prose, phrasing, 1f, true);
      case "facts" -> new FactTrackingTask(prose, phrasing, 1f);
      case "chat-facts" -> new ChatFactTask(prose, phrasing, 1f);
      default ->
          throw new IllegalArgumentException(
              "no retrieval task " + name + " (tasks: " + String.join(", ", NAMES) + ")");
    };
  }
}
