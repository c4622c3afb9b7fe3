package io.infinistreams.model;

/** How a full segment is written into a head's memory (INFINI_ATTENTION.md, step 3). */
public enum UpdateRule {
  /** Paper eq. 8: M += sigma(K)^T V. */
  LINEAR,
  /** Paper eq. 9: M += sigma(K)^T (V - sigma(K) M / (sigma(K) z + eps)). */
  DELTA
}
