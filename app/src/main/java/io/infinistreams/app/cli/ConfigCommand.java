package io.infinistreams.app.cli;

import io.infinistreams.app.Main;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.CliDocs;
import io.infinistreams.app.config.ConfigDocs;
import io.infinistreams.app.config.ConfigKeys;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.apache.kafka.common.config.ConfigDef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code infini config show|docs}: the effective configuration, and the generated table. */
@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    description =
        "Show the effective configuration, or regenerate docs/configuration.md and "
            + "docs/cli.md.",
    subcommands = {ConfigCommand.Show.class, ConfigCommand.Docs.class})
public final class ConfigCommand {

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description =
          "Print every key's effective value and where it came from; values of secret "
              + "keys (passwords, JAAS configurations, secrets, tokens, private keys) show as [hidden].")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ConfigOptions configOptions;

    @Override
    public Integer call() {
      AppConfig config = configOptions.load();
      PrintWriter out = spec.commandLine().getOut();
      for (ConfigDef.ConfigKey key : ConfigKeys.DEFINITION.configKeys().values()) {
        out.printf(
            "%-28s = %-24s (%s)%n",
            key.name,
            ConfigKeys.maskIfSecret(
                key.name, ConfigDef.convertToString(config.get(key.name), key.type)),
            config.origins().get(key.name));
      }
      passThrough(out, config, ConfigKeys.KAFKA_PREFIX, config.kafkaClientProperties());
      passThrough(out, config, ConfigKeys.STREAMS_PREFIX, config.streamsOverrides());
      out.flush();
      return 0;
    }

    /** Pass-through keys, secrets ({@link ConfigKeys#isSecret}) shown as {@code [hidden]}. */
    private static void passThrough(
        PrintWriter out, AppConfig config, String prefix, java.util.Map<String, String> keys) {
      keys.forEach(
          (k, v) ->
              out.printf(
                  "%-28s = %-24s (%s)%n",
                  prefix + k,
                  ConfigKeys.maskIfSecret(prefix + k, v),
                  config.origins().get(prefix + k)));
    }
  }

  @Command(
      name = "docs",
      mixinStandardHelpOptions = true,
      description =
          "Write docs/configuration.md (and the README's table, between "
              + "<!-- config-table:begin --> and <!-- config-table:end -->) from the key "
              + "definitions, and docs/cli.md from the commands' help.")
  static final class Docs implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "REPO_ROOT",
        defaultValue = ".",
        description = "Repository root (default: the working directory).")
    Path root;

    @Override
    public Integer call() throws Exception {
      spec.commandLine().getOut().println("wrote " + ConfigDocs.write(root));
      if (ConfigDocs.writeIntoReadme(root)) {
        spec.commandLine().getOut().println("updated the table in " + root.resolve("README.md"));
      }
      spec.commandLine().getOut().println("wrote " + CliDocs.write(root, Main.commandLine()));
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
