package io.infinistreams.training;

import io.infinistreams.training.eval.EvalCommand;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code infini-train}: the entry point of the training tools (train, eval, average). Only wires
 * the commands. The application ({@code bin/infini}) does not carry any of this.
 */
@Command(
    name = "infini-train",
    mixinStandardHelpOptions = true,
    version = "infini-streams 0.1.0",
    description = "Train, evaluate and average Infini-Streams model checkpoints.",
    subcommands = {
      TrainCommand.class,
      RecipeCommand.class,
      EvalCommand.class,
      AverageCommand.class
    })
public final class TrainMain implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command");
  }

  /** The command line with every command registered. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TrainMain());
    cl.addSubcommand(new CommandLine.HelpCommand());
    return cl.setCaseInsensitiveEnumValuesAllowed(true);
  }

  public static void main(String[] args) {
    // numbers in logs, manifests and results pages read the same on every machine (6.048, not
    // 6,048 under a German locale)
    Locale.setDefault(Locale.ROOT);
    // eval draws its heatmaps with AWT: no display needed, none opened
    System.setProperty("java.awt.headless", "true");
    System.exit(commandLine().execute(args));
  }
}
