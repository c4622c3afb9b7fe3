package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.cli.ChatCommand;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jline.terminal.TerminalBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A broker whose only client listener requires SASL/PLAIN: the processor (topic administration and
 * Kafka Streams) and the client commands work with the credentials given once as {@code kafka.*}
 * keys ({@code feed}, {@code ask}, {@code tail}, {@code delete}), and fail in seconds with one line
 * without them or with a wrong password.
 */
@Timeout(300)
class SaslBrokerTest {

  private static final String ALICE_PASSWORD = "alice-secret";

  @TempDir static Path dir;
  private static EmbeddedBroker broker;
  private static InfiniModel model;
  private static InfiniApp app;

  private static String jaas(String password) {
    return EmbeddedBroker.plainJaasConfig("alice", password);
  }

  private static AppConfig.Builder config(String password) {
    AppConfig.Builder b =
        AppConfig.builder()
            .override("bootstrap.servers", broker.bootstrapServers())
            .override("state.dir", dir.resolve("state").toString())
            .override("application.id", "sasl-app")
            .override("http.enabled", "false")
            .override("topic.partitions", "1")
            .override("surprise.enabled", "false");
    if (password != null) {
      b.override("kafka.security.protocol", "SASL_PLAINTEXT")
          .override("kafka.sasl.mechanism", "PLAIN")
          .override("kafka.sasl.jaas.config", jaas(password));
    }
    return b;
  }

  @BeforeAll
  static void start() throws Exception {
    broker =
        EmbeddedBroker.startWithSaslPlain(
            dir.resolve("kafka"), Map.of("alice", ALICE_PASSWORD, "bob", "bob-secret"));
    model = InfiniModel.create(ModelConfig.tiny(), 1);
    app = InfiniApp.start(config(ALICE_PASSWORD).build(), model, Duration.ofMinutes(2));
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

  private record Run(int exit, String out, String err, double seconds) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    long t0 = System.nanoTime();
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString(), (System.nanoTime() - t0) / 1e9);
  }

  private static String[] withCredentials(String password, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--bootstrap-servers", broker.bootstrapServers()));
    if (password != null) {
      all.addAll(
          List.of(
              "--set",
              "kafka.security.protocol=SASL_PLAINTEXT",
              "--set",
              "kafka.sasl.mechanism=PLAIN",
              "--set",
              "kafka.sasl.jaas.config=" + jaas(password)));
    }
    return all.toArray(String[]::new);
  }

  @Test
  void feedAndAskWorkWithTheCredentials() throws Exception {
    Path doc = dir.resolve("doc.txt");
    Files.writeString(doc, "The locker code is 4471. ".repeat(20), StandardCharsets.UTF_8);
    Run feed =
        run(
            withCredentials(
                ALICE_PASSWORD,
                "feed",
                "secured",
                doc.toString(),
                "--start-seq",
                "1",
                "--wait",
                "--timeout",
                "120"));
    assertEquals(0, feed.exit(), feed.err());
    assertTrue(feed.out().contains("absorbed: stream 'secured' holds"), feed.out());

    Run ask =
        run(
            withCredentials(
                ALICE_PASSWORD,
                "ask",
                "secured",
                "What is the code?",
                "--seq",
                "2",
                "--max-tokens",
                "3",
                "--timeout",
                "120"));
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(ask.err().contains("[stream 'secured' seq 2:"), ask.err());

    Run tail =
        run(
            withCredentials(
                ALICE_PASSWORD,
                "tail",
                "--topic",
                "output",
                "--from-beginning",
                "--stream",
                "secured",
                "--limit",
                "2"));
    assertEquals(0, tail.exit(), tail.err());
    assertEquals(2, tail.out().strip().lines().count(), tail.out());
    assertTrue(tail.out().contains("\"kind\":\"GENERATE\""), tail.out());

    Run delete =
        run(withCredentials(ALICE_PASSWORD, "delete", "secured", "--seq", "3", "--timeout", "120"));
    assertEquals(0, delete.exit(), delete.err());
    assertTrue(delete.err().contains("[stream 'secured' seq 3: deleted]"), delete.err());
  }

  @Test
  void chatWorksWithTheCredentials() throws Exception {
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    // a keyboard that types one turn and /quit, then stays open until the chat has read them
    PipedOutputStream keyboard = new PipedOutputStream();
    PipedInputStream typed = new PipedInputStream(keyboard);
    keyboard.write("my locker is 12\n/quit\n".getBytes(StandardCharsets.UTF_8));
    keyboard.flush();
    ChatCommand chat =
        new ChatCommand(
            () ->
                TerminalBuilder.builder()
                    .system(false)
                    .type("dumb")
                    .streams(typed, screen)
                    .build());
    CommandLine cl = new CommandLine(chat);
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int exit;
    try {
      exit =
          cl.execute(
              withCredentials(
                  ALICE_PASSWORD, "secured-chat", "--max-tokens", "3", "--timeout", "120"));
    } finally {
      keyboard.close();
    }
    assertEquals(0, exit, err.toString());
    String shown = screen.toString(StandardCharsets.UTF_8);
    assertTrue(shown.contains("chat with stream 'secured-chat' (next seq 1)"), shown);
    // the chat waits for each turn's output and says so on stderr when it does not come
    assertFalse(err.toString().contains("no output for stream"), err.toString());
    assertFalse(err.toString().contains("refused"), err.toString());
    assertTrue(shown.lines().count() >= 2, "a reply line after the greeting: " + shown);
  }

  @Test
  void withoutCredentialsTheClientsFailFastWithOneLine() {
    Run ask = run(withCredentials(null, "ask", "secured", "hello?", "--seq", "99"));
    assertEquals(2, ask.exit(), ask.err());
    assertEquals(1, ask.err().lines().count(), "one line, no stack trace: " + ask.err());
    assertTrue(
        ask.err().contains("accepts connections but did not answer")
            && ask.err().contains("security protocol PLAINTEXT")
            && ask.err().contains("kafka.security.protocol"),
        ask.err());
    assertTrue(ask.seconds() < 15, "fails fast, took " + ask.seconds() + " s");

    Run feed =
        run(withCredentials(null, "feed", "secured", dir.resolve("none").toString() + ".txt"));
    assertEquals(2, feed.exit(), feed.err()); // the missing file is found before Kafka is asked
  }

  @Test
  void aWrongPasswordIsNamedAsAnAuthenticationFailure() {
    Run ask = run(withCredentials("wrong", "ask", "secured", "hello?", "--seq", "99"));
    assertEquals(2, ask.exit(), ask.err());
    assertEquals(1, ask.err().lines().count(), "one line, no stack trace: " + ask.err());
    assertTrue(ask.err().contains("refused the client"), ask.err());
    assertTrue(ask.err().contains("kafka.sasl.jaas.config"), ask.err());
    assertTrue(ask.seconds() < 15, "fails fast, took " + ask.seconds() + " s");
  }

  @Test
  void theProcessorWithoutCredentialsStopsAtStartUpInSeconds() {
    long t0 = System.nanoTime();
    CliException e =
        assertThrows(
            CliException.class,
            () ->
                InfiniApp.start(
                    config(null)
                        .override("application.id", "sasl-app-unauthenticated")
                        .override("state.dir", dir.resolve("state-2").toString())
                        .build(),
                    model,
                    Duration.ofMinutes(2)));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(e.getMessage().contains("accepts connections but did not answer"), e.getMessage());
    assertTrue(seconds < 15, "fails fast, took " + seconds + " s");
  }
}
