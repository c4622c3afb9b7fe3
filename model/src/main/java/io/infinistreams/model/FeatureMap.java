package io.infinistreams.model;

/**
 * The feature map sigma applied to the pre-RoPE queries and keys before the memory reads or writes
 * them (the local branch never uses it).
 */
public enum FeatureMap {
  /**
   * The paper's sigma(x) = ELU(x) + 1: positive features, so that the paper's read sigma(Q) M /
   * (sigma(Q) z) has a positive denominator. Every key then lies in the positive orthant: two keys
   * of unrelated content still overlap (their unit vectors' cosine is large), so under the delta
   * rule every write also erases part of what unrelated keys stored.
   */
  ELU_PLUS_ONE,
  /**
   * sigma(x) = x: signed features. Under the GATED rule the write uses the unit key k / sqrt(|k|^2
   * + eps) and the NORMALIZED read does not depend on the query's scale, so keys of unrelated
   * content are close to orthogonal (a cosine near 0 rather than near 1) and a write disturbs
   * little of what other keys stored. Requires the GATED update and the NORMALIZED read (the
   * paper's read divides by sigma(Q) z, which signed features can bring to 0).
   */
  IDENTITY
}
