package io.infinistreams.app.runtime;

/** What {@code infini demo} asks: makes each run's document. */
public interface DemoTask {

  /** The task's name, as {@code --task} gives it; also the default stream id's prefix. */
  String name();

  /**
   * The document of a run: exactly {@code lengthTokens} tokens of context and question together,
   * the answer at {@code depth} (0 start .. 1 end), a function of its arguments.
   *
   * @throws IllegalArgumentException if the document cannot fit into that length
   */
  DemoDocument document(int lengthTokens, double depth, long seed);

  /** Tokens generated for the answer unless {@code --max-tokens} says otherwise. */
  int defaultMaxTokens();
}
