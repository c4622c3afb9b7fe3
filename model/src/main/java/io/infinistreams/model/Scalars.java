package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Products and quotients of a tensor and a constant that are safe to differentiate.
 *
 * <p>DJL's {@code mul(Number)} and {@code div(Number)} (PyTorch engine, 0.36) wrap the number in a
 * tensor over a Java direct buffer ({@code from_blob}, memory libtorch does not own) and close that
 * tensor as soon as the call returns. Autograd keeps the tensor for the backward pass (the gradient
 * of x * c is g * c); once the buffer is unreachable the next garbage collection frees the memory
 * under it, and the backward pass multiplies by whatever is there now: gradients off in the fifth
 * digit, or 1e19, or NaN, depending on when the collector ran. Here the constant is made by
 * libtorch ({@code full}), which owns its memory, so autograd's reference keeps it alive. The
 * result is bit for bit the same as {@code x.mul(c)}: libtorch rounds a scalar operand to the
 * tensor's type either way.
 *
 * <p>Use these in every computation a gradient may flow through. {@code add(Number)} and {@code
 * sub(Number)} are safe (their backward pass needs no operand).
 */
public final class Scalars {

  private Scalars() {}

  /** x * c, with c owned by libtorch. */
  public static NDArray mul(NDArray x, float c) {
    try (NDArray k = constant(x, c)) {
      return x.mul(k);
    }
  }

  /** x / c, with c owned by libtorch. */
  public static NDArray div(NDArray x, float c) {
    try (NDArray k = constant(x, c)) {
      return x.div(k);
    }
  }

  /** A 0-d tensor of x's type in x's manager; closing its handle leaves the storage to libtorch. */
  private static NDArray constant(NDArray x, float c) {
    return x.getManager().full(new Shape(), c, x.getDataType());
  }
}
