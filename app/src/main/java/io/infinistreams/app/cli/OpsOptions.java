package io.infinistreams.app.cli;

import io.infinistreams.app.client.SessionLookup;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.ops.KeyRouting;
import io.infinistreams.app.ops.OperationsServer;
import io.infinistreams.app.ops.Tls;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/**
 * The operations server the client commands ask where a stream is (a picocli mixin): {@code
 * --ops-url URL}. Without it: {@code http://<http.bind>:<http.port>} of the same configuration as
 * {@code run} (127.0.0.1 when {@code http.bind} listens on every interface; {@code https} with
 * {@code http.tls.keystore.path}, and then the advertised address instead of 127.0.0.1, which the
 * certificate names), by default {@code http://127.0.0.1:8480}. An {@code https} server's
 * certificate is checked against {@code http.tls.truststore.*}.
 */
public final class OpsOptions {

  /** How long a 503 (a rebalance, or the application starting) is asked again. */
  private static final Duration RETRY_503 = Duration.ofSeconds(15);

  @Option(
      names = "--ops-url",
      paramLabel = "URL",
      description =
          "Operations server of the application, asked for the stream's last applied "
              + "sequence number (GET /sessions/{key}); any instance answers for every key. "
              + "Default: http://<http.bind>:<http.port>, i.e. http://127.0.0.1:8480 "
              + "(https with http.tls.keystore.path, at the advertised address when http.bind "
              + "is a wildcard; its certificate is checked against http.tls.truststore.path). "
              + "With a token configured (http.auth.token.file), it is sent along. "
              + "Unreachable: the sequence number is read from the topics instead (a warning "
              + "says so), which fails once retention deleted the stream's records.")
  String opsUrl;

  /** The base URL to ask. */
  String url(AppConfig config) {
    if (opsUrl != null) {
      return opsUrl;
    }
    String bind = config.httpBind();
    String scheme = Tls.scheme(config);
    if (bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("[::]")) {
      if (scheme.equals("https")) {
        // a certificate names the address the instances advertise, rarely 127.0.0.1
        return KeyRouting.baseUrl(
            scheme, OperationsServer.advertisedAddress(config, bind, config.httpPort()));
      }
      bind = "127.0.0.1";
    } else if (bind.contains(":") && !bind.startsWith("[")) {
      bind = "[" + bind + "]";
    }
    return scheme + "://" + bind + ":" + config.httpPort();
  }

  /**
   * The last seq stream {@code client} has used, from the operations server (see {@link
   * StreamClient#lastSeq(SessionLookup, java.util.function.Consumer)}), warning on {@code err} when
   * it falls back to the topics.
   */
  long lastSeq(AppConfig config, StreamClient client, PrintWriter err) throws InterruptedException {
    return client.lastSeq(lookup(config), warnings(err));
  }

  /** Prints each warning of a seq lookup on {@code err}, one line each. */
  static Consumer<String> warnings(PrintWriter err) {
    return warning -> {
      err.println("infini: warning: " + warning);
      err.flush();
    };
  }

  /**
   * A client of the operations server ({@link #url}), asking again on 503 for a while, with the
   * bearer token of {@code http.auth.token} / {@code http.auth.token.file} if set.
   */
  SessionLookup lookup(AppConfig config) {
    try {
      return new SessionLookup(
          url(config), RETRY_503, config.httpAuthToken(), Tls.clientContext(config));
    } catch (IllegalArgumentException e) {
      throw new CliException("--ops-url: " + e.getMessage());
    }
  }
}
