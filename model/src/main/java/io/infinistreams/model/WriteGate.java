package io.infinistreams.model;

/**
 * The squashing function s of the {@link UpdateRule#GATED} write strength
 * beta = s(h w_beta + b_beta) (docs/model.md, "Why a gated write").
 */
public enum WriteGate {
  /**
   * s(x) = (1 + x / (1 + |x|)) / 2: only exactly rounded operations. Its tail is heavy: s(x) is
   * about 1 / (2|x|) for large negative x, so a write strength of 1e-3 needs x = -500, and the
   * strengths a trained model reaches stay above a few per cent. Over a million filler tokens
   * such writes still erode a needle.
   */
  RATIONAL,
  /**
   * The logistic sigmoid 1 / (1 + e^-x), DeltaNet's: exponentially small for negative x (1e-6 at
   * x = -14), so a model can leave M as it was across any length of filler. libtorch's vectorised
   * exp rounds an element by where it falls in its buffer, so it is computed on each stream's row
   * alone (a buffer of the same size and start whatever the batch): absorbAll still equals
   * absorb bit for bit.
   */
  LOGISTIC
}
