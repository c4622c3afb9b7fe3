package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The open-segment cache ({@code openCacheBytes}) changes the cost of a scored APPEND, never a
 * result: the same input through a topology with a large cache, with one too small to hold every
 * stream, and with none gives the same outputs (surprise to float rounding, everything else
 * exactly) and the same stores byte for byte.
 */
class OpenSegmentCacheTopologyTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults()
          .withMaxEventTextBytes(256)
          .withAbsorbChunkTokens(7)
          .withMaxNewTokensLimit(32);

  private static InfiniModel model;

  @TempDir Path stateDir;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3).withShortConv(3), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** What one run produced. */
  private record Run(
      List<OutputEvent> outputs, int deadLetters, Map<String, String> stores, long[] calls) {}

  @Test
  void outputsAndStoresAreTheSameWithALargeCacheASmallOneAndNone() {
    List<String> streams = List.of("a", "b", "c");
    List<Map.Entry<String, InputEvent>> events = workload(streams, 150);

    Run none = run("none", SETTINGS.withOpenCacheBytes(0), events);
    // Room for about one stream's open segment: the three streams keep evicting each other.
    Run small = run("small", SETTINGS.withOpenCacheBytes(12_000), events);
    Run large = run("large", SETTINGS.withOpenCacheBytes(64L << 20), events);

    for (Run r : List.of(small, large)) {
      assertEquals(none.stores(), r.stores(), "stores byte for byte");
      assertEquals(none.deadLetters(), r.deadLetters());
      assertEquals(none.outputs().size(), r.outputs().size());
      for (int i = 0; i < none.outputs().size(); i++) {
        OutputEvent want = none.outputs().get(i);
        OutputEvent got = r.outputs().get(i);
        assertEquals(want.getTokensTotal(), got.getTokensTotal(), "output " + i);
        assertEquals(want.getGeneratedText(), got.getGeneratedText(), "output " + i);
        if (want.getSurpriseBitsPerByte() == null) {
          assertEquals(null, got.getSurpriseBitsPerByte(), "output " + i);
        } else {
          assertEquals(
              want.getSurpriseBitsPerByte(), got.getSurpriseBitsPerByte(), 1e-4, "output " + i);
        }
      }
    }
    assertEquals(0, none.calls()[0] + none.calls()[1], "no cache, no cache calls reported");
    long[] l = large.calls();
    long[] s = small.calls();
    // Segments of 16 tokens: many events of up to 40 bytes compress one, which recomputes anyway.
    assertTrue(l[0] > l[1], "large cache: reused " + l[0] + ", recomputed " + l[1]);
    assertTrue(s[1] > l[1], "small cache recomputes more: " + s[1] + " vs " + l[1]);
    assertTrue(s[2] <= 12_000 + 8_000, "small cache holds " + s[2] + " bytes");
  }

  /** Interleaved APPENDs of 1-40 bytes on each stream, a GENERATE and a duplicate now and then. */
  private static List<Map.Entry<String, InputEvent>> workload(List<String> streams, int count) {
    SplittableRandom rng = new SplittableRandom(5);
    Map<String, Long> seq = new TreeMap<>();
    List<Map.Entry<String, InputEvent>> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String stream = streams.get(rng.nextInt(streams.size()));
      long next = seq.merge(stream, 1L, Long::sum);
      int roll = rng.nextInt(20);
      InputEvent e;
      if (roll == 0) {
        e =
            event(
                next,
                EventKind.GENERATE,
                "and then?",
                new Generation(6, 0f, 1L, PromptFormat.CHAT));
      } else if (roll == 1 && next > 1) {
        seq.merge(stream, -1L, Long::sum);
        e = event(next - 1, EventKind.APPEND, "a duplicate", null); // dead-lettered
      } else {
        StringBuilder text = new StringBuilder();
        int len = 1 + rng.nextInt(40);
        for (int j = 0; j < len; j++) {
          text.append((char) ('a' + rng.nextInt(26)));
        }
        e = event(next, EventKind.APPEND, text.toString(), null);
      }
      events.add(Map.entry(stream, e));
    }
    return events;
  }

  private static InputEvent event(long seq, EventKind kind, String text, Generation g) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(kind)
        .setText(text)
        .setGeneration(g != null ? g : new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  private Run run(
      String name, TopologySettings settings, List<Map.Entry<String, InputEvent>> events) {
    AtomicLong reused = new AtomicLong();
    AtomicLong recomputed = new AtomicLong();
    AtomicLong bytes = new AtomicLong();
    ProcessorMetrics metrics =
        new ProcessorMetrics() {
          @Override
          public void openSegments(long r, long c, long b) {
            reused.addAndGet(r);
            recomputed.addAndGet(c);
            bytes.accumulateAndGet(b, Math::max);
          }
        };
    Properties props = StreamsProps.forModel(model.config(), settings);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "infini-cache-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(name).toString());
    try (TopologyTestDriver driver =
        new TopologyTestDriver(InfiniTopology.build(settings, model, metrics), props, T0)) {
      TestInputTopic<byte[], byte[]> input =
          driver.createInputTopic(
              settings.inputTopic(),
              new ByteArraySerializer(),
              new ByteArraySerializer(),
              T0,
              Duration.ofMillis(1));
      TestOutputTopic<String, OutputEvent> output =
          driver.createOutputTopic(
              settings.outputTopic(),
              InfiniTopology.KEY_SERDE.deserializer(),
              InfiniTopology.OUTPUT_SERDE.deserializer());
      TestOutputTopic<byte[], byte[]> deadLetters =
          driver.createOutputTopic(
              settings.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
      for (Map.Entry<String, InputEvent> e : events) {
        input.pipeInput(
            e.getKey().getBytes(StandardCharsets.UTF_8),
            InfiniTopology.INPUT_SERDE.serialize("t", e.getValue()));
      }
      List<OutputEvent> outputs = output.readValuesToList();
      int dead = deadLetters.readValuesToList().size();
      Map<String, String> stores = new TreeMap<>();
      HexFormat hex = HexFormat.of();
      KeyValueStore<String, StoredSession> sessions =
          driver.getKeyValueStore(settings.sessionsStore());
      try (KeyValueIterator<String, StoredSession> it = sessions.all()) {
        it.forEachRemaining(
            kv ->
                stores.put(
                    "s:" + kv.key,
                    hex.formatHex(InfiniTopology.SESSION_SERDE.serialize("t", kv.value))));
      }
      KeyValueStore<MemoryKey, StoredHeadMemory> memory =
          driver.getKeyValueStore(settings.memoryStore());
      try (KeyValueIterator<MemoryKey, StoredHeadMemory> it = memory.all()) {
        it.forEachRemaining(
            kv ->
                stores.put(
                    "m:" + hex.formatHex(kv.key.toBytes()),
                    hex.formatHex(InfiniTopology.HEAD_MEMORY_SERDE.serialize("t", kv.value))));
      }
      return new Run(
          outputs, dead, stores, new long[] {reused.get(), recomputed.get(), bytes.get()});
    }
  }
}
