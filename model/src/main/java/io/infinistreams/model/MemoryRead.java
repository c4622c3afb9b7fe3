package io.infinistreams.model;

/** How a segment's queries read a head's memory (INFINI_ATTENTION.md, step 2). */
public enum MemoryRead {
  /** Paper eq. 7: sigma(Q) M / (sigma(Q) z + eps). Its scale shrinks as z grows with the stream. */
  PAPER,
  /**
   * Length-robust: RMS-normalise sigma(Q) M per token and head over the value dimension, times a
   * learned per-head gain. Its scale does not depend on how many tokens the memory has seen.
   */
  NORMALIZED,
  /**
   * DeltaNet's read (not in the paper): unit-length query features, no normaliser,
   * sigma(Q) / |sigma(Q)| M. With the unit keys of {@link UpdateRule#SEQUENTIAL} a query equal
   * to a stored key reads back its value, and a query that matches nothing reads little: the
   * read's size carries how much the memory knows, where NORMALIZED scales every read, an empty
   * or unrelated one too, to the same size. Needs SEQUENTIAL or BOUNDED, whose M stays bounded.
   */
  UNIT
}
