package io.infinistreams.app.runtime;

import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import io.infinistreams.topology.MemoryKey;
import io.infinistreams.topology.TopologySettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Reads one stream's stored records through interactive queries and sums their sizes: what a key
 * costs in RocksDB (and in the changelogs), keys plus serialised values.
 */
public final class StateInspector {

  /** A stream's stored records: the session record (0 or 1) and its head memories. */
  public record StateSize(int sessionRecords, int memoryRecords, long bytes) {
    public int records() {
      return sessionRecords + memoryRecords;
    }
  }

  private static final Duration RETRY_FOR = Duration.ofSeconds(30);

  private StateInspector() {}

  /**
   * The stored size of stream {@code streamId}. Retries while the stores are migrating (rebalance),
   * for at most 30 s.
   */
  public static StateSize of(KafkaStreams streams, TopologySettings settings, String streamId)
      throws InterruptedException {
    long deadline = System.nanoTime() + RETRY_FOR.toNanos();
    while (true) {
      try {
        return read(streams, settings, streamId);
      } catch (InvalidStateStoreException e) {
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
        Thread.sleep(100); // polling a state that has no listener for "store queryable"
      }
    }
  }

  private static StateSize read(KafkaStreams streams, TopologySettings settings, String streamId) {
    ReadOnlyKeyValueStore<String, StoredSession> sessions =
        streams.store(
            StoreQueryParameters.fromNameAndType(
                settings.sessionsStore(),
                QueryableStoreTypes.<String, StoredSession>keyValueStore()));
    ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> memory =
        streams.store(
            StoreQueryParameters.fromNameAndType(
                settings.memoryStore(),
                QueryableStoreTypes.<MemoryKey, StoredHeadMemory>keyValueStore()));
    AvroSerde<StoredSession> sessionSerde = AvroSerdes.storedSession();
    AvroSerde<StoredHeadMemory> memorySerde = AvroSerdes.storedHeadMemory();
    long bytes = 0;
    int sessionRecords = 0;
    StoredSession session = sessions.get(streamId);
    if (session != null) {
      sessionRecords = 1;
      bytes +=
          streamId.getBytes(StandardCharsets.UTF_8).length
              + sessionSerde.serialize(settings.sessionsStore(), session).length;
    }
    int memoryRecords = 0;
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(memory, streamId)) {
      memoryRecords++;
      bytes +=
          kv.key.toBytes().length + memorySerde.serialize(settings.memoryStore(), kv.value).length;
    }
    return new StateSize(sessionRecords, memoryRecords, bytes);
  }
}
