package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A broker whose only client listener speaks TLS ({@code SSL}), with a certificate of a test CA
 * made here with the JDK's {@code keytool}: the processor (topic administration and Kafka Streams)
 * and the client commands work with the truststore given once as {@code kafka.*} keys, as the
 * README shows, and fail in seconds with one line without the TLS settings or without a truststore
 * that trusts the CA.
 */
@Timeout(300)
class SslBrokerTest {

  private static final String PASSWORD = "changeit-test";

  @TempDir static Path dir;
  private static Path truststore;
  private static EmbeddedBroker broker;
  private static InfiniModel model;
  private static InfiniApp app;

  /** {@code kafka.*} settings of a TLS client, as documented; none if {@code tls} is false. */
  private static List<String> tlsSettings(boolean tls) {
    if (!tls) {
      return List.of();
    }
    return List.of(
        "kafka.security.protocol=SSL",
        "kafka.ssl.truststore.location=" + truststore,
        "kafka.ssl.truststore.password=" + PASSWORD);
  }

  private static AppConfig.Builder config(List<String> settings) {
    AppConfig.Builder b =
        AppConfig.builder()
            .override("bootstrap.servers", broker.bootstrapServers())
            .override("state.dir", dir.resolve("state").toString())
            .override("application.id", "ssl-app")
            .override("http.enabled", "false")
            .override("topic.partitions", "1")
            .override("surprise.enabled", "false");
    for (String s : settings) {
      int eq = s.indexOf('=');
      b.override(s.substring(0, eq), s.substring(eq + 1));
    }
    return b;
  }

  @BeforeAll
  static void start() throws Exception {
    Path keystore = dir.resolve("broker.p12");
    truststore = dir.resolve("truststore.p12");
    makeCertificates(dir.resolve("pki"), keystore, truststore);
    broker = EmbeddedBroker.startWithSsl(dir.resolve("kafka"), keystore, truststore, PASSWORD);
    model = InfiniModel.create(ModelConfig.tiny(), 1);
    app = InfiniApp.start(config(tlsSettings(true)).build(), model, Duration.ofMinutes(2));
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
    if (model != null) {
      model.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  /**
   * A test CA (self-signed), a broker key pair with a certificate the CA signed for {@code
   * 127.0.0.1} in {@code keystore}, and the CA's certificate alone in {@code truststore}: all
   * PKCS12, made with the JDK's keytool.
   */
  private static void makeCertificates(Path work, Path keystore, Path truststore)
      throws IOException, InterruptedException {
    Files.createDirectories(work);
    Path ca = work.resolve("ca.p12");
    Path caPem = work.resolve("ca.pem");
    Path csr = work.resolve("broker.csr");
    Path signed = work.resolve("broker.pem");
    List<String> store = List.of("-storetype", "PKCS12", "-storepass", PASSWORD);
    keytool(
        store,
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=infini-streams test CA",
        "-ext",
        "bc:c",
        "-validity",
        "2",
        "-keystore",
        ca.toString());
    keytool(
        store,
        "-exportcert",
        "-rfc",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-file",
        caPem.toString());
    keytool(
        store,
        "-genkeypair",
        "-alias",
        "broker",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-dname",
        "CN=127.0.0.1",
        "-validity",
        "2",
        "-keystore",
        keystore.toString());
    keytool(
        store,
        "-certreq",
        "-alias",
        "broker",
        "-keystore",
        keystore.toString(),
        "-file",
        csr.toString());
    keytool(
        store,
        "-gencert",
        "-rfc",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-infile",
        csr.toString(),
        "-outfile",
        signed.toString(),
        "-ext",
        "SAN=IP:127.0.0.1,DNS:localhost",
        "-validity",
        "2");
    keytool(
        store,
        "-importcert",
        "-noprompt",
        "-alias",
        "ca",
        "-file",
        caPem.toString(),
        "-keystore",
        keystore.toString());
    keytool(
        store,
        "-importcert",
        "-alias",
        "broker",
        "-file",
        signed.toString(),
        "-keystore",
        keystore.toString());
    keytool(
        store,
        "-importcert",
        "-noprompt",
        "-alias",
        "ca",
        "-file",
        caPem.toString(),
        "-keystore",
        truststore.toString());
  }

  private static void keytool(List<String> store, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    command.addAll(store);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          "keytool " + args[0] + " failed: " + new String(output, StandardCharsets.UTF_8));
    }
  }

  private record Run(int exit, String out, String err, double seconds) {}

  private static Run run(List<String> settings, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--bootstrap-servers", broker.bootstrapServers()));
    for (String s : settings) {
      all.addAll(List.of("--set", s));
    }
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    long t0 = System.nanoTime();
    int exit = cl.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString(), (System.nanoTime() - t0) / 1e9);
  }

  @Test
  void feedAndAskWorkOverTls() throws Exception {
    Path doc = dir.resolve("doc.txt");
    Files.writeString(doc, "The vault code is 9120. ".repeat(20), StandardCharsets.UTF_8);
    Run feed =
        run(
            tlsSettings(true),
            "feed",
            "tls",
            doc.toString(),
            "--start-seq",
            "1",
            "--wait",
            "--timeout",
            "120");
    assertEquals(0, feed.exit(), feed.err());
    assertTrue(feed.out().contains("absorbed: stream 'tls' holds"), feed.out());

    Run ask =
        run(
            tlsSettings(true),
            "ask",
            "tls",
            "What is the code?",
            "--seq",
            "2",
            "--max-tokens",
            "3",
            "--timeout",
            "120");
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(ask.err().contains("[stream 'tls' seq 2:"), ask.err());
  }

  @Test
  void withoutTheTlsSettingsTheClientsFailFastWithOneLine() {
    Run ask = run(tlsSettings(false), "ask", "tls", "hello?", "--seq", "99");
    assertEquals(2, ask.exit(), ask.err());
    assertEquals(1, ask.err().lines().count(), "one line, no stack trace: " + ask.err());
    assertTrue(
        ask.err().contains("accepts connections but did not answer")
            && ask.err().contains("security protocol PLAINTEXT")
            && ask.err().contains("kafka.security.protocol"),
        ask.err());
    assertTrue(ask.seconds() < 15, "fails fast, took " + ask.seconds() + " s");
  }

  @Test
  void withoutATruststoreTrustingTheBrokerTheHandshakeFailureIsNamed() {
    Run ask = run(List.of("kafka.security.protocol=SSL"), "ask", "tls", "hello?", "--seq", "99");
    assertEquals(2, ask.exit(), ask.err());
    assertEquals(1, ask.err().lines().count(), "one line, no stack trace: " + ask.err());
    assertTrue(ask.err().contains("refused the client"), ask.err());
    assertTrue(ask.err().contains("kafka.ssl."), ask.err());
    assertTrue(ask.seconds() < 15, "fails fast, took " + ask.seconds() + " s");
  }

  @Test
  void theProcessorWithoutTheTlsSettingsStopsAtStartUpInSeconds() {
    long t0 = System.nanoTime();
    CliException e =
        assertThrows(
            CliException.class,
            () ->
                InfiniApp.start(
                    config(tlsSettings(false))
                        .override("application.id", "ssl-app-plaintext")
                        .override("state.dir", dir.resolve("state-2").toString())
                        .build(),
                    model,
                    Duration.ofMinutes(2)));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(e.getMessage().contains("accepts connections but did not answer"), e.getMessage());
    assertTrue(seconds < 15, "fails fast, took " + seconds + " s");
  }
}
