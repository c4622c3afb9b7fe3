package io.infinistreams.model;

import java.nio.file.Path;

/**
 * The Infini-Transformer as the streaming layer sees it: immutable weights plus pure step
 * functions {@code (weights, state, input) -> (state', output)}. Thread-safe: any number of
 * threads may call {@link #absorb} and {@link #generate} at once; each call scopes its own native
 * memory and releases it before returning.
 *
 * <p>Lifecycle: create with {@link #create} (random weights) or {@link #load} (a checkpoint), use,
 * then {@link #close()} to free the weights' native memory.
 *
 * <p>Determinism: the memory after a sequence of calls depends only on the concatenated tokens,
 * never on how they were split into calls: memory is written only when a segment is full, and a
 * full segment is always computed by the same code on the same shapes.
 */
public final class InfiniModel implements AutoCloseable {

  private InfiniModel() {}

  /** A model with weights drawn from {@code seed} (deterministic). */
  public static InfiniModel create(ModelConfig config, long seed) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Loads a checkpoint directory written by {@link #save}. */
  public static InfiniModel load(Path checkpointDir) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Writes {@code model.safetensors} and {@code manifest.json} into {@code checkpointDir}. */
  public void save(Path checkpointDir, String howMade) {
    throw new UnsupportedOperationException("TODO");
  }

  public ModelConfig config() {
    throw new UnsupportedOperationException("TODO");
  }

  /** SHA-256 (hex) of the weights: identifies the model that wrote a memory. */
  public String fingerprint() {
    throw new UnsupportedOperationException("TODO");
  }

  /** The state of a new stream. */
  public StreamState newState() {
    return StreamState.initial(config());
  }

  /**
   * Appends {@code tokens} to the stream's context: every time the open segment fills, runs it
   * (memory read, local attention), writes it into memory, and keeps the rest open.
   *
   * @param score also return each new token's log-probability (costs a forward pass over the
   *              open segment's remainder)
   */
  public AbsorbResult absorb(StreamState state, int[] tokens, boolean score) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Appends {@code prompt}, then decodes up to {@code settings.maxNewTokens()} tokens reading
   * memory and attending over the open segment (KV cache). Generated tokens join the context; a
   * segment that fills is compressed into memory exactly as absorbed text would be.
   */
  public GenerateResult generate(StreamState state, int[] prompt, GenerationSettings settings) {
    throw new UnsupportedOperationException("TODO");
  }

  @Override
  public void close() {}
}
