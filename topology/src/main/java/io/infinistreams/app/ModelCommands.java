package io.infinistreams.app;

import io.infinistreams.bench.EndToEndBench;
import java.util.List;
import picocli.CommandLine;

/**
 * Registers the other modules' commands under {@code infini}, so one launcher runs everything:
 * {@code bench-e2e} (topology), and the model module's {@code bench}, {@code train} and
 * {@code eval} where they are on the classpath.
 */
final class ModelCommands {

  /**
   * The model module's commands, looked up by name: they land independently of this module, and
   * a missing one is simply not offered.
   */
  private static final List<String> OPTIONAL = List.of(
      "io.infinistreams.model.cli.BenchCommand",
      "io.infinistreams.model.train.TrainCommand",
      "io.infinistreams.model.eval.EvalCommand");

  private ModelCommands() {}

  static void register(CommandLine cl) {
    cl.addSubcommand(new EndToEndBench());
    for (String name : OPTIONAL) {
      Object command;
      try {
        command = Class.forName(name).getDeclaredConstructor().newInstance();
      } catch (ClassNotFoundException absent) {
        continue;
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot create command " + name, e);
      }
      cl.addSubcommand(command);
    }
  }
}
