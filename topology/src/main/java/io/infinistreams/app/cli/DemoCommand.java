package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.ModelLoader;
import io.infinistreams.app.runtime.PasskeyDemo;
import io.infinistreams.model.InfiniModel;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code infini demo}: broker, processor and a passkey document, in one process. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"In one process: an embedded Kafka broker (unless bootstrap.servers is set) "
        + "and the processor; streams a passkey document through Kafka as APPEND events, asks "
        + "for the key (GENERATE, raw format) and prints the answer, whether it is right, the "
        + "end-to-end tokens/s and the state bytes per key."})
public final class DemoCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;

  @Option(names = "--length", paramLabel = "TOKENS", defaultValue = "1000000",
      description = "Document plus question, in tokens (bytes). Default: ${DEFAULT-VALUE}.")
  int length;

  @Option(names = "--depth", paramLabel = "FRACTION", defaultValue = "0.5",
      description = "Where the needle sits in the filler, 0 (start) to 1 (end). Default: ${DEFAULT-VALUE}.")
  double depth;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
      description = "Draws the pass key. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--key", paramLabel = "STREAM_ID",
      description = "Stream id. Default: passkey-<seed>.")
  String streamId;

  @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "8",
      description = "Tokens generated for the answer. Default: ${DEFAULT-VALUE}.")
  int maxTokens;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "7200",
      description = "How long the whole document may take. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  /** The last run's result (for tests driving the command line). */
  PasskeyDemo.Result result;

  @Override
  public Integer call() throws Exception {
    if (!(depth >= 0 && depth <= 1)) {
      throw new CliException("--depth must be in [0, 1], got " + depth);
    }
    AppConfig config = configOptions.load();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    PasskeyDemo.Params params = new PasskeyDemo.Params(length, depth, seed,
        streamId != null ? streamId : "passkey-" + seed, maxTokens,
        Duration.ofSeconds(timeoutSeconds));
    try {
      PasskeyDemo.document(params);
    } catch (IllegalArgumentException e) {
      throw new CliException("--length: " + e.getMessage());
    }
    ModelLoader.Loaded loaded = ModelLoader.load(config);
    try (InfiniModel model = loaded.model()) {
      out.println("model:      " + loaded.description() + ", fingerprint "
          + model.fingerprint().substring(0, 12));
      out.flush();
      try (InfiniApp app = InfiniApp.start(config, model, Duration.ofMinutes(3))) {
        out.println("kafka:      " + (app.embeddedBrokerDataDir() != null
            ? "embedded broker " + app.bootstrapServers() + ", data in "
                + app.embeddedBrokerDataDir().toAbsolutePath()
            : app.bootstrapServers()) + "; state in " + app.stateDir().toAbsolutePath());
        out.printf(Locale.ROOT, "document:   %,d tokens, needle at depth %.2f, stream '%s'%n",
            length, depth, params.streamId());
        out.flush();
        try {
          result = PasskeyDemo.run(app, params, err);
        } catch (TimeoutException | StreamClient.RejectedException e) {
          throw new CliException("demo: " + e.getMessage(), e);
        }
      }
    }
    PasskeyDemo.Result r = result;
    out.printf(Locale.ROOT, "key:        %d (needle at token %,d)%n", r.key(), r.needleOffset());
    out.printf(Locale.ROOT, "answer:     \"%s\"%n", r.answer().replace("\n", "\\n"));
    out.printf(Locale.ROOT, "correct:    %s%n", r.correct() ? "yes"
        : "no" + (r.answerKey().isPresent() ? "" : " (no number in the answer)"));
    out.printf(Locale.ROOT, "throughput: %,.0f tokens/s end to end (%,d tokens in %,d events, "
        + "%.1f s; absorbing the document took %.1f s)%n", r.tokensPerSecond(), r.tokens(),
        r.events(), r.totalSeconds(), r.absorbSeconds());
    out.printf(Locale.ROOT, "state:      %,d bytes per key (%d session + %d head-memory records; "
        + "%,d tokens in context, %,d segments in memory)%n", r.state().bytes(),
        r.state().sessionRecords(), r.state().memoryRecords(), r.tokensInContext(),
        r.segmentsInMemory());
    out.flush();
    return 0;
  }
}
