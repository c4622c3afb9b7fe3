package io.infinistreams.app;

import io.infinistreams.app.bench.BenchCommand;
import io.infinistreams.app.bench.EndToEndBench;
import io.infinistreams.app.bench.SessionsBench;
import io.infinistreams.app.cli.AskCommand;
import io.infinistreams.app.cli.ChatCommand;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.cli.ConfigCommand;
import io.infinistreams.app.cli.DeleteCommand;
import io.infinistreams.app.cli.DemoCommand;
import io.infinistreams.app.cli.FeedCommand;
import io.infinistreams.app.cli.ResetCommand;
import io.infinistreams.app.cli.RunCommand;
import io.infinistreams.app.cli.SnapshotCommand;
import io.infinistreams.app.cli.TailCommand;
import io.infinistreams.app.runtime.KafkaClients;
import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import org.apache.kafka.common.KafkaException;
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
      ResetCommand.class,
      DeleteCommand.class,
      SnapshotCommand.class,
      ConfigCommand.class
    })
public final class Main implements Runnable {

  /** What {@code -V} prints, on the launcher and on every command. */
  public static final String VERSION = "infini-streams 0.1.0";

  /**
   * The client commands: they talk to Kafka only to send or read a few records, so the Kafka
   * clients' own log lines (retries, metadata, disconnects) would bury their one-line answers.
   */
  static final Set<String> CLIENT_COMMANDS = Set.of("feed", "ask", "chat", "tail");

  /**
   * The slf4j-simple key of the Kafka clients' log level; {@link #main} sets it to {@code error}
   * for the client commands unless the JVM was given a value.
   */
  static final String KAFKA_LOG_LEVEL = "org.slf4j.simpleLogger.log.org.apache.kafka";

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
    cl.addSubcommand(new SessionsBench());
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
          if (CLIENT_COMMANDS.contains(commandLine.getCommandName())
              && (ex instanceof IOException || ex instanceof KafkaException)) {
            // e.g. the broker went away while feed was sending: what failed, not a stack trace
            commandLine.getErr().println("infini: " + KafkaClients.oneLine(ex));
            commandLine.getErr().flush();
            return 1;
          }
          throw ex;
        });
    return cl;
  }

  public static void main(String[] args) {
    // numbers read the same on every machine (1,805.3 tokens/s, not 1.805,3 under a German locale)
    Locale.setDefault(Locale.ROOT);
    CommandLine cl = commandLine();
    cl.setExecutionStrategy(
        parsed -> {
          CommandLine.ParseResult sub = parsed.subcommand();
          if (sub != null
              && CLIENT_COMMANDS.contains(sub.commandSpec().name())
              && System.getProperty(KAFKA_LOG_LEVEL) == null) {
            // before the first Kafka client class asks for its logger
            System.setProperty(KAFKA_LOG_LEVEL, "error");
          }
          return new CommandLine.RunLast().execute(parsed);
        });
    System.exit(cl.execute(args));
  }
}
