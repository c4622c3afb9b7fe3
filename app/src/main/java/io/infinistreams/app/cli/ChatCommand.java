package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code infini chat KEY}: an interactive session over the input and output topics. */
@Command(
    name = "chat",
    mixinStandardHelpOptions = true,
    description = {
      "Interactive session with a stream: each line is a GENERATE in chat format "
          + "and the reply is printed. /reset sends RESET (the stream forgets everything), "
          + "/quit or Ctrl-D exits."
    })
public final class ChatCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;
  @Mixin GenerationOptions generationOptions;
  @Mixin OpsOptions opsOptions;

  @Parameters(index = "0", paramLabel = "KEY", description = "Stream id.")
  String key;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description = "How long to wait for each reply. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  /** Opens the terminal; tests replace it with one over in-memory streams. */
  Callable<Terminal> terminals = () -> TerminalBuilder.builder().system(true).dumb(true).build();

  /** A chat on the process's own terminal (what {@code infini chat} runs). */
  public ChatCommand() {}

  /** A chat on the terminals {@code terminals} opens (e.g. one over in-memory streams). */
  public ChatCommand(Callable<Terminal> terminals) {
    this.terminals = terminals;
  }

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    Generation generation = generationOptions.generation(config, PromptFormat.CHAT);
    PrintWriter err = spec.commandLine().getErr();
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key);
        Terminal terminal = terminals.call()) {
      LineReader reader = LineReaderBuilder.builder().terminal(terminal).appName("infini").build();
      PrintWriter out = terminal.writer();
      long seq = opsOptions.lastSeq(config, client, err);
      out.printf(
          "chat with stream '%s' (next seq %d). /help, /reset forgets, /quit or Ctrl-D exits.%n",
          key, seq + 1);
      while (true) {
        String line;
        try {
          line = reader.readLine(key + "> ");
        } catch (EndOfFileException | UserInterruptException e) {
          break;
        }
        line = line.strip();
        if (line.isEmpty()) {
          continue;
        }
        if (line.equals("/help")) { // a command of this client, never sent to the model
          out.println("/reset forgets the stream, /quit or Ctrl-D exits; any other line is sent.");
          out.flush();
          continue;
        }
        if (line.equals("/quit") || line.equals("/exit")) {
          break;
        }
        seq++;
        if (line.equals("/reset")) {
          client.reset(seq);
        } else {
          client.generate(seq, line, generation);
        }
        client.flush();
        try {
          OutputEvent reply = client.awaitOutput(seq, Duration.ofSeconds(timeoutSeconds));
          out.println(
              line.equals("/reset")
                  ? "(stream reset)"
                  : reply.getGeneratedText() == null ? "" : reply.getGeneratedText().strip());
        } catch (TimeoutException e) {
          err.println("infini: " + e.getMessage());
          err.flush();
        } catch (StreamClient.RejectedException e) {
          long expected = e.expectedSeq();
          err.println(
              "infini: "
                  + e.getMessage()
                  + (expected > 0
                      ? "; the stream expects seq " + expected + ": send it again"
                      : ""));
          err.flush();
          if (expected > 0) {
            seq = expected - 1;
          }
        }
        out.flush();
      }
    }
    return 0;
  }
}
