package io.infinistreams.model;

/**
 * How the {@link UpdateRule#GATED} write turns a token's write logit x_t = h_t w_write + b_write
 * into its write strength beta_t.
 */
public enum WriteGate {
  /** beta_t = logistic(x_t), in (0, 1): every token writes a little, however weakly. */
  LOGISTIC,
  /**
   * beta_t = max(0, tanh(x_t / 2)) = max(0, 2 logistic(x_t) - 1), in [0, 1): a token whose logit is
   * not positive writes nothing at all, so text the model does not choose to keep leaves the memory
   * exactly as it was, however long it runs. Continuous in x_t; its true gradient below 0 is 0, so
   * training passes a straight-through gradient of small slope there instead (the strength stays
   * exactly 0).
   */
  SPARSE;

  /**
   * beta of the logit {@code x}, in double (the inference path rounds it to fp32); StrictMath, so
   * the same bits on every machine.
   */
  public double strength(double x) {
    return switch (this) {
      case LOGISTIC -> 1.0 / (1.0 + StrictMath.exp(-x));
      case SPARSE -> x > 0 ? 2.0 / (1.0 + StrictMath.exp(-x)) - 1.0 : 0.0; // tanh(x / 2)
    };
  }
}
