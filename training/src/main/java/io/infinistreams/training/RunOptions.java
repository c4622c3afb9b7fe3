package io.infinistreams.training;

import picocli.CommandLine.Option;

/**
 * How a training process reports and checkpoints: the options {@code train} and {@code recipe}
 * share.
 */
public final class RunOptions {

  @Option(
      names = "--log-every",
      defaultValue = "10",
      description = "Steps per progress line (default ${DEFAULT-VALUE}).")
  int logEvery;

  @Option(
      names = "--checkpoint-minutes",
      defaultValue = "5",
      description = "Minutes between checkpoints (default ${DEFAULT-VALUE}).")
  double checkpointMinutes;

  @Option(
      names = "--max-minutes",
      defaultValue = "1e9",
      description =
          "Stop (with a checkpoint) after this many minutes in this process; the same"
              + " command with --resume (train) or again (recipe) continues.")
  double maxMinutes;
}
