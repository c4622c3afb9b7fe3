package io.infinistreams.app.cli;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.ModelLoader;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.topology.Models;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code infini run}: the processor, until Ctrl-C or a fatal error. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run the stream processor. With bootstrap.servers empty, first starts an "
          + "embedded single-node KRaft broker in this JVM (clients on this machine find it "
          + "through <embedded.broker.dir>/bootstrap.servers). Creates missing topics. Stops on "
          + "Ctrl-C, leaving the consumer group."
    })
public final class RunCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;

  @Option(
      names = "--start-timeout",
      paramLabel = "SECONDS",
      defaultValue = "180",
      description =
          "How long start-up (broker, topics, restore) may take. Default: ${DEFAULT-VALUE}.")
  long startTimeoutSeconds;

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    PrintWriter out = spec.commandLine().getOut();
    ModelLoader.LoadedModels loaded = ModelLoader.loadAll(config);
    List<InfiniModel> models = loaded.models().all();
    for (int i = 0; i < models.size(); i++) {
      out.println(
          (i == 0 ? "model: " : "previous model: ")
              + loaded.descriptions().get(i)
              + ", fingerprint "
              + models.get(i).fingerprint().substring(0, 12));
    }
    if (models.size() > 1 || loaded.models().policy() != Models.UpgradePolicy.DEAD_LETTER) {
      out.println(
          "streams of other models: "
              + loaded.models().policy().configName()
              + " (model.upgrade.policy)");
    }
    out.flush();
    InfiniApp app;
    try {
      app = InfiniApp.start(config, loaded.models(), Duration.ofSeconds(startTimeoutSeconds));
    } catch (RuntimeException | InterruptedException e) {
      loaded.close();
      throw e;
    }
    Thread hook =
        new Thread(
            () -> {
              app.close();
              loaded.close();
            },
            "infini-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    if (app.embeddedBrokerDataDir() != null) {
      out.println(
          "embedded broker: "
              + app.bootstrapServers()
              + ", data in "
              + app.embeddedBrokerDataDir().toAbsolutePath());
    }
    if (app.operationsUrl() != null) {
      out.println(
          "operations: "
              + app.operationsUrl()
              + " (/metrics, /health/live, /health/ready, /sessions)");
    }
    out.println(
        "running: input "
            + config.inputTopic()
            + ", output "
            + config.outputTopic()
            + ", dead letters "
            + config.deadLetterTopic()
            + "; state in "
            + app.stateDir().toAbsolutePath()
            + ". Ctrl-C stops.");
    out.flush();
    Throwable failure = app.awaitTermination();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      return 0; // Ctrl-C: the hook closes everything
    }
    app.close();
    loaded.close();
    if (failure != null) {
      spec.commandLine().getErr().println("infini: processor stopped: " + failure);
      return 1;
    }
    return 0;
  }
}
