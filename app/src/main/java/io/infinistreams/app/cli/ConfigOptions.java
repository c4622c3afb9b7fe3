package io.infinistreams.app.cli;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The configuration flags every command shares (a picocli mixin): {@code --config FILE}, {@code
 * --set key=value}, and first-class flags for the most used keys. {@link #load()} merges them over
 * the environment and the file (see {@link AppConfig}).
 */
public final class ConfigOptions {

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file with configuration keys (see docs/configuration.md).")
  Path file;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      mapFallbackValue = "",
      description =
          "Set a configuration key (repeatable); wins over the file and INFINI_* "
              + "environment variables. Keys prefixed 'kafka.' pass through to every Kafka "
              + "client (e.g. kafka.security.protocol), keys prefixed 'streams.' to Kafka "
              + "Streams only.")
  Map<String, String> set = new LinkedHashMap<>();

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT[,...]",
      description = "Kafka brokers (key bootstrap.servers). Empty: embedded broker.")
  String bootstrapServers;

  @Option(
      names = "--application-id",
      paramLabel = "ID",
      description = "Kafka Streams application id (key application.id).")
  String applicationId;

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description = "Folder of the local RocksDB stores (key state.dir).")
  String stateDir;

  /** The effective configuration: defaults < file < environment < these flags. */
  public AppConfig load() {
    return load(System.getenv());
  }

  AppConfig load(Map<String, String> environment) {
    AppConfig.Builder b = AppConfig.builder().environment(environment);
    if (file != null) {
      b.file(file);
    }
    b.overrides(set);
    if (bootstrapServers != null) {
      b.override(ConfigKeys.BOOTSTRAP_SERVERS, bootstrapServers);
    }
    if (applicationId != null) {
      b.override(ConfigKeys.APPLICATION_ID, applicationId);
    }
    if (stateDir != null) {
      b.override(ConfigKeys.STATE_DIR, stateDir);
    }
    return b.build();
  }
}
