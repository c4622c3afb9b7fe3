package io.infinistreams.app;

import picocli.CommandLine;

/**
 * Registers the model module's commands (bench, train, eval) under {@code infini}, so one
 * launcher runs everything.
 */
final class ModelCommands {
  private ModelCommands() {}

  static void register(CommandLine cl) {
    // Filled in as the model module's picocli commands land.
  }
}
