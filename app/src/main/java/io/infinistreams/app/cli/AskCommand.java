package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code infini ask KEY PROMPT}: one GENERATE, and its reply. */
@Command(
    name = "ask",
    mixinStandardHelpOptions = true,
    description = {
      "Send a GENERATE event to a stream and print the reply (stdout) when its "
          + "output event arrives. The prompt and the reply join the stream's context."
    })
public final class AskCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;
  @Mixin GenerationOptions generationOptions;
  @Mixin OpsOptions opsOptions;

  @Parameters(index = "0", paramLabel = "KEY", description = "Stream id.")
  String key;

  @Parameters(index = "1", paramLabel = "PROMPT", description = "The prompt.")
  String prompt;

  @Option(
      names = "--seq",
      paramLabel = "N",
      description =
          "Sequence number of the event. Default: one after the last one the stream "
              + "has used, asked of the operations server (see --ops-url).")
  Long seq;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description =
          "How long to wait for the reply (the processor may still be absorbing "
              + "earlier events). Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    var generation = generationOptions.generation(config, PromptFormat.CHAT);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key)) {
      long s = seq != null ? seq : opsOptions.lastSeq(config, client, err) + 1;
      OutputEvent reply;
      for (int attempt = 0; ; attempt++) {
        client.generate(s, prompt, generation);
        client.flush();
        try {
          reply = client.awaitOutput(s, Duration.ofSeconds(timeoutSeconds));
          break;
        } catch (TimeoutException e) {
          throw new CliException(
              e.getMessage() + " (is `infini run` running? was seq " + s + " already used?)");
        } catch (StreamClient.RejectedException e) {
          long expected = e.expectedSeq();
          if (seq == null && attempt == 0 && expected > 0 && expected != s) {
            s = expected; // numbered by us, not the user: send again at the seq it expects
            continue;
          }
          throw new CliException("stream '" + key + "': " + e.getMessage());
        }
      }
      out.println(reply.getGeneratedText() == null ? "" : reply.getGeneratedText());
      out.flush();
      err.printf(
          Locale.ROOT,
          "[stream '%s' seq %d: %,d tokens in context, %,d segments in memory, %.1f ms]%n",
          key,
          s,
          reply.getTokensTotal(),
          reply.getSegmentsTotal(),
          reply.getLatencyMicros() / 1e3);
      err.flush();
    }
    return 0;
  }
}
