package io.infinistreams.model;

/** How a segment's queries read a head's memory (INFINI_ATTENTION.md, step 2). */
public enum MemoryRead {
  /** Paper eq. 7: sigma(Q) M / (sigma(Q) z + eps). Its scale shrinks as z grows with the stream. */
  PAPER,
  /**
   * Length-robust: RMS-normalise sigma(Q) M per token and head over the value dimension, times a
   * learned per-head gain. Its scale does not depend on how many tokens the memory has seen.
   */
  NORMALIZED
}
