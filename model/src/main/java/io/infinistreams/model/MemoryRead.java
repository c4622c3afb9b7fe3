package io.infinistreams.model;

/** How a segment's queries read a head's memory. */
public enum MemoryRead {
  /**
   * The paper's read (eq. 7): sigma(Q) M / (sigma(Q) z + eps). Its scale shrinks as z grows with
   * the stream, so a model trained on short streams reads ever weaker values from long ones.
   */
  PAPER,
  /**
   * Length-robust: sigma(Q) M normalised to unit RMS over V, per token and head, times a learned
   * per-head gain (the shipped model's read). Its scale does not depend on the stream's length.
   */
  NORMALIZED
}
