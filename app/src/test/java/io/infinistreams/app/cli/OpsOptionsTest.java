package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.app.config.AppConfig;
import org.junit.jupiter.api.Test;

/** The client commands' default operations server URL ({@code --ops-url} not given). */
class OpsOptionsTest {

  private static String url(AppConfig.Builder config) {
    return new OpsOptions().url(config.build());
  }

  @Test
  void plainHttpAsksLoopbackForAWildcardBind() {
    assertEquals("http://127.0.0.1:8480", url(AppConfig.builder()));
    assertEquals(
        "http://127.0.0.1:9000",
        url(AppConfig.builder().override("http.bind", "0.0.0.0").override("http.port", "9000")));
    assertEquals("http://[::1]:8480", url(AppConfig.builder().override("http.bind", "::1")));
  }

  /** Under TLS the certificate names the advertised address, so a wildcard bind asks that. */
  @Test
  void httpsAsksTheAdvertisedAddressForAWildcardBind() {
    AppConfig.Builder tls =
        AppConfig.builder().override("http.tls.keystore.path", "/etc/infini/ops-server.p12");
    assertEquals("https://127.0.0.1:8480", url(tls));
    assertEquals(
        "https://ops.example:8443",
        url(
            tls.override("http.bind", "0.0.0.0")
                .override("http.advertised.address", "ops.example:8443")));
  }
}
