package io.infinistreams.app.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class ProgressTest {

  /** Lines for a log file: each one whole, no carriage return, no escape sequence. */
  @Test
  void withoutATerminalProgressIsPlainLines() {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (Progress p =
        Progress.lines("feed", 20_000_000, Progress.Unit.BYTES, lines::add, Duration.ofHours(1))) {
      p.update(10_000_000);
      p.update(20_000_000);
    }
    assertFalse(lines.isEmpty());
    for (String line : lines) {
      assertFalse(line.contains("\r"), line);
      assertFalse(line.contains("\n"), line);
      assertFalse(line.contains("\u001b"), line);
      assertTrue(line.startsWith("feed "), line);
    }
    for (int i = 1; i < lines.size(); i++) {
      assertNotEquals(lines.get(i - 1), lines.get(i), "a line repeated");
    }
    // close() draws the final state after any earlier line
    String last = lines.get(lines.size() - 1);
    assertTrue(last.contains("100%"), last);
    assertTrue(last.contains("20/20 MB"), last);
  }

  @Test
  void amountsKeepTwoDigitsInTheirUnit() {
    assertEquals(" B", Progress.Scale.of(Progress.Unit.BYTES, 9_999).name());
    assertEquals(" kB", Progress.Scale.of(Progress.Unit.BYTES, 10_000).name());
    assertEquals(" MB", Progress.Scale.of(Progress.Unit.BYTES, 20_000_000).name());
    assertEquals(" tokens", Progress.Scale.of(Progress.Unit.TOKENS, 4_096).name());
    assertEquals("M tokens", Progress.Scale.of(Progress.Unit.TOKENS, 10_000_000).name());
  }

  @Test
  void rateUsesADotWhateverTheDefaultLocale() {
    Locale before = Locale.getDefault();
    try {
      Locale.setDefault(Locale.GERMANY);
      assertEquals("2.5", Progress.rateFormat().format(2.5));
      assertEquals("1234.5", Progress.rateFormat().format(1234.5));
    } finally {
      Locale.setDefault(before);
    }
  }
}
