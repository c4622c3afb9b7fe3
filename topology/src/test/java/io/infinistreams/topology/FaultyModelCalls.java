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
  private Throwable fault; // a RuntimeException or an Error
  private int callsBeforeFault;

  FaultyModelCalls(InfiniModel model) {
    this.model = ModelCalls.of(model);
  }

  /** The {@code n}-th model call from now (1 = the next) throws {@code e}, once. */
  void failCall(int n, RuntimeException e) {
    this.fault = e;
    this.callsBeforeFault = n - 1;
  }

  /** The {@code n}-th model call from now (1 = the next) throws {@code e}, once. */
  void failCall(int n, Error e) {
    this.fault = e;
    this.callsBeforeFault = n - 1;
  }

  /** Forgets an armed fault. */
  void disarm() {
    fault = null;
  }

  /** Whether a fault is armed and not yet thrown. */
  boolean armed() {
    return fault != null;
  }

  private void maybeFail() {
    if (fault == null) {
      return;
    }
    if (callsBeforeFault-- == 0) {
      Throwable e = fault;
      fault = null;
      if (e instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) e;
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
