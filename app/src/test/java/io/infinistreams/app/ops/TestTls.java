package io.infinistreams.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Key stores and a trust store for the operations server's TLS in tests, made by the JDK's {@code
 * keytool}: self-signed RSA certificates for 127.0.0.1 and localhost, valid two days.
 */
public final class TestTls {
  private TestTls() {}

  /**
   * The stores' files and their password: {@code keystore} for the server, {@code renewed} a second
   * key and certificate for the same names (to write over it), {@code truststore} trusting both.
   */
  public record Stores(Path keystore, Path renewed, Path truststore, String password) {

    /** {@code builder} with the {@code http.tls.*} keys of these stores. */
    public AppConfig.Builder apply(AppConfig.Builder builder) {
      return builder
          .override("http.tls.keystore.path", keystore.toString())
          .override("http.tls.keystore.password", password)
          .override("http.tls.truststore.path", truststore.toString())
          .override("http.tls.truststore.password", password);
    }
  }

  /** Makes the stores in {@code dir}. */
  public static Stores make(Path dir) throws Exception {
    String password = "changeit-ops";
    Path keystore = dir.resolve("server.p12");
    Path renewed = dir.resolve("renewed.p12");
    Path truststore = dir.resolve("trust.p12");
    for (Path store : List.of(keystore, renewed)) {
      String alias = store == keystore ? "ops" : "ops-renewed";
      Path cert = dir.resolve(alias + ".crt");
      keytool(
          "-genkeypair",
          "-alias",
          alias,
          "-keyalg",
          "RSA",
          "-keysize",
          "2048",
          "-validity",
          "2",
          "-dname",
          "CN=localhost",
          "-ext",
          "SAN=ip:127.0.0.1,dns:localhost",
          "-storetype",
          "PKCS12",
          "-keystore",
          store.toString(),
          "-storepass",
          password);
      keytool(
          "-exportcert",
          "-alias",
          alias,
          "-keystore",
          store.toString(),
          "-storepass",
          password,
          "-file",
          cert.toString());
      keytool(
          "-importcert",
          "-noprompt",
          "-alias",
          alias,
          "-file",
          cert.toString(),
          "-storetype",
          "PKCS12",
          "-keystore",
          truststore.toString(),
          "-storepass",
          password);
    }
    return new Stores(keystore, renewed, truststore, password);
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool timed out");
    assertEquals(0, p.exitValue(), "keytool " + args[0] + ": " + output);
  }
}
