package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A broker address nobody listens on (the file a crashed {@code run} left behind, or a stale {@code
 * --bootstrap-servers}) makes the client commands fail in a second or two with one line naming the
 * address and what to do.
 */
@Timeout(60)
class StaleBrokerAddressTest {

  @TempDir static Path dir;
  private static String closed;

  @BeforeAll
  static void closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = "127.0.0.1:" + s.getLocalPort();
    } // closed now: connections are refused
  }

  private record Run(int exit, String err, double seconds) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter()));
    cl.setErr(new PrintWriter(err));
    long t0 = System.nanoTime();
    int exit = cl.execute(args);
    return new Run(exit, err.toString(), (System.nanoTime() - t0) / 1e9);
  }

  private static void assertFailsFast(Run r, String... mentions) {
    assertEquals(2, r.exit(), r.err());
    assertEquals(1, r.err().lines().count(), "one line, no stack trace: " + r.err());
    assertTrue(r.err().startsWith("infini: no Kafka broker answers at " + closed), r.err());
    for (String m : mentions) {
      assertTrue(r.err().contains(m), "mentions " + m + ": " + r.err());
    }
    assertTrue(r.seconds() < 5, "fails within seconds, took " + r.seconds());
  }

  @Test
  void aStaleEmbeddedBrokerAddressFileFailsAskAtOnce() throws IOException {
    Path kafka = dir.resolve("kafka");
    Files.createDirectories(kafka);
    Files.writeString(kafka.resolve("bootstrap.servers"), closed + "\n");
    Run ask = run("ask", "alice", "hello?", "--seq", "1", "--set", "embedded.broker.dir=" + kafka);
    assertFailsFast(
        ask,
        kafka.resolve("bootstrap.servers").toString(),
        "bin/infini run",
        "--bootstrap-servers");
  }

  @Test
  void aBootstrapAddressNobodyListensOnFailsFeedAndAskAtOnce() throws IOException {
    Path doc = dir.resolve("doc.txt");
    Files.writeString(doc, "some text");
    assertFailsFast(
        run("feed", "alice", doc.toString(), "--start-seq", "1", "--bootstrap-servers", closed),
        "bootstrap.servers",
        "--bootstrap-servers");
    assertFailsFast(
        run("ask", "alice", "hello?", "--seq", "2", "--bootstrap-servers", closed),
        "bootstrap.servers");
  }
}
