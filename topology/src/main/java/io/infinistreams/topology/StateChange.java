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
    deletes.forEach(memory::delete);
    puts.forEach(memory::put);
    if (session == null) {
      sessions.delete(streamId);
    } else {
      sessions.put(streamId, session);
    }
  }
}
