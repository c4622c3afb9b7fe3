package io.infinistreams.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The compressive memory of one (layer, head): M (K x V, row-major) and z (K), in fp32, plus the
 * number of segments written into it. A value: never mutated after construction.
 *
 * <p>Byte layout of {@link #toBytes()} (little-endian): int32 K, int32 V, int64 updates, K*V
 * float32 of M, K float32 of z. Its size depends only on K and V, never on the stream's length.
 */
public final class HeadMemory {
  private static final int HEADER_BYTES = 4 + 4 + 8;

  private final int dKey;
  private final int dValue;
  private final float[] m; // (K, V) row-major
  private final float[] z; // (K)
  private final long updates;

  public HeadMemory(int dKey, int dValue, float[] m, float[] z, long updates) {
    if (m.length != dKey * dValue || z.length != dKey) {
      throw new IllegalArgumentException(
          "memory shape mismatch: M has "
              + m.length
              + " floats, z has "
              + z.length
              + ", expected "
              + dKey * dValue
              + " and "
              + dKey);
    }
    this.dKey = dKey;
    this.dValue = dValue;
    this.m = m.clone();
    this.z = z.clone();
    this.updates = updates;
  }

  /** The initial memory: M_0 = 0, z_0 = 0. */
  public static HeadMemory zero(int dKey, int dValue) {
    return new HeadMemory(dKey, dValue, new float[dKey * dValue], new float[dKey], 0);
  }

  public int dKey() {
    return dKey;
  }

  public int dValue() {
    return dValue;
  }

  /** The Frobenius norm of M (how much the memory holds; see docs/model.md on its growth). */
  public double norm() {
    double sq = 0;
    for (float x : m) {
      sq += (double) x * x;
    }
    return Math.sqrt(sq);
  }

  /** A copy of M, (K, V) row-major. */
  public float[] m() {
    return m.clone();
  }

  /** A copy of z, (K). */
  public float[] z() {
    return z.clone();
  }

  /** Segments written into this memory. */
  public long updates() {
    return updates;
  }

  /** Serialized size in bytes for the given head shape. */
  public static int byteSize(int dKey, int dValue) {
    return HEADER_BYTES + 4 * (dKey * dValue + dKey);
  }

  public byte[] toBytes() {
    ByteBuffer buf = ByteBuffer.allocate(byteSize(dKey, dValue)).order(ByteOrder.LITTLE_ENDIAN);
    buf.putInt(dKey).putInt(dValue).putLong(updates);
    buf.asFloatBuffer().put(m).put(z);
    return buf.array();
  }

  public static HeadMemory fromBytes(byte[] bytes) {
    if (bytes.length < HEADER_BYTES) {
      throw new IllegalArgumentException(
          "head memory record too short: " + bytes.length + " bytes");
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int k = buf.getInt();
    int v = buf.getInt();
    long updates = buf.getLong();
    if (k <= 0 || v <= 0 || bytes.length != byteSize(k, v)) {
      throw new IllegalArgumentException(
          "head memory record of "
              + bytes.length
              + " bytes does not match its header K="
              + k
              + ", V="
              + v);
    }
    float[] m = new float[k * v];
    float[] z = new float[k];
    buf.asFloatBuffer().get(m).get(z);
    return new HeadMemory(k, v, m, z, updates);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HeadMemory h
        && h.dKey == dKey
        && h.dValue == dValue
        && h.updates == updates
        && Arrays.equals(h.m, m)
        && Arrays.equals(h.z, z);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(m) * 31 + Arrays.hashCode(z);
  }

  @Override
  public String toString() {
    return "HeadMemory[K=" + dKey + ", V=" + dValue + ", updates=" + updates + "]";
  }
}
