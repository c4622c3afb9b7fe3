package io.infinistreams.model;

/**
 * The feature map s(.) the memory applies to a head's pre-RoPE queries and keys before it reads
 * (eq. 7) and writes (eq. 8/9) (INFINI_ATTENTION.md, step 2). The local branch never sees it.
 */
public enum KeyFeatures {
  /**
   * The paper's s(x) = ELU(x) + 1: every feature is positive, which the PAPER read's and eq. 9's
   * denominators s(Q) z need. Every key then lies in the positive orthant, so any two keys have a
   * positive, typically large, cosine: each write disturbs what every earlier key stored
   * (docs/model.md, "Why signed keys").
   */
  ELU_PLUS_ONE,
  /**
   * The identity, as DeltaNet's keys (not in the paper; docs/model.md, "Why signed keys"): under
   * the rules that normalise keys to unit length (BOUNDED, SEQUENTIAL, GATED) this is the
   * L2-normalised projection, and under the NORMALIZED or UNIT read a query's length cancels.
   * Signed keys can be orthogonal, so the model can keep filler and what it must remember in
   * different directions of M. z still sums the (now signed) keys; no rule that allows these
   * features reads it. Needs a unit-key rule and the NORMALIZED or UNIT read.
   */
  SIGNED
}
