package io.infinistreams.app.runtime;

/**
 * One document of {@code infini demo}: the text streamed as APPEND events, the question asked after
 * it (a GENERATE in RAW format), and how the reply is graded.
 */
public interface DemoDocument {

  /** The text streamed into the stream, as UTF-8 (one token per byte). */
  String context();

  /** The question, sent as the prompt of a GENERATE in RAW format. */
  String prompt();

  /** The answer the model should give, e.g. {@code "48213"}. */
  String expected();

  /** Byte offset in {@link #context()} of the statement that holds the answer. */
  int needleOffset();

  /**
   * What lies at the demo's depth, for the document line: {@code ", needle"} in {@code "3,000
   * tokens, needle at depth 0.30"}.
   */
  String describe();

  /** Whether {@code reply} (the text generated after the prompt) is the right answer. */
  boolean correct(String reply);

  /**
   * Why a wrong reply is wrong, e.g. {@code " (no number in the answer)"}; "" if nothing to say.
   */
  String whyWrong(String reply);
}
