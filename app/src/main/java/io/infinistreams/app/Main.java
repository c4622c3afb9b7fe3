package io.infinistreams.app;

import io.infinistreams.app.bench.BenchCommand;
import io.infinistreams.app.bench.EndToEndBench;
import io.infinistreams.app.cli.AskCommand;
import io.infinistreams.app.cli.ChatCommand;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.cli.ConfigCommand;
import io.infinistreams.app.cli.DemoCommand;
import io.infinistreams.app.cli.FeedCommand;
import io.infinistreams.app.cli.RunCommand;
import io.infinistreams.app.cli.TailCommand;
import org.apache.kafka.common.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code infini}: the launcher's entry point. Only wires the commands; each lives in {@code
 * io.infinistreams.app.cli}.
 */
@Command(
    name = "infini",
    mixinStandardHelpOptions = true,
    version = Main.VERSION,
    description =
        "Kafka Streams with an unbounded per-key context (Infini-attention memory in RocksDB).",
    subcommands = {
      RunCommand.class,
      FeedCommand.class,
      AskCommand.class,
      ChatCommand.class,
      DemoCommand.class,
      TailCommand.class,
      ConfigCommand.class
    })
public final class Main implements Runnable {

  /** What {@code -V} prints, on the launcher and on every command. */
  public static final String VERSION = "infini-streams 0.1.0";

  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command");
  }

  /**
   * The command line with every command registered and user errors printed without stack traces.
   */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.addSubcommand(new BenchCommand());
    cl.addSubcommand(new EndToEndBench());
    cl.addSubcommand(new CommandLine.HelpCommand());
    for (CommandLine sub : cl.getSubcommands().values()) {
      sub.getCommandSpec().version(VERSION); // -V on a command prints the version too
    }
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          if (ex instanceof CliException || ex instanceof ConfigException) {
            commandLine.getErr().println("infini: " + ex.getMessage());
            commandLine.getErr().flush();
            return 2;
          }
          throw ex;
        });
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
