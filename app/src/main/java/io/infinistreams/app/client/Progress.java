package io.infinistreams.app.client;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jline.terminal.spi.SystemStream;
import org.jline.terminal.spi.TerminalProvider;

/**
 * The progress of a long client operation ({@code feed}, {@code demo}) on stderr, drawn by
 * me.tongfei:progressbar: task, percentage, bar, done/total, elapsed / ETA, rate.
 *
 * <p>When stderr is a terminal: one line redrawn in place, cut to the terminal's width. Otherwise
 * (stderr redirected to a file or a pipe, or {@code TERM=dumb}): a plain line every {@link
 * #LINE_INTERVAL} while the work advances and one at the end, with no carriage return and no escape
 * sequence, so a log reads line by line:
 *
 * <pre>
 * feed  50% [=========&gt;         ] 10/20 MB (0:00:04 / 0:00:04) 2.5 MB/s
 * </pre>
 *
 * <p>Lifecycle: {@link #start}, {@link #update} from any thread, {@link #close} once.
 */
public final class Progress implements AutoCloseable {

  /** What is counted. */
  public enum Unit {
    BYTES,
    TOKENS
  }

  /** Without a terminal: at most one line per this interval (and one at the end). */
  static final Duration LINE_INTERVAL = Duration.ofSeconds(10);

  /** On a terminal: redraws per second. */
  private static final int REDRAW_MILLIS = 200;

  /** Without a terminal: the width of a line. */
  private static final int LINE_WIDTH = 100;

  private final ProgressBar bar;
  private final TerminalLine terminal; // null when writing lines

  private Progress(ProgressBar bar, TerminalLine terminal) {
    this.bar = bar;
    this.terminal = terminal;
  }

  /**
   * Progress on stderr over {@code total} units (0 or less: unknown): a bar redrawn in place if
   * stderr is a terminal, else lines on {@code err}.
   */
  public static Progress start(String task, long total, Unit unit, PrintWriter err) {
    if (stderrIsTerminal()) {
      err.flush();
      TerminalLine line = new TerminalLine(System.err);
      return new Progress(
          builder(task, total, unit)
              .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
              .setUpdateIntervalMillis(REDRAW_MILLIS)
              .setConsumer(line)
              .build(),
          line);
    }
    return lines(
        task,
        total,
        unit,
        l -> {
          err.println(l);
          err.flush();
        },
        LINE_INTERVAL);
  }

  /**
   * Progress as plain lines handed to {@code lines}: one at the start, one per {@code every} in
   * which the work advanced, one at {@link #close} (unless it would repeat the line before).
   */
  static Progress lines(
      String task, long total, Unit unit, Consumer<String> lines, Duration every) {
    AtomicReference<String> last = new AtomicReference<>();
    Consumer<String> changed =
        line -> {
          if (!line.equals(last.getAndSet(line))) {
            lines.accept(line);
          }
        };
    return new Progress(
        builder(task, total, unit)
            .setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis((int) Math.min(Integer.MAX_VALUE, every.toMillis()))
            .setConsumer(new DelegatingProgressBarConsumer(changed, LINE_WIDTH))
            .build(),
        null);
  }

  private static ProgressBarBuilder builder(String task, long total, Unit unit) {
    Scale scale = Scale.of(unit, total);
    return new ProgressBarBuilder()
        .setTaskName(task)
        .setInitialMax(total > 0 ? total : -1)
        .setUnit(scale.name(), scale.size())
        .showSpeed(rateFormat());
  }

  /** Records that {@code done} units are done. */
  public void update(long done) {
    bar.stepTo(done);
  }

  /** Draws the final state and ends the line. */
  @Override
  public void close() {
    bar.close();
    if (terminal != null) {
      terminal.endLine();
    }
  }

  /** The rate's format: one decimal, a '.' whatever the default locale. */
  static DecimalFormat rateFormat() {
    return new DecimalFormat("0.0", DecimalFormatSymbols.getInstance(Locale.ROOT));
  }

  /** The unit amounts are shown in: its name (appended to the numbers) and its size in units. */
  record Scale(String name, long size) {

    /** The largest unit in which {@code total} is at least 10, so amounts keep two digits. */
    static Scale of(Unit unit, long total) {
      List<Scale> scales =
          unit == Unit.BYTES
              ? List.of(new Scale(" B", 1), new Scale(" kB", 1_000), new Scale(" MB", 1_000_000))
              : List.of(
                  new Scale(" tokens", 1),
                  new Scale("K tokens", 1_000),
                  new Scale("M tokens", 1_000_000));
      if (total <= 0) {
        return scales.get(1);
      }
      Scale best = scales.get(0);
      for (Scale s : scales) {
        if (total / s.size() >= 10) {
          best = s;
        }
      }
      return best;
    }
  }

  /**
   * Whether stderr is a terminal that redraws a line: asked of the operating system through jline
   * (isatty), and not {@code TERM=dumb}.
   */
  static boolean stderrIsTerminal() {
    if ("dumb".equals(System.getenv("TERM"))) {
      return false;
    }
    for (String provider : List.of("jni", "exec")) {
      try {
        return TerminalProvider.load(provider).isSystemStream(SystemStream.Error);
      } catch (Exception | LinkageError e) {
        // this provider is not available here: ask the next one
      }
    }
    return false;
  }

  /**
   * The library's carriage-return line, whose end this class writes itself: the line is ended
   * exactly once, whether or not the bar's closing redraw ran.
   */
  private static final class TerminalLine extends ConsoleProgressBarConsumer {
    private final PrintStream out;
    private volatile boolean drawn;

    TerminalLine(PrintStream out) {
      super(out);
      this.out = out;
    }

    @Override
    public void accept(String rendered) {
      super.accept(rendered);
      out.flush();
      drawn = true;
    }

    @Override
    public void close() {
      out.flush();
    }

    void endLine() {
      if (drawn) {
        out.println();
        out.flush();
      }
    }
  }
}
