package io.infinistreams.training.eval;

import io.infinistreams.model.InfiniModel;

/**
 * Held-out language modelling: bits per byte of a text absorbed as one stream, from {@link
 * InfiniModel#absorb} with scoring (every byte's log-probability given everything before it, memory
 * included). Byte tokens are bytes, so bits per token = bits per byte.
 */
public final class LmEval {

  /**
   * @param bitsPerByte over all scored bytes
   * @param firstSegmentBpb over the bytes of the first segment (no memory to read yet)
   * @param laterBpb over the bytes after the first segment
   * @param bytes bytes scored
   */
  public record Result(double bitsPerByte, double firstSegmentBpb, double laterBpb, int bytes) {}

  private LmEval() {}

  public static Result run(InfiniModel model, int[] text) {
    float[] lp = model.absorb(model.newState(), text, true).logProbs();
    int n = model.config().segmentLength();
    double all = 0;
    double first = 0;
    double later = 0;
    int firstCount = 0;
    int laterCount = 0;
    for (int i = 0; i < lp.length; i++) {
      double bits = -lp[i] / Math.log(2);
      all += bits;
      // token i of the text sits at stream position i + 1 (BOS is position 0)
      if (i + 1 < n) {
        first += bits;
        firstCount++;
      } else {
        later += bits;
        laterCount++;
      }
    }
    return new Result(
        all / lp.length,
        first / Math.max(1, firstCount),
        later / Math.max(1, laterCount),
        lp.length);
  }
}
