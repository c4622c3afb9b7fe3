package io.infinistreams.model;

/**
 * What {@link InfiniModel#generate} returns.
 *
 * @param state the stream's new state: prompt and generated tokens are in its context
 * @param generated the generated tokens (EOS included if it stopped there)
 * @param segmentsCompressed full segments written into memory during the call
 */
public record GenerateResult(StreamState state, int[] generated, int segmentsCompressed) {}
