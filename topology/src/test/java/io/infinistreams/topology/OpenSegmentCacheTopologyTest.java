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
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
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
    InputEvent e = TopologyHarness.event(seq, kind, text);
    if (g != null) {
      e.setGeneration(g);
    }
    return e;
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
    try (TopologyHarness t =
        new TopologyHarness(settings, model, metrics, stateDir.resolve(name))) {
      for (Map.Entry<String, InputEvent> e : events) {
        t.send(e.getKey(), e.getValue());
      }
      List<OutputEvent> outputs = t.output.readValuesToList();
      int dead = t.deadLetters.readValuesToList().size();
      Map<String, String> stores = t.records();
      return new Run(
          outputs, dead, stores, new long[] {reused.get(), recomputed.get(), bytes.get()});
    }
  }
}
