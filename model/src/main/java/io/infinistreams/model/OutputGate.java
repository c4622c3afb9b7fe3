package io.infinistreams.model;

/**
 * How a head mixes its two branches (eq. 10), A = g A_mem + (1 - g) A_dot (docs/model.md, "Why a
 * content gate").
 */
public enum OutputGate {
  /** The paper's: one learned g = sigmoid(beta) per (layer, head), the same for every token. */
  STATIC,
  /**
   * Not in the paper: g = sigmoid(beta + A_mem . w_mem + A_dot . w_dot) per token and head, so a
   * head can trust its memory read for one token and its local attention for the next, by what
   * each branch returned. w (H, 2V) is initialised to 0, so a fresh CONTENT gate computes what
   * the STATIC one does and a STATIC model can be continued with it. The logistic sigmoid runs
   * on each stream's row alone (see {@link WriteGate#LOGISTIC}): absorbAll still equals absorb
   * bit for bit.
   */
  CONTENT,
  /**
   * CONTENT with the layer's normalised input h as a third input: g = sigmoid(beta + A_mem .
   * w_mem + A_dot . w_dot + h . w_in), w_in (H, D) initialised to 0, so a CONTENT (or STATIC)
   * model can be continued with it. h is what the token is and, above layer 0, what the layers
   * below found: what the question's position needs to know to choose between a memory read and
   * a key in local view.
   */
  CONTENT_INPUT,
  /**
   * A per-token gate that reads only the local branch: g = sigmoid(beta + A_dot . w_dot), w_dot
   * (H, V) initialised to 0. Local attention tells the gate whether a key is in view; the memory
   * read, which grows noisier as a stream's memory fills, cannot move it (CONTENT's gate, which
   * reads A_mem too, loses needles deep in 1M-token streams: docs/evaluation.md, session 13).
   */
  CONTENT_LOCAL;

  /** Whether g is computed per token (CONTENT, CONTENT_INPUT, CONTENT_LOCAL) rather than once per head. */
  public boolean perToken() {
    return this != STATIC;
  }

  /** Whether a per-token gate reads the memory branch A_mem (CONTENT, CONTENT_INPUT). */
  public boolean readsMemory() {
    return perToken() && this != CONTENT_LOCAL;
  }

  /**
   * Width of a per-token gate's weights on the branches per head: 2V ([w_mem w_dot]) when it
   * reads both, V (w_dot) under CONTENT_LOCAL.
   */
  public long branchWeights(int dValue) {
    return readsMemory() ? 2L * dValue : dValue;
  }

  /** Whether the gate reads the layer's input h (CONTENT_INPUT). */
  public boolean readsInput() {
    return this == CONTENT_INPUT;
  }
}
