package io.infinistreams.app.ops;

import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.TopologySettings;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * How many of the streams this instance hosts each model wrote: what {@code run} logs once it is
 * running, so that a new model's operator sees at once which streams the loaded models will
 * continue, and how many the upgrade policy will reset or refuse; a previous model that no hosted
 * stream needs any more shows 0.
 */
public final class ModelCensus {
  private ModelCensus() {}

  /**
   * What {@link #count} counts a stored session under when this version cannot decode it (written
   * by a newer version, or damaged): the processor applies nothing but a DELETE to its stream.
   */
  public static final String UNREADABLE = "unreadable";

  /**
   * Streams per model fingerprint ({@link #UNREADABLE} for a session that does not decode) in the
   * sessions stores of this instance's active tasks (one scan of every local session).
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
      while (true) {
        String model;
        try {
          // the store's iterator decodes the value it looks ahead to in hasNext
          if (!it.hasNext()) {
            break;
          }
          model = it.next().value.getModelFingerprint();
        } catch (SerializationException e) {
          model = UNREADABLE;
        }
        byModel.merge(model, 1L, Long::sum);
      }
    }
    return byModel;
  }

  /**
   * One line for the log, a single model serving under the policy {@code dead-letter}: each model's
   * count, the serving one first and marked.
   */
  public static String describe(Map<String, Long> byModel, String serving) {
    return describe(
        byModel,
        serving,
        List.of(),
        Models.UpgradePolicy.DEAD_LETTER,
        f -> f.equals(serving) ? Models.Disposition.SERVING : Models.Disposition.DEAD_LETTER);
  }

  /**
   * One line for the log: each loaded model's count (the serving one first, then the previous ones,
   * each marked, also when it wrote no hosted stream), then every other model's, and what the
   * upgrade policy does with the streams of each ({@link Models#disposition}).
   */
  public static String describe(Map<String, Long> byModel, Models models) {
    List<String> previous = models.previous().stream().map(m -> m.fingerprint()).toList();
    return describe(
        byModel, models.serving().fingerprint(), previous, models.policy(), models::disposition);
  }

  private static String describe(
      Map<String, Long> byModel,
      String serving,
      List<String> previous,
      Models.UpgradePolicy policy,
      Function<String, Models.Disposition> disposition) {
    if (byModel.isEmpty() && previous.isEmpty()) {
      return "no stored streams yet";
    }
    StringBuilder line = new StringBuilder("stored streams by model: ");
    line.append(shortId(serving)).append(" (serving) ").append(byModel.getOrDefault(serving, 0L));
    for (String p : previous) {
      line.append(", ")
          .append(shortId(p))
          .append(" (previous) ")
          .append(byModel.getOrDefault(p, 0L));
    }
    long served = 0;
    long reset = 0;
    long refused = 0;
    long unreadable = byModel.getOrDefault(UNREADABLE, 0L);
    for (Map.Entry<String, Long> e : byModel.entrySet()) {
      if (e.getKey().equals(UNREADABLE)) {
        continue;
      }
      switch (disposition.apply(e.getKey())) {
        case SERVING -> {}
        case PREVIOUS -> served += e.getValue();
        case RESET -> reset += e.getValue();
        case DEAD_LETTER -> refused += e.getValue();
      }
      if (!e.getKey().equals(serving) && !previous.contains(e.getKey())) {
        line.append(", ").append(shortId(e.getKey())).append(' ').append(e.getValue());
      }
    }
    if (served > 0) {
      line.append("; the ")
          .append(served)
          .append(" written by previous models are continued by them")
          .append(" (model.upgrade.policy=serve)");
    }
    if (reset > 0) {
      line.append("; the ")
          .append(reset)
          .append(" written by another model start afresh under the serving model at their next")
          .append(" event (model.upgrade.policy=reset)");
    }
    if (refused > 0) {
      line.append("; the ")
          .append(refused)
          .append(
              policy == Models.UpgradePolicy.SERVE
                  ? " written by a model not loaded are refused"
                  : " written by another model are refused")
          .append(" (FINGERPRINT_MISMATCH) until a RESET or IMPORT pinned to the serving model")
          .append(" moves them");
    }
    if (unreadable > 0) {
      line.append("; ")
          .append(unreadable)
          .append(" stored session(s) cannot be read by this version (written by a newer one, or")
          .append(" damaged): their streams take only a DELETE (STATE_UNREADABLE)");
    }
    return line.toString();
  }

  private static String shortId(String fingerprint) {
    return fingerprint.substring(0, Math.min(12, fingerprint.length()));
  }
}
