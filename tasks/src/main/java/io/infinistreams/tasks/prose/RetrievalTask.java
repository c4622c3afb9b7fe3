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
}
