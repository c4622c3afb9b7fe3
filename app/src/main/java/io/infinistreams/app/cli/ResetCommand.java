package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.schemas.OutputEvent;
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

/** {@code infini reset KEY [--pin FINGERPRINT]}: one RESET, and its output. */
@Command(
    name = "reset",
    mixinStandardHelpOptions = true,
    description = {
      "Send a RESET to a stream: its memory and context are deleted, its sequence goes on. "
          + "With --pin, the RESET names the serving model, which also moves a stream written "
          + "by another model to it (an unpinned RESET of such a stream is refused unless "
          + "model.upgrade.policy is serve, with that model loaded, or reset)."
    })
public final class ResetCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;
  @Mixin OpsOptions opsOptions;

  @Parameters(index = "0", paramLabel = "KEY", description = "Stream id.")
  String key;

  @Option(
      names = "--pin",
      paramLabel = "FINGERPRINT",
      description =
          "The serving model's fingerprint or a prefix of at least 12 hex digits (the "
              + "`infini_model_info` metric and GET /sessions/{key} show it).")
  String pin;

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
      defaultValue = "120",
      description = "How long to wait for the RESET to be applied. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    PrintWriter err = spec.commandLine().getErr();
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key)) {
      long s = seq != null ? seq : opsOptions.lastSeq(config, client, err) + 1;
      client.reset(s, pin);
      client.flush();
      OutputEvent out;
      try {
        out = client.awaitOutput(s, Duration.ofSeconds(timeoutSeconds));
      } catch (TimeoutException e) {
        throw new CliException(e.getMessage() + " (is `infini run` running?)");
      } catch (StreamClient.RejectedException e) {
        throw new CliException("stream '" + key + "': " + e.getMessage());
      }
      err.printf(
          Locale.ROOT,
          "[stream '%s' seq %d: reset under model %s]%n",
          key,
          s,
          out.getModelFingerprint().substring(0, 12));
      err.flush();
    }
    return 0;
  }
}
