package io.infinistreams.topology;

import io.infinistreams.schemas.StoredHeadMemory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Key of the memory store: (stream id, layer, head).
 *
 * <p>Bytes (big-endian): int32 length of the stream id's UTF-8, the UTF-8 bytes, int32 layer, int32
 * head. RocksDB orders keys by unsigned bytes, so with the length first, all keys of one stream
 * share a prefix that no other stream's key starts with, and sort by (layer, head) after it: a
 * stream's heads are contiguous, and {@link #first}..{@link #last} is a range that covers exactly
 * them.
 *
 * @param streamId the stream (record key of the input topic)
 * @param layer 0-based layer, non-negative
 * @param head 0-based head within the layer, non-negative
 */
public record MemoryKey(String streamId, int layer, int head) {

  /** Serde of the byte layout above. */
  public static final Serde<MemoryKey> SERDE =
      Serdes.serdeFrom(new KeySerializer(), new KeyDeserializer());

  public MemoryKey {
    Objects.requireNonNull(streamId, "streamId");
    if (layer < 0 || head < 0) {
      throw new IllegalArgumentException("layer and head must be >= 0");
    }
  }

  /** The smallest key of {@code streamId}. */
  public static MemoryKey first(String streamId) {
    return new MemoryKey(streamId, 0, 0);
  }

  /** The largest key of {@code streamId}. */
  public static MemoryKey last(String streamId) {
    return new MemoryKey(streamId, Integer.MAX_VALUE, Integer.MAX_VALUE);
  }

  /**
   * The keys of every stored head memory of {@code streamId} in {@code store}, in (layer, head)
   * order, whether or not their values can be read (a value written by a newer version, or
   * damaged): what deleting the stream must remove. Only on the processor's own store, whose
   * iterator decodes a key alone in {@code peekNextKey} (an interactive-query iterator decodes the
   * value it looks ahead to).
   */
  public static List<MemoryKey> keys(
      ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> store, String streamId) {
    List<MemoryKey> keys = new ArrayList<>();
    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it =
        store.range(first(streamId), last(streamId))) {
      while (it.hasNext()) {
        keys.add(it.peekNextKey());
        try {
          it.next();
        } catch (SerializationException e) {
          // the key is known; the value is not needed
        }
      }
    }
    return keys;
  }

  /** Every stored head memory of {@code streamId} in {@code store}, in (layer, head) order. */
  public static List<KeyValue<MemoryKey, StoredHeadMemory>> heads(
      ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> store, String streamId) {
    List<KeyValue<MemoryKey, StoredHeadMemory>> heads = new ArrayList<>();
    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it =
        store.range(first(streamId), last(streamId))) {
      it.forEachRemaining(heads::add);
    }
    return heads;
  }

  public byte[] toBytes() {
    byte[] id = streamId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(4 + id.length + 8)
        .putInt(id.length)
        .put(id)
        .putInt(layer)
        .putInt(head)
        .array();
  }

  public static MemoryKey fromBytes(byte[] bytes) {
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    int length = buf.getInt();
    if (length < 0 || bytes.length != 4 + length + 8) {
      throw new IllegalArgumentException("not a memory key: " + bytes.length + " bytes");
    }
    String id = new String(bytes, 4, length, StandardCharsets.UTF_8);
    buf.position(4 + length);
    return new MemoryKey(id, buf.getInt(), buf.getInt());
  }

  private static final class KeySerializer implements Serializer<MemoryKey> {
    @Override
    public byte[] serialize(String topic, MemoryKey key) {
      return key == null ? null : key.toBytes();
    }
  }

  private static final class KeyDeserializer implements Deserializer<MemoryKey> {
    @Override
    public MemoryKey deserialize(String topic, byte[] bytes) {
      return bytes == null ? null : fromBytes(bytes);
    }
  }
}
