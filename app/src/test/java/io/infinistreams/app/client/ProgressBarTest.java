package io.infinistreams.app.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

  @Test
  void showsPercentBytesRateAndEta() {
    // 10 MB of 20 MB in 4 s: 2.5 MB/s, 4 s to go.
    String s = ProgressBar.render(10_000_000, 20_000_000, ProgressBar.Unit.BYTES, 4_000_000_000L);
    assertEquals("[############............]  50.0%  10.0 MB/20.0 MB  2.50 MB/s  ETA 0:04", s);
  }

  @Test
  void unknownTotalShowsBytesAndRate() {
    assertEquals(
        "3.00 MB  1.50 MB/s",
        ProgressBar.render(3_000_000, 0, ProgressBar.Unit.BYTES, 2_000_000_000L));
  }

  @Test
  void tokensAreCountedWithoutByteUnits() {
    // 500K of 1M tokens in 138 s: 3.62K tokens/s, 138 s to go.
    assertEquals(
        "[############............]  50.0%  500K/1.00M tokens  3.62K tokens/s  ETA 2:18",
        ProgressBar.render(500_000, 1_000_000, ProgressBar.Unit.TOKENS, 138_000_000_000L));
  }

  @Test
  void etaBeforeAnyProgressIsUnknown() {
    assertTrue(
        ProgressBar.render(0, 100, ProgressBar.Unit.BYTES, 1_000_000L).endsWith("ETA --:--"));
  }

  @Test
  void sizesHaveThreeSignificantDigits() {
    assertEquals("999 B", ProgressBar.size(999));
    assertEquals("1.00 kB", ProgressBar.size(1000));
    assertEquals("20.0 kB", ProgressBar.size(20_000));
    assertEquals("123 MB", ProgressBar.size(123_456_789));
    assertEquals("2.50 GB", ProgressBar.size(2_500_000_000L));
    assertEquals("999", ProgressBar.count(999));
    assertEquals("1.00M", ProgressBar.count(1_000_000));
  }

  @Test
  void durationsReadAsClockTimes() {
    assertEquals("0:00", ProgressBar.duration(0));
    assertEquals("1:05", ProgressBar.duration(65));
    assertEquals("2:00:01", ProgressBar.duration(7201));
  }

  @Test
  void redrawsAtMostEvery200MsAndFinishesTheLine() {
    long[] now = {0};
    StringWriter sink = new StringWriter();
    ProgressBar bar =
        new ProgressBar(new PrintWriter(sink), 1000, ProgressBar.Unit.BYTES, () -> now[0]);
    bar.update(100); // first update draws
    now[0] = 50_000_000L;
    bar.update(200); // 50 ms later: no redraw
    now[0] = 300_000_000L;
    bar.update(300); // 300 ms: redraw
    bar.finish();
    String out = sink.toString();
    assertEquals(3, out.chars().filter(c -> c == '\r').count(), out);
    assertTrue(out.endsWith("\n"));
    assertTrue(out.contains(" 30.0%"), out);
  }
}
