package io.infinistreams.training;

import io.infinistreams.training.eval.EvalCommand;
import java.util.List;
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

  /**
   * The command as typed, for manifests and results: its name and its own arguments (picocli's
   * original arguments, without those of {@code infini-train} before it). {@code fallback} when the
   * command was not run through picocli.
   */
  public static String typed(CommandSpec spec, String fallback) {
    if (spec == null || spec.commandLine().getParseResult() == null) {
      return fallback;
    }
    List<String> args = spec.commandLine().getParseResult().originalArgs();
    if (spec.commandLine().getParent() != null) {
      args = args.subList(args.indexOf(spec.name()) + 1, args.size());
    }
    return spec.name() + (args.isEmpty() ? "" : " " + String.join(" ", args));
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
