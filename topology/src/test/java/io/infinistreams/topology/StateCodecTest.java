package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StateCodecTest {

  @Test
  void headMemoryIsBitExactThroughTheSerde() {
    Random random = new Random(1);
    float[] m = new float[8 * 8];
    for (int i = 0; i < m.length; i++) {
      m[i] = (float) random.nextGaussian();
    }
    m[0] = -0.0f;
    m[1] = Float.intBitsToFloat(0x7fc00123); // a NaN with a payload
    m[2] = Float.MIN_VALUE;
    float[] z = new float[8];
    z[3] = Float.MAX_VALUE;
    HeadMemory memory = new HeadMemory(8, 8, m, z, 17);
    StoredHeadMemory stored = StateCodec.toStored(1, 0, memory, "fp");
    byte[] bytes = InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", stored);
    HeadMemory back =
        StateCodec.fromStored(InfiniTopology.HEAD_MEMORY_SERDE.deserialize("t", bytes));
    assertArrayEquals(memory.toBytes(), back.toBytes());
    assertEquals(17, back.updates());
  }

  @Test
  void sessionRebuildsTheState() {
    ModelConfig config = ModelConfig.tiny().withOverlap(0);
    List<HeadMemory> memories = memories(config);
    StreamState state = StreamState.of(config, memories, new int[] {1, 2, 300 - 40}, 35, 2);
    StoredSession session = StateCodec.toSession(state, 9, "fp");
    StoredSession back =
        InfiniTopology.SESSION_SERDE.deserialize(
            "t", InfiniTopology.SESSION_SERDE.serialize("t", session));
    assertEquals(9, back.getLastSeq());
    assertTrue(back.getContextTokens().isEmpty(), "no context without overlap");
    assertEquals(state, StateCodec.toState(config, back, memories));
  }

  /** The C context tokens of a model with overlap are stored and come back in order. */
  @Test
  void sessionWithContextRebuildsTheState() {
    ModelConfig config = ModelConfig.tiny().withOverlap(4);
    List<HeadMemory> memories = memories(config);
    int[] context = {104, 0, 263, 7};
    StreamState state = StreamState.of(config, memories, context, new int[] {1, 2, 260}, 35, 2);
    StoredSession back =
        InfiniTopology.SESSION_SERDE.deserialize(
            "t", InfiniTopology.SESSION_SERDE.serialize("t", StateCodec.toSession(state, 9, "fp")));
    assertEquals(List.of(104, 0, 263, 7), back.getContextTokens());
    StreamState rebuilt = StateCodec.toState(config, back, memories);
    assertEquals(state, rebuilt);
    assertArrayEquals(context, rebuilt.contextTokens());
    assertArrayEquals(state.openTokens(), rebuilt.openTokens());
  }

  /**
   * A session without context (written before context was stored, or by a model without overlap)
   * does not fit a model with overlap: rejected with a message naming the mismatch, which the
   * processor dead-letters as STATE_MISMATCH.
   */
  @Test
  void sessionLackingContextIsRejectedForAnOverlapModel() {
    ModelConfig config = ModelConfig.tiny().withOverlap(4);
    List<HeadMemory> memories = memories(config);
    StoredSession session =
        StateCodec.toSession(
            StreamState.of(ModelConfig.tiny().withOverlap(0), memories, new int[] {1, 2}, 35, 2),
            9,
            "fp");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> StateCodec.toState(config, session, memories));
    assertTrue(
        e.getMessage().contains("context") && e.getMessage().contains("overlap"), e.getMessage());
    StoredSession tooLong =
        StoredSession.newBuilder(session).setContextTokens(List.of(1, 2, 3, 4, 5)).build();
    assertThrows(
        IllegalArgumentException.class, () -> StateCodec.toState(config, tooLong, memories));
  }

  @Test
  void wrongShapesAreRejected() {
    StoredHeadMemory stored =
        new StoredHeadMemory(
            0, 0, 8, 8, ByteBuffer.allocate(12), ByteBuffer.allocate(32), 0L, "fp");
    assertThrows(IllegalArgumentException.class, () -> StateCodec.fromStored(stored));
  }

  /** One memory per (layer, head), each with a distinct entry. */
  private static List<HeadMemory> memories(ModelConfig config) {
    List<HeadMemory> memories = new ArrayList<>();
    for (int i = 0; i < config.layers() * config.heads(); i++) {
      float[] m = new float[config.dKey() * config.dValue()];
      m[i] = i + 0.5f;
      memories.add(new HeadMemory(config.dKey(), config.dValue(), m, new float[config.dKey()], 2));
    }
    return memories;
  }
}
