package io.infinistreams.training.eval;

import io.infinistreams.training.eval.PasskeyEval.Cell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * A {@link PasskeyEval.Journal} in a JSON-lines file, a {@link TrialJournal} of passkey trials: a
 * header line saying what is evaluated (model fingerprint and config, seed, depths, trials per
 * cell), then one line per finished cell, appended and flushed as the cell finishes. {@code eval
 * --resume} reads it back and runs only the cells it lacks; a header that differs from the run's is
 * refused, so cells of another model or grid never mix into a result. A last line cut short by a
 * kill is dropped (its cell runs again).
 */
final class CellJournal implements PasskeyEval.Journal {
  private final TrialJournal<PasskeyEval.Trial> journal;

  /**
   * Opens {@code file} for a run described by {@code header}. With {@code resume} an existing
   * file's cells are read back (its header must equal this one); otherwise the file starts anew.
   *
   * @throws IllegalArgumentException if resuming a journal written for another run
   */
  CellJournal(Path file, Map<String, Object> header, boolean resume, PrintStream log)
      throws IOException {
    journal = new TrialJournal<>(file, header, resume, log, PasskeyEval.Trial.class);
  }

  @Override
  public Cell done(int length, int depthIndex) {
    TrialJournal.Cell<PasskeyEval.Trial> cell = journal.done(length, depthIndex);
    return cell == null ? null : new Cell(cell.trials(), cell.seconds());
  }

  @Override
  public void finished(int length, int depthIndex, Cell cell) {
    journal.finished(length, depthIndex, new TrialJournal.Cell<>(cell.trials(), cell.seconds()));
  }
}
