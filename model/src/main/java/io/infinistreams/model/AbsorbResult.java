package io.infinistreams.model;

/**
 * What {@link InfiniModel#absorb} returns.
 *
 * @param state the stream's new state
 * @param logProbs natural-log probability of each absorbed token given everything before it, or
 *     null when scoring was not requested
 * @param segmentsCompressed full segments written into memory by this call
 * @param writeStrengths (L*H, layer-major) each head's mean write strength beta over the tokens of
 *     the segments this call compressed ({@link InfiniTransformer.Memory#strengths}), or null when
 *     it compressed none or the model's update rule has no write strength
 */
public record AbsorbResult(
    StreamState state, float[] logProbs, int segmentsCompressed, float[] writeStrengths) {

  /** A result without write strengths. */
  public AbsorbResult(StreamState state, float[] logProbs, int segmentsCompressed) {
    this(state, logProbs, segmentsCompressed, null);
  }
}
