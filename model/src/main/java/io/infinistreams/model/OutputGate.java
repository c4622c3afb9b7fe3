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
  CONTENT
}
