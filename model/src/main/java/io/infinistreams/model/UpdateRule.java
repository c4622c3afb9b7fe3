package io.infinistreams.model;

/**
 * How a full segment is written into a head's memory M (K x V) and normaliser z (K). Every rule
 * writes after the segment's read, with the pre-RoPE keys, and accumulates z += sum_t sigma(k_t).
 */
public enum UpdateRule {
  /** The paper's linear update (eq. 8): M += sigma(K)^T V. */
  LINEAR,
  /** The paper's delta update (eq. 9): M += sigma(K)^T (V - sigma(K) M / (sigma(K) z + eps)). */
  DELTA,
  /**
   * The gated delta rule, token by token (DeltaNet's beta; the shipped model's rule). With unit key
   * features k^_t = sigma(k_t) / sqrt(|sigma(k_t)|^2 + eps) and a learned write strength per token
   * and head beta_t = gate(h_t w_write + b_write) in [0, 1) ({@link WriteGate}: logistic, or
   * sparse), for t = 1..N in order: M += beta_t k^_t^T (v_t - k^_t M). A token is stored in
   * proportion to its strength, and content the memory already predicts writes nothing, so M stays
   * bounded on any stream. Adds the parameters {@code attn.write} (D, H) and {@code
   * attn.write_bias} (H) per layer.
   */
  GATED
}
