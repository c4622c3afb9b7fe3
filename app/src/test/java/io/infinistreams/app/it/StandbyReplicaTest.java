package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.InfiniTopology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two instances share one partition; the active one leaves and the other takes over. With a standby
 * replica ({@code streams.num.standby.replicas=1}) the survivor already holds the stores and
 * restores nothing from the changelogs; without one it restores every record first. Both setups run
 * side by side in one test, and the time from the active instance's close to the next event's
 * output is printed (and written to {@code target/standby-takeover.txt}). {@code
 * -Dinfini.standby.streams=N} (default 100) sets how many streams hold state; the model has the
 * shipped model's shape (random weights: only the state's size matters here).
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class StandbyReplicaTest {
  private static final Duration WAIT = Duration.ofMinutes(5);

  /** The default application id, which both instances use. */
  private static final String APPLICATION_ID = AppConfig.builder().build().applicationId();

  @TempDir Path dir;

  @Test
  void aStandbyReplicaTakesOverWithoutRestoringAndWithoutOneEveryRecordIsRestored()
      throws Exception {
    int streams = Integer.getInteger("infini.standby.streams", 100);
    int rounds = Integer.getInteger("infini.standby.rounds", 1);
    List<String> lines = new ArrayList<>();
    try (InfiniModel model = InfiniModel.create(ModelConfig.defaults(), 3)) {
      for (int round = 0; round < rounds; round++) {
        // alternate which setup goes first, so that neither always runs on a colder JVM
        int[] order = round % 2 == 0 ? new int[] {1, 0} : new int[] {0, 1};
        Map<Integer, Takeover> results = new LinkedHashMap<>();
        for (int standbys : order) {
          results.put(
              standbys,
              takeover(model, dir.resolve(round + "-standbys-" + standbys), standbys, streams));
        }
        Takeover warm = results.get(1);
        Takeover cold = results.get(0);
        assertEquals(0, warm.restored(), "the standby held every record already");
        assertTrue(
            cold.restored() >= cold.changelogRecords(),
            "without a standby every changelog record is restored: " + cold);
        lines.add(
            String.format(
                java.util.Locale.ROOT,
                "takeover of one partition holding %d streams (%d changelog records), %s first:"
                    + " standby %.2f s (%d records restored), no standby %.2f s (%d records"
                    + " restored in %.2f s)",
                streams,
                cold.changelogRecords(),
                order[0] == 1 ? "standby" : "no standby",
                warm.seconds(),
                warm.restored(),
                cold.seconds(),
                cold.restored(),
                cold.restoreSeconds()));
      }
    }
    lines.forEach(System.err::println);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target", "standby-takeover.txt"), String.join("\n", lines) + "\n");
  }

  /**
   * @param seconds from the active instance's close to the output of the next event
   * @param restored records the surviving instance restored from changelogs meanwhile
   * @param restoreSeconds how long those restores took
   * @param changelogRecords records in the two changelog topics before the takeover
   */
  private record Takeover(
      double seconds, long restored, double restoreSeconds, long changelogRecords) {}

  /** One takeover, with its broker and both instances' state in {@code root}, a fresh folder. */
  private Takeover takeover(InfiniModel model, Path root, int standbys, int streams)
      throws Exception {
    try (EmbeddedBroker broker = EmbeddedBroker.start(root.resolve("kafka"))) {
      String bootstrap = broker.bootstrapServers();
      InfiniApp first = InfiniApp.start(config(root, "a", bootstrap, standbys), model, WAIT);
      InfiniApp second = null;
      try {
        second = InfiniApp.start(config(root, "b", bootstrap, standbys), model, WAIT);
        Pipeline pipeline = new Pipeline(bootstrap, first.settings(), model, APPLICATION_ID);
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 3 * model.config().segmentLength() + 16; i++) {
          text.append("Line ").append(i).append(" of a stream that another instance takes over. ");
        }
        for (int s = 0; s < streams; s++) {
          pipeline.produce("stream-" + s, List.of(Pipeline.append(1, text.toString())));
        }
        pipeline.awaitOutput(
            "stream-" + (streams - 1), 1, WAIT, "standby-test-" + System.nanoTime());
        InfiniApp a = first;
        InfiniApp b = second;
        String processorTopic = InfiniTopology.repartitionTopic(APPLICATION_ID);
        InfiniApp active = runsProcessor(a.streams(), processorTopic) ? a : b;
        InfiniApp survivor = active == a ? b : a;
        if (standbys > 0) {
          Awaitility.await("the standby caught up")
              .atMost(WAIT)
              .pollInterval(Duration.ofMillis(100))
              .until(
                  () ->
                      standbyHolds(
                          survivor,
                          streams,
                          (long) streams * model.config().layers() * model.config().heads()));
        }
        long changelogRecords = 0;
        for (String store :
            List.of(first.settings().sessionsStore(), first.settings().memoryStore())) {
          long[] n = {0};
          Pipeline.readToEnd(
              bootstrap, APPLICATION_ID + "-" + store + "-changelog", WAIT, r -> n[0]++);
          changelogRecords += n[0];
        }
        long restoredBefore = survivor.restores().restoredRecords();
        Duration restoringBefore = survivor.restores().restoreTime();
        long t0 = System.nanoTime();
        active.close();
        pipeline.produce("stream-0", List.of(Pipeline.append(2, "After the takeover.")));
        List<OutputEvent> out =
            pipeline.awaitOutput("stream-0", 2, WAIT, "standby-test-" + System.nanoTime());
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, out.get(out.size() - 1).getSeq());
        return new Takeover(
            seconds,
            survivor.restores().restoredRecords() - restoredBefore,
            survivor.restores().restoreTime().minus(restoringBefore).toNanos() / 1e9,
            changelogRecords);
      } finally {
        if (second != null) {
          second.close();
        }
        first.close();
      }
    }
  }

  private static AppConfig config(Path root, String instance, String bootstrap, int standbys) {
    return AppConfig.builder()
        .override("bootstrap.servers", bootstrap)
        .override("state.dir", root.resolve("state-" + instance).toString())
        .override("instance.id", instance)
        .override("topic.partitions", "1")
        .override("http.enabled", "false")
        .override("streams.num.standby.replicas", Integer.toString(standbys))
        .build();
  }

  /** Whether this instance runs the processor's task (the one reading {@code topic}). */
  private static boolean runsProcessor(KafkaStreams streams, String topic) {
    for (ThreadMetadata t : streams.metadataForLocalThreads()) {
      for (TaskMetadata task : t.activeTasks()) {
        if (task.topicPartitions().stream().anyMatch(tp -> tp.topic().equals(topic))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether {@code app} runs a standby task whose stores hold {@code sessions} sessions and {@code
   * heads} head memories (every stream fed, all of its heads). Under exactly-once a caught-up
   * standby still reports an offset lag (the last commit marker), so the content is what counts.
   */
  private static boolean standbyHolds(InfiniApp app, long sessions, long heads) {
    boolean standby =
        app.streams().metadataForLocalThreads().stream().anyMatch(t -> !t.standbyTasks().isEmpty());
    return standby
        && count(app, app.settings().sessionsStore()) == sessions
        && count(app, app.settings().memoryStore()) == heads;
  }

  private static long count(InfiniApp app, String store) {
    ReadOnlyKeyValueStore<Object, Object> kv =
        app.streams()
            .store(
                StoreQueryParameters.fromNameAndType(store, QueryableStoreTypes.keyValueStore())
                    .enableStaleStores());
    long n = 0;
    try (KeyValueIterator<Object, Object> it = kv.all()) {
      while (it.hasNext()) {
        it.next();
        n++;
      }
    }
    return n;
  }
}
