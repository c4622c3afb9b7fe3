package io.infinistreams.training;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Drives a {@link Trainer}: steps until the configured step count or the wall budget, prints a
 * progress line every {@code logEvery} steps, and writes a checkpoint every {@code
 * checkpointSeconds} and at the end, or as soon as a stop is requested (SIGTERM or Ctrl-C through
 * {@link TrainCommand}'s shutdown hook), so an interrupted run loses at most one step.
 *
 * @param checkpointDir where the resumable checkpoint lives
 * @param logEvery steps per progress line
 * @param checkpointSeconds wall seconds between checkpoints
 * @param maxWallSeconds stop (with a checkpoint) once this process has trained this long; the
 *     schedule is by step, so a stopped run resumes exactly
 * @param command the command line, recorded in the checkpoint
 */
public record TrainingRun(
    Path checkpointDir,
    int logEvery,
    double checkpointSeconds,
    double maxWallSeconds,
    String command) {

  /**
   * Trains; returns the loss curve. {@code elapsedBefore}: wall seconds of the processes that ran
   * this run before (it was resumed); {@code stopRequested} is polled after every step.
   */
  public List<RunLog.Point> run(
      Trainer trainer,
      double elapsedBefore,
      List<RunLog.Point> history,
      PrintStream err,
      BooleanSupplier stopRequested) {
    RunLog log = new RunLog(history);
    long total = trainer.config().steps();
    long startStep = trainer.stepsDone();
    long t0 = System.nanoTime();
    double lastCheckpoint = 0;
    while (trainer.stepsDone() < total) {
      long s0 = System.nanoTime();
      StepResult r = trainer.step();
      double now = (System.nanoTime() - t0) / 1e9;
      log.add(r, (System.nanoTime() - s0) / 1e9);
      boolean last =
          trainer.stepsDone() >= total || now >= maxWallSeconds || stopRequested.getAsBoolean();
      if (trainer.stepsDone() % logEvery == 0 || last) {
        double perStep = now / (trainer.stepsDone() - startStep);
        RunLog.Point p = log.flush(elapsedBefore + now, trainer.gates());
        err.println(RunLog.format(p, total, perStep * (total - trainer.stepsDone())));
        err.flush();
      }
      if (last || now - lastCheckpoint >= checkpointSeconds) {
        if (!log.isEmpty()) {
          log.flush(elapsedBefore + now, trainer.gates());
        }
        TrainCheckpoint.save(trainer, checkpointDir, elapsedBefore + now, command, log.points());
        lastCheckpoint = now;
        err.println("checkpoint step " + trainer.stepsDone() + " -> " + checkpointDir);
      }
      if (last) {
        break;
      }
    }
    return log.points();
  }
}
