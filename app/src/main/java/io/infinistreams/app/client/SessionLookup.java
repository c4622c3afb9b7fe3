package io.infinistreams.app.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.app.ops.KeyRouting;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import javax.net.ssl.SSLContext;

/**
 * Asks the application's operations server for the last sequence number it applied to a stream:
 * {@code GET <ops-url>/sessions/<key>} (the key percent-encoded), answered by whichever instance
 * owns the key. A 503 (the key's partition is moving between instances, or the application is
 * starting) is asked again until a deadline.
 */
public final class SessionLookup {

  /** The operations server could not say: unreachable, an error status, or an unreadable body. */
  public static final class UnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    UnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  private final URI base;
  private final Duration retryFor;
  private final String token; // empty: no Authorization header
  private final HttpClient http;
  private final ObjectMapper json = new ObjectMapper();

  /**
   * A lookup against the operations server at {@code baseUrl} (e.g. {@code http://127.0.0.1:8480}),
   * asking again on 503 for up to {@code retryFor}.
   *
   * @throws IllegalArgumentException if {@code baseUrl} is not an http(s) URL
   */
  public SessionLookup(String baseUrl, Duration retryFor) {
    this(baseUrl, retryFor, "");
  }

  /**
   * As {@link #SessionLookup(String, Duration)}, sending {@code Authorization: Bearer <token>} with
   * every request unless {@code token} is empty ({@code http.auth.token}).
   */
  public SessionLookup(String baseUrl, Duration retryFor, String token) {
    this(baseUrl, retryFor, token, (SSLContext) null);
  }

  /**
   * As {@link #SessionLookup(String, Duration, String)}, an {@code https://} server's certificate
   * checked against {@code tls} ({@code Tls.clientContext}; null: the JVM's default trust store).
   */
  public SessionLookup(String baseUrl, Duration retryFor, String token, SSLContext tls) {
    this(baseUrl, retryFor, token, client(tls));
  }

  /** As {@link #SessionLookup(String, Duration, String)}, through {@code http}. */
  public SessionLookup(String baseUrl, Duration retryFor, String token, HttpClient http) {
    this.http = http;
    this.token = token == null ? "" : token.strip();
    String trimmed = baseUrl.strip();
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    URI uri;
    try {
      uri = URI.create(trimmed);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a URL: " + baseUrl, e);
    }
    if (uri.getScheme() == null
        || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
        || uri.getHost() == null) {
      throw new IllegalArgumentException("not an http:// or https:// URL: " + baseUrl);
    }
    this.base = uri;
    this.retryFor = retryFor;
  }

  private static HttpClient client(SSLContext tls) {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3));
    if (tls != null) {
      b.sslContext(tls);
    }
    return b.build();
  }

  /** The base URL asked. */
  public String url() {
    return base.toString();
  }

  /**
   * The last sequence number the application applied to stream {@code key}; 0 if it has no session
   * with that key (404: a new stream, or one whose memory was never written).
   *
   * @throws UnavailableException if the server cannot be reached or does not answer 200 or 404
   */
  public long lastAppliedSeq(String key) throws UnavailableException, InterruptedException {
    URI uri = URI.create(base + "/sessions/" + KeyRouting.encodeKey(key));
    HttpRequest request =
        authorized(HttpRequest.newBuilder(uri))
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .GET()
            .build();
    long deadline = System.nanoTime() + retryFor.toNanos();
    while (true) {
      HttpResponse<String> response;
      try {
        response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UnavailableException(url() + " is unreachable (" + e + ")", e);
      }
      int status = response.statusCode();
      if (status == 404) {
        return 0;
      }
      if (status == 200) {
        try {
          JsonNode body = json.readTree(response.body());
          JsonNode lastSeq = body == null ? null : body.get("lastSeq");
          if (lastSeq == null || !lastSeq.canConvertToLong() || lastSeq.asLong() < 0) {
            throw new UnavailableException(
                uri + " answered without a lastSeq: " + abbreviate(response.body()), null);
          }
          return lastSeq.asLong();
        } catch (IOException e) {
          throw new UnavailableException(
              uri + " answered with a body that is not JSON: " + abbreviate(response.body()), e);
        }
      }
      if (status != 503 || System.nanoTime() - deadline > 0) {
        throw new UnavailableException(
            uri + " answered " + status + ": " + abbreviate(response.body()) + hint(status), null);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200)); // back off before asking again
    }
  }

  /**
   * The snapshot of stream {@code key} ({@code GET <ops-url>/sessions/<key>/snapshot}): a
   * SessionSnapshot's single-object encoding, or null if the application has no session with that
   * key.
   *
   * @throws UnavailableException if the server cannot be reached or does not answer 200 or 404
   */
  public byte[] snapshot(String key) throws UnavailableException, InterruptedException {
    URI uri = URI.create(base + "/sessions/" + KeyRouting.encodeKey(key) + "/snapshot");
    HttpRequest request =
        authorized(HttpRequest.newBuilder(uri)).timeout(REQUEST_TIMEOUT).GET().build();
    long deadline = System.nanoTime() + retryFor.toNanos();
    while (true) {
      HttpResponse<byte[]> response;
      try {
        response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      } catch (IOException e) {
        throw new UnavailableException(url() + " is unreachable (" + e + ")", e);
      }
      int status = response.statusCode();
      if (status == 404) {
        return null;
      }
      if (status == 200) {
        return response.body();
      }
      String body = new String(response.body(), StandardCharsets.UTF_8);
      if (status != 503 || System.nanoTime() - deadline > 0) {
        throw new UnavailableException(
            uri + " answered " + status + ": " + abbreviate(body) + hint(status), null);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200)); // back off before asking again
    }
  }

  private HttpRequest.Builder authorized(HttpRequest.Builder b) {
    return token.isEmpty() ? b : b.header("Authorization", "Bearer " + token);
  }

  private String hint(int status) {
    if (status != 401) {
      return "";
    }
    return token.isEmpty()
        ? " (the server requires a token: set http.auth.token.file)"
        : " (the token sent, from http.auth.token.file or http.auth.token, is not the server's)";
  }

  private static String abbreviate(String body) {
    String oneLine = body == null ? "" : body.replaceAll("\\s+", " ").strip();
    return oneLine.length() > 200 ? oneLine.substring(0, 200) + "..." : oneLine;
  }
}
