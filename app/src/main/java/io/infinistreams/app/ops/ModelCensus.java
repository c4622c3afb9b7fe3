package io.infinistreams.app.ops;

import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.TopologySettings;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * How many of the streams this instance hosts each model wrote: what {@code run} logs once it is
 * running, so that a new model's operator sees at once how many streams it will refuse until a
 * pinned RESET or IMPORT moves them.
 */
public final class ModelCensus {
  private ModelCensus() {}

  /**
   * Streams per model fingerprint in the sessions stores of this instance's active tasks (one scan
   * of every local session).
   *
   * @throws org.apache.kafka.streams.errors.InvalidStateStoreException if the stores are not
   *     queryable (not running, or rebalancing)
   */
  public static Map<String, Long> count(KafkaStreams streams, TopologySettings settings) {
    ReadOnlyKeyValueStore<String, StoredSession> sessions =
        streams.store(
            StoreQueryParameters.fromNameAndType(
                settings.sessionsStore(),
                QueryableStoreTypes.<String, StoredSession>keyValueStore()));
    Map<String, Long> byModel = new TreeMap<>();
    try (KeyValueIterator<String, StoredSession> it = sessions.all()) {
      while (it.hasNext()) {
        KeyValue<String, StoredSession> kv = it.next();
        byModel.merge(kv.value.getModelFingerprint(), 1L, Long::sum);
      }
    }
    return byModel;
  }

  /** One line for the log: each model's count, the serving one first and marked. */
  public static String describe(Map<String, Long> byModel, String serving) {
    if (byModel.isEmpty()) {
      return "no stored streams yet";
    }
    StringBuilder line = new StringBuilder("stored streams by model: ");
    long others = 0;
    line.append(shortId(serving)).append(" (serving) ").append(byModel.getOrDefault(serving, 0L));
    for (Map.Entry<String, Long> e : byModel.entrySet()) {
      if (!e.getKey().equals(serving)) {
        line.append(", ").append(shortId(e.getKey())).append(' ').append(e.getValue());
        others += e.getValue();
      }
    }
    if (others > 0) {
      line.append("; the ")
          .append(others)
          .append(" written by another model are refused (FINGERPRINT_MISMATCH) until a RESET or")
          .append(" IMPORT pinned to the serving model moves them");
    }
    return line.toString();
  }

  private static String shortId(String fingerprint) {
    return fingerprint.substring(0, Math.min(12, fingerprint.length()));
  }
}
