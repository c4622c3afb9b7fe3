package io.infinistreams.topology;

import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between the model's state values and the stored Avro records. Bit-exact: floats are
 * copied as raw IEEE-754 bits (fp32, little-endian), so a memory read back equals, byte for byte,
 * the memory written.
 */
final class StateCodec {
  /** Layout version written into {@link StoredSession#getFormatVersion()}. */
  static final int FORMAT_VERSION = 1;

  private StateCodec() {}

  static StoredSession toSession(StreamState state, long lastSeq, String fingerprint) {
    return toSession(state, lastSeq, fingerprint, 0L);
  }

  /** The session record of {@code state}, applied last at {@code appliedMillis} (wall clock). */
  static StoredSession toSession(
      StreamState state, long lastSeq, String fingerprint, long appliedMillis) {
    return StoredSession.newBuilder()
        .setFormatVersion(FORMAT_VERSION)
        .setOpenTokens(toList(state.openTokens()))
        .setContextTokens(toList(state.contextTokens()))
        .setLastSeq(lastSeq)
        .setTokensAbsorbed(state.tokensAbsorbed())
        .setSegmentsAbsorbed(state.segmentsAbsorbed())
        .setModelFingerprint(fingerprint)
        .setLastAppliedMillis(appliedMillis)
        .build();
  }

  static StoredHeadMemory toStored(int layer, int head, HeadMemory memory, String fingerprint) {
    return StoredHeadMemory.newBuilder()
        .setLayer(layer)
        .setHead(head)
        .setDKey(memory.dKey())
        .setDValue(memory.dValue())
        .setM(floatsToBytes(memory.m()))
        .setZ(floatsToBytes(memory.z()))
        .setUpdates(memory.updates())
        .setModelFingerprint(fingerprint)
        .build();
  }

  /**
   * The head memory of a stored record.
   *
   * @throws IllegalArgumentException if its sizes do not match its declared shape
   */
  static HeadMemory fromStored(StoredHeadMemory stored) {
    return new HeadMemory(
        stored.getDKey(),
        stored.getDValue(),
        bytesToFloats(stored.getM()),
        bytesToFloats(stored.getZ()),
        stored.getUpdates());
  }

  /**
   * Rebuilds a stream's state. A session without context tokens (written before they were stored)
   * fits only a model without overlap; for one with overlap it is rejected like any other shape
   * mismatch, since the tokens its open segment attends to are lost.
   *
   * @param memories index {@code layer * heads + head}
   * @throws IllegalArgumentException if the parts do not fit {@code config}, e.g. the context
   *     length is not the model's overlap
   */
  static StreamState toState(ModelConfig config, StoredSession session, List<HeadMemory> memories) {
    if (session.getFormatVersion() != FORMAT_VERSION) {
      throw new IllegalArgumentException(
          "stored session has format version "
              + session.getFormatVersion()
              + ", this processor reads "
              + FORMAT_VERSION);
    }
    return StreamState.of(
        config,
        memories,
        toArray(session.getContextTokens()),
        toArray(session.getOpenTokens()),
        session.getTokensAbsorbed(),
        session.getSegmentsAbsorbed());
  }

  /**
   * Checks that the session's open and context tokens are in the model's vocabulary and the open
   * segment is not longer than a segment (a session from outside the processor: an import).
   *
   * @throws IllegalArgumentException if not
   */
  static void checkTokens(ModelConfig config, StoredSession session) {
    if (session.getOpenTokens().size() > config.segmentLength()) {
      throw new IllegalArgumentException(
          "open segment of "
              + session.getOpenTokens().size()
              + " tokens, longer than a segment ("
              + config.segmentLength()
              + ")");
    }
    for (List<Integer> tokens : List.of(session.getOpenTokens(), session.getContextTokens())) {
      for (int t : tokens) {
        if (t < 0 || t >= config.vocabSize()) {
          throw new IllegalArgumentException(
              "token " + t + " outside the vocabulary of " + config.vocabSize());
        }
      }
    }
  }

  private static List<Integer> toList(int[] tokens) {
    List<Integer> list = new ArrayList<>(tokens.length);
    for (int t : tokens) {
      list.add(t);
    }
    return list;
  }

  private static int[] toArray(List<Integer> tokens) {
    int[] array = new int[tokens.size()];
    for (int i = 0; i < array.length; i++) {
      array[i] = tokens.get(i);
    }
    return array;
  }

  static ByteBuffer floatsToBytes(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      buf.putInt(Float.floatToRawIntBits(v));
    }
    return buf.flip();
  }

  static float[] bytesToFloats(ByteBuffer bytes) {
    ByteBuffer buf = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (buf.remaining() % 4 != 0) {
      throw new IllegalArgumentException("float32 array of " + buf.remaining() + " bytes");
    }
    float[] values = new float[buf.remaining() / 4];
    for (int i = 0; i < values.length; i++) {
      values[i] = Float.intBitsToFloat(buf.getInt());
    }
    return values;
  }
}
