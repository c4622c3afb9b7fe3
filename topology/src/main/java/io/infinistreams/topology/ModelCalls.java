package io.infinistreams.topology;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;

/**
 * The model calls the processor makes while applying an event: the seam where tests inject faults.
 * {@link #of} calls the model itself.
 */
interface ModelCalls {
  AbsorbResult absorb(StreamState state, int[] tokens, boolean score);

  GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings);

  static ModelCalls of(InfiniModel model) {
    return new ModelCalls() {
      @Override
      public AbsorbResult absorb(StreamState state, int[] tokens, boolean score) {
        return model.absorb(state, tokens, score);
      }

      @Override
      public GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings) {
        return model.generate(state, prompt, settings);
      }
    };
  }
}
