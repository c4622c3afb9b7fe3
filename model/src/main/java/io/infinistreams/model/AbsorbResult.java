package io.infinistreams.model;

/**
 * What {@link InfiniModel#absorb} returns.
 *
 * @param state the stream's new state
 * @param logProbs natural-log probability of each absorbed token given everything before it, or
 *     null when scoring was not requested
 * @param segmentsCompressed full segments written into memory by this call
 */
public record AbsorbResult(StreamState state, float[] logProbs, int segmentsCompressed) {}
