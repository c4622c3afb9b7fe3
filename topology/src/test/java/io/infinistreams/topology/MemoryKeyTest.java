package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.junit.jupiter.api.Test;

class MemoryKeyTest {

  @Test
  void roundTrips() {
    MemoryKey key = new MemoryKey("strëam/1", 3, 7);
    assertEquals(key, MemoryKey.fromBytes(key.toBytes()));
    assertEquals(
        key,
        MemoryKey.SERDE
            .deserializer()
            .deserialize("t", MemoryKey.SERDE.serializer().serialize("t", key)));
  }

  /** In RocksDB's byte order, each stream's keys are contiguous and inside [first, last]. */
  @Test
  void aStreamsHeadsAreContiguousInByteOrder() {
    List<String> ids = List.of("a", "ab", "b", "", "a\u0000", "ba", "\uffff");
    List<Bytes> keys = new ArrayList<>();
    for (String id : ids) {
      for (int layer = 0; layer < 3; layer++) {
        for (int head = 0; head < 4; head++) {
          keys.add(Bytes.wrap(new MemoryKey(id, layer, head).toBytes()));
        }
      }
    }
    keys.sort(null);
    for (String id : ids) {
      Bytes first = Bytes.wrap(MemoryKey.first(id).toBytes());
      Bytes last = Bytes.wrap(MemoryKey.last(id).toBytes());
      int lo = -1;
      int hi = -1;
      for (int i = 0; i < keys.size(); i++) {
        MemoryKey k = MemoryKey.fromBytes(keys.get(i).get());
        boolean inRange = keys.get(i).compareTo(first) >= 0 && keys.get(i).compareTo(last) <= 0;
        assertEquals(k.streamId().equals(id), inRange, "key " + k + " vs range of " + id);
        if (k.streamId().equals(id)) {
          lo = lo < 0 ? i : lo;
          hi = i;
        }
      }
      assertEquals(12, hi - lo + 1, "contiguous run of " + id);
      // sorted by (layer, head) within the stream
      for (int i = lo; i < hi; i++) {
        MemoryKey a = MemoryKey.fromBytes(keys.get(i).get());
        MemoryKey b = MemoryKey.fromBytes(keys.get(i + 1).get());
        assertTrue(a.layer() < b.layer() || (a.layer() == b.layer() && a.head() < b.head()));
      }
    }
  }
}
