package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.schemas.OutputEvent;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * A command that sends one text-less event (RESET, DELETE) to a stream with its next seq and waits
 * for its output: {@link ResetCommand}, {@link DeleteCommand}.
 */
abstract class StreamEventCommand implements Callable<Integer> {

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
      description = "How long to wait for the event to be applied. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  /** Sends the event with sequence number {@code seq}. */
  abstract Future<RecordMetadata> send(StreamClient client, long seq, String pin);

  /** What was done, for the line printed once the event is applied. */
  abstract String done(OutputEvent out);

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    PrintWriter err = spec.commandLine().getErr();
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key)) {
      long s = seq != null ? seq : opsOptions.lastSeq(config, client, err) + 1;
      send(client, s, pin);
      client.flush();
      OutputEvent out;
      try {
        out = client.awaitOutput(s, Duration.ofSeconds(timeoutSeconds));
      } catch (TimeoutException e) {
        throw new CliException(e.getMessage() + " (is `infini run` running?)");
      } catch (StreamClient.RejectedException e) {
        throw new CliException("stream '" + key + "': " + e.getMessage());
      }
      err.printf(Locale.ROOT, "[stream '%s' seq %d: %s]%n", key, s, done(out));
      err.flush();
    }
    return 0;
  }
}
