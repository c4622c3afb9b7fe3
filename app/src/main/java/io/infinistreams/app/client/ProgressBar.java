package io.infinistreams.app.client;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on a terminal (stderr): percentage, amount done of total (bytes or
 * tokens), rate since the start, and the ETA at that rate. Redraws at most every 200 ms.
 *
 * <pre>
 * [############............]  50.0%  10.0 MB/20.0 MB  2.50 MB/s  ETA 0:04
 * [############............]  50.0%  500K/1.00M tokens  3.62K tokens/s  ETA 2:18
 * </pre>
 */
public final class ProgressBar {

  /** What is counted. */
  public enum Unit {
    BYTES,
    TOKENS
  }

  private static final long REDRAW_NANOS = 200_000_000L;
  private static final int WIDTH = 24;

  private final PrintWriter out;
  private final long total;
  private final Unit unit;
  private final LongSupplier nanoClock;
  private final long startNanos;
  private long lastDraw = Long.MIN_VALUE;
  private long done;

  /** A bar over {@code total} units (0 or less: unknown total) timed by {@code nanoClock}. */
  public ProgressBar(PrintWriter out, long total, Unit unit, LongSupplier nanoClock) {
    this.out = out;
    this.total = total;
    this.unit = unit;
    this.nanoClock = nanoClock;
    this.startNanos = nanoClock.getAsLong();
  }

  /** A bar on {@code out} timed by {@link System#nanoTime()}. */
  public static ProgressBar onTerminal(PrintWriter out, long total, Unit unit) {
    return new ProgressBar(out, total, unit, System::nanoTime);
  }

  /** Records that {@code amountDone} units are done; redraws if the last draw is old enough. */
  public void update(long amountDone) {
    done = amountDone;
    long now = nanoClock.getAsLong();
    if (lastDraw == Long.MIN_VALUE || now - lastDraw >= REDRAW_NANOS) {
      lastDraw = now;
      out.print("\r" + render(done, total, unit, now - startNanos));
      out.flush();
    }
  }

  /** Draws the final state and ends the line. */
  public void finish() {
    out.print("\r" + render(done, total, unit, nanoClock.getAsLong() - startNanos) + "\n");
    out.flush();
  }

  /** The bar's text for {@code done} of {@code total} units after {@code elapsedNanos}. */
  public static String render(long done, long total, Unit unit, long elapsedNanos) {
    double seconds = Math.max(elapsedNanos, 1) / 1e9;
    double perSecond = done / seconds;
    StringBuilder s = new StringBuilder();
    if (total > 0) {
      double frac = Math.min(1.0, (double) done / total);
      int filled = (int) Math.floor(frac * WIDTH);
      s.append('[').append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append(']');
      String amounts =
          unit == Unit.BYTES
              ? size(done) + "/" + size(total)
              : count(done) + "/" + count(total) + " tokens";
      String rate =
          unit == Unit.BYTES
              ? size((long) perSecond) + "/s"
              : count((long) perSecond) + " tokens/s";
      s.append(
          String.format(
              Locale.ROOT,
              " %5.1f%%  %s  %s  ETA %s",
              frac * 100,
              amounts,
              rate,
              done <= 0 ? "--:--" : duration((long) ((total - done) / perSecond))));
    } else {
      s.append(
          unit == Unit.BYTES
              ? size(done) + "  " + size((long) perSecond) + "/s"
              : count(done) + " tokens  " + count((long) perSecond) + " tokens/s");
    }
    return s.toString();
  }

  /** Bytes in decimal units with three significant digits: {@code 999 B}, {@code 1.50 MB}. */
  static String size(long bytes) {
    if (bytes < 1000) {
      return bytes + " B";
    }
    String[] units = {"kB", "MB", "GB", "TB"};
    double v = bytes;
    int u = -1;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(
        Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
  }

  /** A count with three significant digits: {@code 999}, {@code 1.50K}, {@code 20.0M}. */
  static String count(long n) {
    if (n < 1000) {
      return Long.toString(n);
    }
    String[] units = {"K", "M", "G", "T"};
    double v = n;
    int u = -1;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return String.format(
        Locale.ROOT, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, units[u]);
  }

  /** {@code h:mm:ss} or {@code m:ss}. */
  static String duration(long seconds) {
    long h = seconds / 3600;
    long m = (seconds % 3600) / 60;
    long sec = seconds % 60;
    return h > 0
        ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec)
        : String.format(Locale.ROOT, "%d:%02d", m, sec);
  }
}
