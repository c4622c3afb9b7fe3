package io.infinistreams.app;

import io.infinistreams.bench.EndToEndBench;
import io.infinistreams.model.cli.BenchCommand;
import io.infinistreams.model.eval.EvalCommand;
import io.infinistreams.model.train.AverageCommand;
import io.infinistreams.model.train.TrainCommand;
import picocli.CommandLine;

/**
 * Registers the other modules' commands under {@code infini}, so one launcher runs everything:
 * the model module's {@code bench}, {@code train}, {@code eval} and {@code average}, and the
 * topology's {@code bench-e2e}.
 */
final class ModelCommands {
  private ModelCommands() {}

  static void register(CommandLine cl) {
    cl.addSubcommand(new BenchCommand());
    cl.addSubcommand(new TrainCommand());
    cl.addSubcommand(new EvalCommand());
    cl.addSubcommand(new AverageCommand());
    cl.addSubcommand(new EndToEndBench());
  }
}
