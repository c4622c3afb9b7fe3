package io.infinistreams.model;

/** How a full segment is written into a head's memory (INFINI_ATTENTION.md, step 3). */
public enum UpdateRule {
  /** Paper eq. 8: M += sigma(K)^T V. */
  LINEAR,
  /** Paper eq. 9: M += sigma(K)^T (V - sigma(K) M / (sigma(K) z + eps)). */
  DELTA,
  /**
   * Error-correcting with a bounded memory (not in the paper; docs/model.md, "Why a bounded
   * update"): with unit-length key features k^ = sigma(K) / |sigma(K)|,
   * M += eta k^^T (V - k^ M), eta = 1 / max_i sum_j |k^_i . k^_j|. eta bounds the step by the
   * Gram matrix's largest eigenvalue (Gershgorin), so each write is a contraction towards
   * storing the segment's associations: content the memory already predicts writes nothing,
   * and M converges on repetitive text instead of growing with the stream as under {@link
   * #DELTA}, where every write adds V minus an average whose scale the growing z keeps down.
   * z is still accumulated (the state's format) but not used. Needs the {@code NORMALIZED}
   * or {@code UNIT} read.
   */
  BOUNDED,
  /**
   * The delta rule applied token by token, as DeltaNet does (not in the paper; docs/model.md,
   * "Why a sequential update"): with unit-length key features k^_i, for i = 1..N in order,
   * u_i = v_i - k^_i M, M += k^_i^T u_i. Each token is stored exactly (k^_i M = v_i right after its
   * write) and later writes disturb it only through their own error, which is zero for content
   * the memory already predicts: repetitive text stops writing, and M stays bounded by the
   * values. Computed for the whole segment at once: U = (I + tril(K^ K^^T, -1))^-1 (V - K^ M),
   * M += K^^T U. z is still accumulated but not used. Needs the {@code NORMALIZED} or
   * {@code UNIT} read.
   */
  SEQUENTIAL,
  /**
   * {@link #SEQUENTIAL} with a learned write strength per token and head (not in the paper;
   * docs/model.md, "Why a gated write"): beta_i = s(h_i w_beta + b_beta) in (0, 1), with the rational
   * sigmoid s(x) = (1 + x / (1 + |x|)) / 2 and h_i the token's normalised layer input, and u_i = beta_i (v_i - k^_i M), M += k^_i^T u_i: DeltaNet's
   * beta. A token the model does not need later (filler) can write almost nothing, so a long
   * stretch of it leaves M, and what M holds, nearly as it was; under SEQUENTIAL every token
   * overwrites the part of M along its key in full. In closed form per block:
   * U = (I + diag(beta) tril(K^ K^^T, -1))^-1 diag(beta) (V - K^ M). Adds the parameters
   * {@code attn.write} (D, H) and {@code attn.write_bias} (H) per layer. Needs the
   * {@code NORMALIZED} or {@code UNIT} read.
   */
  GATED;

  /** Whether the rule writes unit-length keys token by token (SEQUENTIAL or GATED). */
  public boolean sequential() {
    return this == SEQUENTIAL || this == GATED;
  }
}
