package io.infinistreams.app.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.bench.SessionLoad.Recorder;
import io.infinistreams.schemas.EventKind;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * The plumbing of {@code bench-sessions} on tiny settings: a real embedded broker and processor
 * (random tiny weights), both chat-like loads, the bulk load and the fairness probe, in well under
 * a minute.
 */
class SessionsBenchTest {

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void everyEventIsAnsweredOnceAndTheReportHoldsTogether() {
    SessionsBench bench = new SessionsBench();
    CommandLine cl = new CommandLine(bench);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit =
        cl.execute(
            "--random", "tiny",
            "--sessions", "20",
            "--seconds", "4",
            "--generate-every", "4",
            "--generate-tokens", "4",
            "--bulk-sessions", "3",
            "--bulk-bytes", "1024",
            "--bulk-seconds", "1",
            "--feed-kb", "16",
            "--probes", "2");
    assertEquals(0, exit, out + "\n" + err);
    SessionsBench.Result r = bench.result();
    assertNotNull(r);

    // every event sent got exactly one output, none was dead-lettered
    assertTrue(r.sent() > 0);
    assertEquals(r.sent(), r.answered(), "answered");
    assertEquals(0, r.unmatched(), "outputs answering no event in flight");
    assertEquals(List.of(), r.rejections());

    // both cache settings ran, the configured one first
    assertEquals(2, r.chat().size());
    assertEquals(64L << 20, r.chat().get(0).cacheBytes());
    assertEquals(0L, r.chat().get(1).cacheBytes());
    for (SessionsBench.ChatRun run : r.chat()) {
      Recorder load = run.load();
      // the closed loop kept all 20 sessions busy for the whole time: more than one event each
      assertTrue(load.sent() > 20, "events of the chat-like load: " + load.sent());
      assertEquals(load.sent(), load.answered());
      assertTrue(load.eventsPerSecond() > 0);
      assertOrdered(load, EventKind.APPEND);
      assertTrue(load.roundTrip(EventKind.GENERATE).count() > 0, "GENERATEs ran (1 in 4)");
      assertOrdered(load, EventKind.GENERATE);
      assertEquals(
          load.answered(),
          load.roundTrip(EventKind.APPEND).count() + load.roundTrip(EventKind.GENERATE).count());
    }
    // the scoring calls of the cached run are counted; the uncached run has no cache
    SessionsBench.CacheCounters cached = r.chat().get(0).cache();
    assertTrue(cached.reused() + cached.recomputed() > 0, "open-segment calls: " + cached);
    assertEquals(0.0, r.chat().get(1).cache().cacheBytes());

    assertNotNull(r.bulk());
    assertTrue(r.bulk().answered() >= 3, "one bulk event per session at least");
    assertEquals(r.bulk().sent() * 1024, r.bulk().textBytes());
    assertOrdered(r.bulk(), EventKind.APPEND);

    SessionsBench.Fairness f = r.fairness();
    assertNotNull(f);
    assertTrue(f.probePartition() != f.feedPartition(), "probe and feed on different partitions");
    assertEquals(2, f.idle().roundTrip(EventKind.GENERATE).count());
    assertTrue(f.during().roundTrip(EventKind.GENERATE).count() >= 1);
    assertEquals(16, f.feed().answered());
    assertEquals(16 * 1024, f.feed().textBytes());

    String report = out.toString();
    assertTrue(report.contains("| chat-like | 67,108,864 |"), report);
    assertTrue(report.contains("| chat-like | 0 |"), report);
    assertTrue(report.contains("**ratio with / without the cache**"), report);
    assertTrue(report.contains("| idle pipeline | 2 |"), report);
    assertTrue(
        report.contains(
            "Events: " + String.format(java.util.Locale.ROOT, "%,d", r.sent()) + " sent, "),
        report);
  }

