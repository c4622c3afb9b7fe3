package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where client commands find Kafka. With {@code bootstrap.servers} set, there. Without it, at the
 * embedded broker of a running {@code infini run}: its port is chosen at start, so {@code run}
 * publishes the address in {@code <embedded.broker.dir>/bootstrap.servers} while it runs.
 */
public final class BrokerAddress {

  /** The file {@code run} writes the embedded broker's address to. */
  public static Path file(AppConfig config) {
    return config.embeddedBrokerDir().resolve("bootstrap.servers");
  }

  private BrokerAddress() {}

  /**
   * The bootstrap servers a client should use, checked: a broker answers there with the {@code
   * kafka.*} client settings ({@link KafkaClients#requireReachable}), so a stale address (the file
   * of an embedded broker that died, a broker that is down) fails in a second or two with a
   * one-line message instead of a client waiting out its timeouts.
   *
   * @throws CliException if none is configured and no embedded broker has published one, or if no
   *     broker answers at the address
   */
  public static String forClient(AppConfig config) throws InterruptedException {
    if (!config.useEmbeddedBroker()) {
      String address = config.bootstrapServers();
      KafkaClients.requireReachable(
          config,
          address,
          "bootstrap.servers from " + config.origins().get("bootstrap.servers"),
          "start the brokers (or `bin/infini run` for an embedded one) or pass"
              + " --bootstrap-servers HOST:PORT of a running one");
      return address;
    }
    Path file = file(config);
    try {
      if (Files.exists(file)) {
        String address = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (!address.isEmpty()) {
          KafkaClients.requireReachable(
              config,
              address,
              "the address in " + file + ", left by an embedded broker that is no longer running",
              "start `bin/infini run`, or pass --bootstrap-servers HOST:PORT");
          return address;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    throw new CliException(
        "no broker: bootstrap.servers is empty and no embedded broker is "
            + "running ("
            + file
            + " is missing). Start `infini run` first, or pass "
            + "--bootstrap-servers.");
  }

  /** Publishes the embedded broker's address (called by {@code run}). */
  static void publish(AppConfig config, String bootstrapServers) {
    try {
      Path file = file(config);
      Files.createDirectories(file.getParent());
      Files.writeString(file, bootstrapServers + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file(config), e);
    }
  }

  /** Removes the published address (the broker is stopping). */
  static void withdraw(AppConfig config) {
    try {
      Files.deleteIfExists(file(config));
    } catch (IOException e) {
      // best effort: a stale file only makes a client fail to connect, with a clear error
    }
  }
}
