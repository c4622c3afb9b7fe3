package io.infinistreams.topology;

import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Everything one event writes, computed in full before anything is written, so an event that fails
 * while it is applied writes nothing.
 *
 * @param deletes head records to delete (RESET, IMPORT, DELETE)
 * @param puts head records to write
 * @param session the stream's new session, or null to delete the session (DELETE)
 */
record StateChange(
    List<MemoryKey> deletes, Map<MemoryKey, StoredHeadMemory> puts, StoredSession session) {

  void writeTo(
      String streamId,
      KeyValueStore<String, StoredSession> sessions,
      KeyValueStore<MemoryKey, StoredHeadMemory> memory) {
    // put(key, null) writes the tombstone without reading the old value, which delete(key) would
    // decode: a record this version cannot read is removed all the same
    deletes.forEach(k -> memory.put(k, null));
    puts.forEach(memory::put);
    sessions.put(streamId, session);
  }
}
