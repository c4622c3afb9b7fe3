package io.infinistreams.topology;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.OpenSegmentCache;
import io.infinistreams.model.StreamState;

/**
 * The model calls the processor makes while applying an event: the seam where tests inject faults.
 * {@link #of} calls the model itself.
 */
interface ModelCalls {
  /** {@link InfiniModel#absorb(StreamState, int[], boolean, OpenSegmentCache)}. */
  AbsorbResult absorb(StreamState state, int[] tokens, boolean score, OpenSegmentCache cache);

  GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings);

  static ModelCalls of(InfiniModel model) {
    return new ModelCalls() {
      @Override
      public AbsorbResult absorb(
          StreamState state, int[] tokens, boolean score, OpenSegmentCache cache) {
        return model.absorb(state, tokens, score, cache);
      }

      @Override
      public GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings) {
        return model.generate(state, prompt, settings);
      }
    };
  }
}