  @Test
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void comparedConfigurationsRunTheSameLoadsSideBySide() {
    SessionsBench bench = new SessionsBench();
    CommandLine cl = new CommandLine(bench);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    String compared = "streams.main.consumer.max.partition.fetch.bytes=1048576";
    int exit =
        cl.execute(
            "--random", "tiny",
            "--sessions", "0",
            "--bulk-sessions", "0",
            "--bulk-bytes", "1024",
            "--feed-kb", "8",
            "--probes", "1",
            "--generate-tokens", "4",
            "--compare-set", compared);
    assertEquals(0, exit, out + "\n" + err);
    SessionsBench.Result r = bench.result();
    assertEquals(r.sent(), r.answered(), "answered");
    assertEquals(List.of(), r.rejections());

    // no chat-like load, no bulk load; the fairness probe on both processors, configured first
    assertEquals(2, r.runs().size());
    assertEquals(List.of(), r.chat());
    assertEquals("as configured", r.runs().get(0).label());
    assertEquals(compared, r.runs().get(1).label());
    for (SessionsBench.Run run : r.runs()) {
      assertEquals(null, run.bulk());
      assertNotNull(run.fairness(), run.label());
      assertEquals(1, run.fairness().idle().roundTrip(EventKind.GENERATE).count());
      assertEquals(8, run.fairness().feed().answered());
    }
    assertEquals(
        "1048576",
        r.runs().get(1).config().streamsOverrides().get("main.consumer.max.partition.fetch.bytes"));

    String report = out.toString();
    assertTrue(report.contains("main.consumer.max.partition.fetch.bytes=20736;"), report);
    assertTrue(report.contains("(main.consumer.max.partition.fetch.bytes=1048576)"), report);
    assertTrue(report.contains("| idle pipeline, 'as configured' | 1 |"), report);
    assertTrue(
        report.contains("| fairness: GENERATE max round trip during the feed (ms) |"), report);
    assertTrue(!report.contains("| chat-like |"), report);
  }

  private static void assertOrdered(Recorder rec, EventKind kind) {
    Latencies rt = rec.roundTrip(kind);
    assertTrue(rt.count() > 0, kind + " answered");
    double p50 = rt.percentileMs(0.5);
    double p95 = rt.percentileMs(0.95);
    double p99 = rt.percentileMs(0.99);
    assertTrue(rt.minMs() >= 0, kind + " negative latency " + rt.minMs());
    assertTrue(p50 <= p95 && p95 <= p99 && p99 <= rt.maxMs(), kind + " " + p50 + " " + p99);
    // the round trip contains the processor's own time of the same event
    assertTrue(rec.inProcessor(kind).minMs() >= 0);
    assertTrue(rec.inProcessor(kind).percentileMs(0.5) <= rt.maxMs());
  }

  @Test
  void latenciesUseTheNearestRank() {
    Latencies l = new Latencies();
    for (int i = 100; i >= 1; i--) {
      l.add(i * 1000L); // 1..100 ms, out of order
    }
    assertEquals(50.0, l.percentileMs(0.5));
    assertEquals(95.0, l.percentileMs(0.95));
    assertEquals(99.0, l.percentileMs(0.99));
    assertEquals(100.0, l.maxMs());
    assertEquals(1.0, l.minMs());
    assertTrue(Double.isNaN(new Latencies().percentileMs(0.5)));
  }

  @Test
  void chatMessagesAreAsciiTextOfAboutTheAskedSize() {
    Random rng = new Random(7);
    for (int i = 0; i < 200; i++) {
      String m = ChatText.message(rng, 100);
      assertTrue(m.length() <= 100 && m.length() >= 50, m.length() + ": " + m);
      assertTrue(m.startsWith("user: "), m);
    }
    assertEquals(16384, ChatText.document(3, 16384).length());
  }

  @Test
  void cacheCountersAreReadFromThePrometheusText() {
    String scrape =
        "# HELP infini_open_segment_calls_total ...\n"
            + "infini_open_segment_calls_total{result=\"recomputed\"} 12.0\n"
            + "infini_open_segment_calls_total{result=\"reused\"} 30.0\n"
            + "infini_open_segment_cache_bytes 4096.0\n";
    SessionsBench.CacheCounters c = SessionsBench.parseCacheCounters(scrape);
    assertEquals(new SessionsBench.CacheCounters(30, 12, 4096), c);
    assertEquals(30.0 / 42, c.reusedShare(), 1e-12);
  }
}
