package io.infinistreams.training.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The finished cells of a grid (length x depth) in a JSON-lines file, for trials of any record type
 * {@code T}: a header line saying what is evaluated (model fingerprint and config, seed, depths,
 * trials per cell, ...), then one line per finished cell, appended and flushed as the cell
 * finishes. {@code eval --resume} reads it back and runs only the cells it lacks; a header that
 * differs from the run's is refused, so cells of another model or grid never mix into a result. A
 * last line cut short by a kill is dropped (its cell runs again).
 *
 * <p>Lines have the shape of {@link CellJournal}'s: {@code {"length", "depthIndex", "seconds",
 * "trials"}}.
 *
 * @param <T> a trial, serialised with Gson
 */
final class TrialJournal<T> {
  private static final Gson GSON =
      new GsonBuilder().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();

  /** One line after the header. */
  private record Line<T>(int length, int depthIndex, double seconds, List<T> trials) {}

  /** The trials of one (length, depth) and the wall seconds they took to run. */
  record Cell<T>(List<T> trials, double seconds) {}

  private final Path file;
  private final Map<Long, Cell<T>> cells = new HashMap<>();

  /**
   * Opens {@code file} for a run described by {@code header}. With {@code resume} an existing
   * file's cells are read back (its header must equal this one); otherwise the file starts anew.
   *
   * @param trial the trials' type
   * @throws IllegalArgumentException if resuming a journal written for another run
   */
  TrialJournal(
      Path file, Map<String, Object> header, boolean resume, PrintStream log, Class<T> trial)
      throws IOException {
    this.file = file;
    String head = GSON.toJson(header);
    if (!resume || !Files.exists(file)) {
      Files.write(file, List.of(head), StandardCharsets.UTF_8);
      return;
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    if (lines.isEmpty() || !lines.get(0).equals(head)) {
      throw new IllegalArgumentException(
          file
              + " was written for another run, so its cells"
              + " cannot be reused:\n  it has:  "
              + (lines.isEmpty() ? "(empty)" : lines.get(0))
              + "\n  this is: "
              + head
              + "\nrun without --resume, or with another --out");
    }
    Type type = TypeToken.getParameterized(Line.class, trial).getType();
    List<String> kept = new ArrayList<>(List.of(head));
    for (int i = 1; i < lines.size(); i++) {
      Line<T> line;
      try {
        line = GSON.fromJson(lines.get(i), type);
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
      cells.put(
          key(line.length(), line.depthIndex()),
          new Cell<>(List.copyOf(line.trials()), line.seconds()));
      kept.add(lines.get(i));
    }
    Files.write(file, kept, StandardCharsets.UTF_8);
    log.println(file + ": " + cells.size() + " finished cells read back");
  }

  private static long key(int length, int depthIndex) {
    return (long) length << 20 | depthIndex;
  }

  /** The finished cell (length, depth), or null if it has not run. */
  synchronized Cell<T> done(int length, int depthIndex) {
    return cells.get(key(length, depthIndex));
  }

  /** Keeps a cell that has just finished. */
  synchronized void finished(int length, int depthIndex, Cell<T> cell) {
    cells.put(key(length, depthIndex), cell);
    String line = GSON.toJson(new Line<>(length, depthIndex, cell.seconds(), cell.trials())) + "\n";
    try {
      Files.writeString(
          file, line, StandardCharsets.UTF_8, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot keep a finished cell", e);
    }
  }
}
