package io.infinistreams.app.ops;

import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.MemoryKey;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.SessionSnapshots;
import io.infinistreams.topology.TopologySettings;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Reads this instance's local stores through interactive queries (active tasks only): the streams
 * it hosts, and one stream's stored state summarised. Throws {@link
 * org.apache.kafka.streams.errors.InvalidStateStoreException} while a store is not queryable
 * (restoring, migrating); callers answer 503.
 */
final class SessionQueries {

  /** Keys in the stores' order: their UTF-8 bytes, unsigned (RocksDB's order). */
  static final Comparator<String> KEY_ORDER =
      (a, b) ->
          Arrays.compareUnsigned(
              a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  private final KafkaStreams streams;
  private final TopologySettings settings;
  private final String processorSourceTopic;

  SessionQueries(KafkaStreams streams, TopologySettings settings, String applicationId) {
    this.streams = streams;
    this.settings = settings;
    this.processorSourceTopic = InfiniTopology.processorSourceTopic(settings, applicationId);
  }

  /** One page of hosted keys. */
  record Page(List<String> keys, String next, List<Integer> partitions, int unreadable) {}

  /**
   * Up to {@code limit} hosted keys after {@code after} (exclusive; null: from the first), in the
   * stores' order, merged across this instance's partitions. {@code next} is the last key when more
   * may follow, else null.
   */
  Page list(String after, int limit) {
    List<Integer> partitions = localPartitions();
    TreeSet<String> best = new TreeSet<>(KEY_ORDER);
    int unreadable = 0;
    for (int partition : partitions) {
      ReadOnlyKeyValueStore<String, StoredSession> store = sessions(partition);
      int taken = 0;
      try (KeyValueIterator<String, StoredSession> it =
          after == null ? store.all() : store.range(after, null)) {
        // each partition's iterator is sorted: at most limit + 1 keys of each can make the page
        while (taken <= limit) {
          KeyValue<String, StoredSession> kv;
          try {
            if (!it.hasNext()) {
              break;
            }
            kv = it.next();
          } catch (SerializationException e) {
            // a session this version cannot decode: interactive queries lose its key with its
            // value, so it is counted, not listed (its stream's dead letters name it)
            unreadable++;
            continue;
          }
          if (after != null && kv.key.equals(after)) {
            continue;
          }
          best.add(kv.key);
          taken++;
          if (best.size() > limit + 1) {
            best.pollLast();
          }
        }
      }
    }
    List<String> keys = new ArrayList<>(best);
    String next = null;
    if (keys.size() > limit) {
      keys = keys.subList(0, limit);
      next = keys.get(limit - 1);
    }
    return new Page(List.copyOf(keys), next, partitions, unreadable);
  }

  /**
   * Partitions of this instance's active processor tasks, ascending: those of the topic the
   * processor reads (the repartition topic, or the input topic without the repartition step), whose
   * numbers are the store partitions.
   */
  List<Integer> localPartitions() {
    TreeSet<Integer> partitions = new TreeSet<>();
    for (ThreadMetadata thread : streams.metadataForLocalThreads()) {
      thread
          .activeTasks()
          .forEach(
              task ->
                  task.topicPartitions().stream()
                      .filter(tp -> tp.topic().equals(processorSourceTopic))
                      .forEach(tp -> partitions.add(tp.partition())));
    }
    return List.copyOf(partitions);
  }

  /**
   * The stored state of stream {@code key} in partition {@code partition}, as JSON-ready values, or
   * null if this instance has no session for it. {@code disposition} tells what the stream's next
   * event does with the model that wrote it ({@link Models#disposition}).
   */
  Map<String, Object> session(
      String key,
      int partition,
      String servingFingerprint,
      Function<String, Models.Disposition> disposition) {
    StoredSession session = sessions(partition).get(key);
    if (session == null) {
      return null;
    }
    ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> memory =
        streams.store(
            StoreQueryParameters.fromNameAndType(
                    settings.memoryStore(),
                    QueryableStoreTypes.<MemoryKey, StoredHeadMemory>keyValueStore())
                .withPartition(partition));
    List<Map<String, Object>> heads = new ArrayList<>();
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(memory, key)) {
      StoredHeadMemory h = kv.value;
      Map<String, Object> head = new LinkedHashMap<>();
      head.put("layer", h.getLayer());
      head.put("head", h.getHead());
      head.put("updates", h.getUpdates());
      head.put("dKey", h.getDKey());
      head.put("dValue", h.getDValue());
      head.put("normM", l2Norm(h.getM()));
      head.put("normZ", l2Norm(h.getZ()));
      heads.add(head);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("key", key);
    out.put("partition", partition);
    out.put("lastSeq", session.getLastSeq());
    out.put("tokensAbsorbed", session.getTokensAbsorbed());
    out.put("segmentsCompressed", session.getSegmentsAbsorbed());
    out.put("openSegmentTokens", session.getOpenTokens().size());
    out.put("modelFingerprint", session.getModelFingerprint());
    out.put("servingModel", session.getModelFingerprint().equals(servingFingerprint));
    out.put(
        "modelDisposition",
        disposition
            .apply(session.getModelFingerprint())
            .name()
            .toLowerCase(Locale.ROOT)
            .replace('_', '-'));
    out.put("formatVersion", session.getFormatVersion());
    out.put(
        "lastApplied",
        session.getLastAppliedMillis() == 0
            ? null
            : Instant.ofEpochMilli(session.getLastAppliedMillis()).toString());
    out.put("memory", heads);
    return out;
  }

  /**
   * The snapshot of stream {@code key} in partition {@code partition} ({@link SessionSnapshots}),
   * encoded, or null if this instance has no session for it.
   */
  byte[] snapshot(String key, int partition) {
    ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> memory =
        streams.store(
            StoreQueryParameters.fromNameAndType(
                    settings.memoryStore(),
                    QueryableStoreTypes.<MemoryKey, StoredHeadMemory>keyValueStore())
                .withPartition(partition));
    SessionSnapshot snapshot =
        SessionSnapshots.export(key, sessions(partition), memory, Instant.now());
    return snapshot == null ? null : SessionSnapshots.encode(snapshot);
  }

  private ReadOnlyKeyValueStore<String, StoredSession> sessions(int partition) {
    return streams.store(
        StoreQueryParameters.fromNameAndType(
                settings.sessionsStore(),
                QueryableStoreTypes.<String, StoredSession>keyValueStore())
            .withPartition(partition));
  }

  /** Euclidean (Frobenius) norm of a little-endian float32 array. */
  static double l2Norm(ByteBuffer floats) {
    ByteBuffer buf = floats.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    double sum = 0;
    while (buf.remaining() >= 4) {
      double v = buf.getFloat();
      sum += v * v;
    }
    return Math.sqrt(sum);
  }
}
