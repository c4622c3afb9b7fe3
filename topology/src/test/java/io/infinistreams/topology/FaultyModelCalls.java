package io.infinistreams.topology;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.OpenSegmentCache;
import io.infinistreams.model.StreamState;

/** The model's calls, with a fault that can be armed to be thrown by the n-th call from now. */
final class FaultyModelCalls implements ModelCalls {
  private final ModelCalls model;
  private RuntimeException fault;
  private int callsBeforeFault;

  FaultyModelCalls(InfiniModel model) {
    this.model = ModelCalls.of(model);
  }

  /** The {@code n}-th model call from now (1 = the next) throws {@code e}, once. */
  void failCall(int n, RuntimeException e) {
    this.fault = e;
    this.callsBeforeFault = n - 1;
  }

  private void maybeFail() {
    if (fault == null) {
      return;
    }
    if (callsBeforeFault-- == 0) {
      RuntimeException e = fault;
      fault = null;
      throw e;
    }
  }

  @Override
  public AbsorbResult absorb(
      StreamState state, int[] tokens, boolean score, OpenSegmentCache cache) {
    maybeFail();
    return model.absorb(state, tokens, score, cache);
  }

  @Override
  public GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings) {
    maybeFail();
    return model.generate(state, prompt, settings);
  }
}
