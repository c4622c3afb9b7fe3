package io.infinistreams.training.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import io.infinistreams.training.eval.PasskeyEval.Cell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link PasskeyEval.Journal} in a JSON-lines file: a header line saying what is evaluated
 * (model fingerprint and config, seed, depths, trials per cell), then one line per finished
 * cell, appended and flushed as the cell finishes. {@code eval --resume} reads it back and runs
 * only the cells it lacks; a header that differs from the run's is refused, so cells of another
 * model or grid never mix into a result. A last line cut short by a kill is dropped (its cell
 * runs again).
 */
final class CellJournal implements PasskeyEval.Journal {
  private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues()
      .disableHtmlEscaping().create();

  /** One line after the header. */
  private record Line(int length, int depthIndex, double seconds, List<PasskeyEval.Trial> trials) {}

  private final Path file;
  private final Map<Long, Cell> cells = new HashMap<>();

  /**
   * Opens {@code file} for a run described by {@code header}. With {@code resume} an existing
   * file's cells are read back (its header must equal this one); otherwise the file starts anew.
   *
   * @throws IllegalArgumentException if resuming a journal written for another run
   */
  CellJournal(Path file, Map<String, Object> header, boolean resume, PrintStream log)
      throws IOException {
    this.file = file;
    String head = GSON.toJson(header);
    if (resume && Files.exists(file)) {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      if (lines.isEmpty() || !lines.get(0).equals(head)) {
        throw new IllegalArgumentException(file + " was written for another run, so its cells"
            + " cannot be reused:\n  it has:  " + (lines.isEmpty() ? "(empty)" : lines.get(0))
            + "\n  this is: " + head + "\nrun without --resume, or with another --out");
      }
      List<String> kept = new ArrayList<>(List.of(head));
      for (int i = 1; i < lines.size(); i++) {
        Line line;
        try {
          line = GSON.fromJson(lines.get(i), Line.class);
        } catch (JsonParseException e) {
          line = null;
        }
        if (line == null || line.trials() == null) {
          if (i == lines.size() - 1) {
            log.println(file + ": dropped its last line, cut short (that cell runs again)");
            break;
          }
          throw new IllegalArgumentException(file + " line " + (i + 1) + " is not a cell");
        }
        cells.put(key(line.length(), line.depthIndex()),
            new Cell(List.copyOf(line.trials()), line.seconds()));
        kept.add(lines.get(i));
      }
      Files.write(file, kept, StandardCharsets.UTF_8);
      log.println(file + ": " + cells.size() + " finished cells read back");
    } else {
      Files.write(file, List.of(head), StandardCharsets.UTF_8);
    }
  }

  private static long key(int length, int depthIndex) {
    return (long) length << 20 | depthIndex;
  }

  @Override
  public synchronized Cell done(int length, int depthIndex) {
    return cells.get(key(length, depthIndex));
  }

  @Override
  public synchronized void finished(int length, int depthIndex, Cell cell) {
    cells.put(key(length, depthIndex), cell);
    String line = GSON.toJson(new Line(length, depthIndex, cell.seconds(), cell.trials())) + "\n";
    try {
      Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.APPEND,
          StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(file + ": cannot keep a finished cell", e);
    }
  }
}
