package io.infinistreams.app.runtime;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * The one place the application's Kafka clients get their settings: the {@code kafka.*} keys
 * ({@link AppConfig#kafkaClientProperties()}, e.g. security) plus the bootstrap servers, for the
 * admin clients of topic creation, the client commands' producers, consumers and admin clients, and
 * (through {@link StreamsWiring}) Kafka Streams. Also checks, before a command starts working, that
 * the brokers answer with these settings ({@link #requireReachable}).
 */
public final class KafkaClients {

  /** How long {@link #requireReachable} waits for a TCP connection to one bootstrap address. */
  static final int CONNECT_TIMEOUT_MS = 1500;

  /** How long {@link #requireReachable} waits for the brokers to answer once connected. */
  public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);

  private KafkaClients() {}

  /**
   * The {@code kafka.*} settings (prefix removed) and {@code bootstrap.servers}: the base of every
   * client's properties. The caller adds its own settings, which win.
   */
  public static Properties properties(AppConfig config, String bootstrapServers) {
    Properties p = new Properties();
    p.putAll(config.kafkaClientProperties());
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    return p;
  }

  /** An admin client with {@link #properties} and {@code client.id}. */
  public static Admin admin(AppConfig config, String bootstrapServers, String clientId) {
    Properties p = properties(config, bootstrapServers);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
    return Admin.create(p);
  }

  /**
   * Fails fast, with a one-line {@link CliException}, unless a broker at {@code bootstrapServers}
   * answers a cluster description with the {@code kafka.*} settings: first a TCP connection to each
   * address ({@value #CONNECT_TIMEOUT_MS} ms each; refused at once when nothing listens), then an
   * admin request ({@link #ANSWER_TIMEOUT}), whose authentication failure or silence (a listener
   * expecting another security protocol) is named in the message.
   *
   * @param where where the address came from, for the message (e.g. {@code bootstrap.servers})
   * @param whatToDo the advice appended when nothing listens at the address
   */
  public static void requireReachable(
      AppConfig config, String bootstrapServers, String where, String whatToDo)
      throws InterruptedException {
    List<String> refusals = new ArrayList<>();
    boolean anyListens = false;
    for (String address : bootstrapServers.split(",")) {
      String a = address.strip();
      if (a.isEmpty()) {
        continue;
      }
      String refusal = tcpRefusal(a);
      if (refusal == null) {
        anyListens = true;
        break;
      }
      refusals.add(a + ": " + refusal);
    }
    if (!anyListens) {
      throw new CliException(
          "no Kafka broker answers at "
              + bootstrapServers
              + " ("
              + where
              + "; "
              + String.join(", ", refusals)
              + "): "
              + whatToDo);
    }
    String protocol =
        config
            .kafkaClientProperties()
            .getOrDefault(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT");
    int ms = (int) ANSWER_TIMEOUT.toMillis();
    Properties p = properties(config, bootstrapServers);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "infini-check");
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
    Admin admin;
    try {
      admin = Admin.create(p);
    } catch (KafkaException e) {
      throw new CliException(
          "cannot create a Kafka client with the kafka.* settings: " + oneLine(rootCause(e)));
    }
    try {
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(ms))
          .clusterId()
          .get(ms + 2000L, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof AuthorizationException) {
        return; // authenticated: what the application may do is the ACLs' business
      }
      if (cause instanceof AuthenticationException) {
        throw new CliException(
            "Kafka at "
                + bootstrapServers
                + " refused the client ("
                + oneLine(cause)
                + "): check kafka.security.protocol ("
                + protocol
                + "), kafka.sasl.mechanism and kafka.sasl.jaas.config, or the kafka.ssl.* keys");
      }
      if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
        throw silent(bootstrapServers, protocol);
      }
      throw new CliException("cannot talk to Kafka at " + bootstrapServers + ": " + oneLine(cause));
    } catch (TimeoutException e) {
      throw silent(bootstrapServers, protocol);
    } finally {
      admin.close(Duration.ZERO);
    }
  }

  private static CliException silent(String bootstrapServers, String protocol) {
    return new CliException(
        "Kafka at "
            + bootstrapServers
            + " accepts connections but did not answer within "
            + ANSWER_TIMEOUT.toSeconds()
            + " s with security protocol "
            + protocol
            + ": the listener probably expects another protocol or credentials; set "
            + "kafka.security.protocol and the kafka.sasl.* or kafka.ssl.* keys to the listener's");
  }

  /** Null if {@code hostPort} accepts a TCP connection, else why not. */
  private static String tcpRefusal(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) {
      return "not host:port";
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      return "not host:port";
    }
    InetSocketAddress address = new InetSocketAddress(host, port);
    if (address.isUnresolved()) {
      return "unknown host";
    }
    try (Socket socket = new Socket()) {
      socket.connect(address, CONNECT_TIMEOUT_MS);
      return null;
    } catch (java.net.SocketTimeoutException e) {
      return "no answer within " + CONNECT_TIMEOUT_MS + " ms";
    } catch (IOException e) {
      return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }

  /** The exception's message on one line (its class name if it has none). */
  public static String oneLine(Throwable t) {
    if (t == null) {
      return "unknown error";
    }
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    return m.replaceAll("\\s+", " ").strip();
  }
}
