package io.infinistreams.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.client.SessionLookup;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.topology.TopologySettings;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.apache.kafka.common.config.ConfigException;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operations server over HTTPS ({@code http.tls.*}), with a key store and a trust store made by
 * the JDK's {@code keytool}: a client that trusts the certificate is answered, one that does not,
 * or speaks plain HTTP, is not; the session lookup of the client commands goes through; a key store
 * that cannot be read stops the start with the key to fix.
 */
class OperationsServerTlsTest {
  private static final String FINGERPRINT = "0123456789abcdef";
  @TempDir static Path dir;
  private static TestTls.Stores stores;

  @BeforeAll
  static void makeStores() throws Exception {
    stores = TestTls.make(dir);
  }

  private static AppConfig tlsConfig() {
    return stores.apply(AppConfig.builder().override("http.port", "0")).build();
  }

  private static HttpResponse<String> get(SSLContext tls, String url) throws Exception {
    HttpClient client =
        HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void answersOverHttpsOnlyAndOnlyToClientsThatTrustItsCertificate() throws Exception {
    AppConfig config = tlsConfig();
    try (InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT);
        OperationsServer server =
            OperationsServer.start(config, metrics, TopologySettings.defaults(), FINGERPRINT)) {
      String url = server.url();
      assertEquals("https://127.0.0.1:" + server.port(), url);
      SSLContext trusting = Tls.clientContext(config);
      HttpResponse<String> live = get(trusting, url + "/health/live");
      assertEquals(200, live.statusCode());
      assertTrue(live.body().contains("\"STARTING\""), live.body());
      assertEquals(200, get(trusting, url + "/metrics").statusCode());

      // the JVM's default trust store does not know a self-signed certificate
      SSLContext defaults = Tls.clientContext(AppConfig.builder().build());
      assertThrows(IOException.class, () -> get(defaults, url + "/health/live"));
      // plain HTTP on the TLS port gets no answer
      assertThrows(
          IOException.class,
          () -> get(trusting, "http://127.0.0.1:" + server.port() + "/health/live"));

      // the client commands' lookup: through TLS to the server's own answer (no processor yet)
      SessionLookup lookup = new SessionLookup(url, Duration.ZERO, "", trusting);
      SessionLookup.UnavailableException notYet =
          assertThrows(SessionLookup.UnavailableException.class, () -> lookup.lastAppliedSeq("a"));
      assertTrue(notYet.getMessage().contains("503"), notYet.getMessage());
    }
  }

  /**
   * A renewed certificate written over the key store file is served to new connections without a
   * restart (http.tls.reload.seconds); a file that cannot be read then leaves it served.
   */
  @Test
  void aRenewedCertificateIsServedWithoutARestart() throws Exception {
    Path keystore = dir.resolve("reloading.p12");
    Files.copy(stores.keystore(), keystore, StandardCopyOption.REPLACE_EXISTING);
    AppConfig config =
        tlsConfig()
            .with("http.tls.keystore.path", keystore.toString())
            .with("http.tls.reload.seconds", "1");
    SSLContext trusting = Tls.clientContext(config);
    try (InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT);
        OperationsServer server =
            OperationsServer.start(config, metrics, TopologySettings.defaults(), FINGERPRINT)) {
      BigInteger first = servedSerial(trusting, server.port());
      assertEquals(serial(stores.keystore()), first);
      // written as a renewal tool would: a new file moved over the old one
      Path next = dir.resolve("reloading.p12.new");
      Files.copy(stores.renewed(), next, StandardCopyOption.REPLACE_EXISTING);
      Files.move(
          next, keystore, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      BigInteger renewed = serial(stores.renewed());
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> servedSerial(trusting, server.port()).equals(renewed));
      assertEquals(200, get(trusting, server.url() + "/health/live").statusCode());
      // a file that cannot be read (here: not a key store at all) leaves the served key as it is
      Files.write(next, "not a key store".getBytes(StandardCharsets.US_ASCII));
      Files.move(
          next, keystore, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      Awaitility.await()
          .during(Duration.ofSeconds(4))
          .atMost(Duration.ofSeconds(10))
          .until(() -> servedSerial(trusting, server.port()).equals(renewed));
    }
  }

  /** The serial number of the certificate the server at {@code port} presents. */
  private static BigInteger servedSerial(SSLContext tls, int port) throws Exception {
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.startHandshake();
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  /** The serial number of the certificate in the key store {@code file}. */
  private static BigInteger serial(Path file) throws Exception {
    KeyStore k = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(file)) {
      k.load(in, stores.password().toCharArray());
    }
    String alias = k.aliases().nextElement();
    return ((X509Certificate) k.getCertificate(alias)).getSerialNumber();
  }

  @Test
  void aKeyStoreThatCannotBeReadNamesTheKey() {
    AppConfig wrongPassword = tlsConfig().with("http.tls.keystore.password", "not-it");
    try (InfiniMetrics metrics = new InfiniMetrics(FINGERPRINT)) {
      ConfigException e =
          assertThrows(
              ConfigException.class,
              () ->
                  OperationsServer.start(
                      wrongPassword, metrics, TopologySettings.defaults(), FINGERPRINT));
      assertTrue(e.getMessage().contains("http.tls.keystore.path"), e.getMessage());
      ConfigException missing =
          assertThrows(
              ConfigException.class,
              () ->
                  Tls.clientContext(
                      tlsConfig()
                          .with("http.tls.truststore.path", dir.resolve("no.p12").toString())));
      assertTrue(missing.getMessage().contains("http.tls.truststore.path"), missing.getMessage());
    }
  }
}
