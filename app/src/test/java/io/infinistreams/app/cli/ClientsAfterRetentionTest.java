package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.infinistreams.app.Main;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The client commands number a stream's events from the application's operations server, so they
 * keep working after retention deleted the stream's records from the input and output topics
 * (simulated by deleting every record up to the topics' ends). A real application: embedded KRaft
 * broker, exactly-once, RocksDB, the tiny model. Conditions are polled with deadlines.
 */
@Timeout(300)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClientsAfterRetentionTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final String KEY = "kept/ü stream";

  @TempDir static Path dir;

  private InfiniModel model;
  private InfiniApp app;
  private AppConfig config;

  @BeforeAll
  void start() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 3);
    config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state").toString())
            .override("topic.partitions", "2")
            .override("http.port", "0")
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
  }

  @AfterAll
  void stop() {
    if (app != null) {
      app.close();
    }
    if (model != null) {
      model.close();
    }
  }

  private record Run(int exit, String out, String err) {}

  private Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private Run feed(String key, Path file, boolean await, String opsUrl) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "feed",
                key,
                file.toString(),
                "--bootstrap-servers",
                app.bootstrapServers(),
                "--ops-url",
                opsUrl,
                "--chunk-bytes",
                "32"));
    if (await) {
      args.addAll(List.of("--wait", "--timeout", "120"));
    }
    return run(args.toArray(String[]::new));
  }

  private Run ask(String key, String opsUrl) {
    return run(
        "ask",
        key,
        "What was said?",
        "--bootstrap-servers",
        app.bootstrapServers(),
        "--ops-url",
        opsUrl,
        "--max-tokens",
        "3",
        "--raw",
        "--timeout",
        "120");
  }

  private static final Pattern FED = Pattern.compile("APPEND events \\(seq (\\d+)\\.\\.(\\d+)\\)");

  private static long[] fedRange(Run feed) {
    Matcher m = FED.matcher(feed.out());
    assertTrue(m.find(), feed.out());
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }

  private static long askedSeq(Run ask, String key) {
    Matcher m =
        Pattern.compile("\\[stream '" + Pattern.quote(key) + "' seq (\\d+):").matcher(ask.err());
    assertTrue(m.find(), ask.err());
    return Long.parseLong(m.group(1));
  }

  /** Deletes every record of the input and output topics (what retention does, all at once). */
  private void deleteAllRecords() throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", app.bootstrapServers()))) {
      Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
      for (String topic : List.of(config.inputTopic(), config.outputTopic())) {
        int partitions =
            admin
                .describeTopics(List.of(topic))
                .allTopicNames()
                .get()
                .get(topic)
                .partitions()
                .size();
        for (int p = 0; p < partitions; p++) {
          ends.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
      }
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> endOffsets =
          admin.listOffsets(ends).all().get();
      Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
      endOffsets.forEach((tp, info) -> delete.put(tp, RecordsToDelete.beforeOffset(info.offset())));
      admin.deleteRecords(delete).all().get();
      // the log start offsets have moved to the ends: nothing is left to scan
      Map<TopicPartition, OffsetSpec> starts = new HashMap<>();
      ends.keySet().forEach(tp -> starts.put(tp, OffsetSpec.earliest()));
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> startOffsets =
          admin.listOffsets(starts).all().get();
      endOffsets.forEach(
          (tp, end) -> assertEquals(end.offset(), startOffsets.get(tp).offset(), tp.toString()));
    }
  }

  /** Polls until the stream's seq as read from the topics only is {@code expected}. */
  private void awaitTopicSeq(String key, long expected) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    long seen = -1;
    try (StreamClient client = StreamClient.connect(config, app.bootstrapServers(), key)) {
      while (System.nanoTime() < deadline) {
        seen = client.lastSeq();
        if (seen == expected) {
          return;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
    }
    fail("the topics say stream " + key + " is at seq " + seen + ", expected " + expected);
  }

  @Test
  @Order(1)
  void feedAndAskContinueAStreamWhoseRecordsRetentionDeleted() throws Exception {
    Path doc = dir.resolve("doc.txt");
    Files.writeString(doc, "Ünïcödé lines that retention will take away. ".repeat(8));
    String ops = app.operationsUrl();

    Run first = feed(KEY, doc, true, ops);
    assertEquals(0, first.exit(), first.err());
    assertFalse(first.err().contains("warning"), first.err());
    long[] fed = fedRange(first);
    assertEquals(1, fed[0]);
    Run firstAsk = ask(KEY, ops);
    assertEquals(0, firstAsk.exit(), firstAsk.err());
    assertEquals(fed[1] + 1, askedSeq(firstAsk, KEY));

    deleteAllRecords();
    // the topics no longer know the stream: numbering from them would start again at 1
    awaitTopicSeq(KEY, 0);

    Run ask = ask(KEY, ops);
    assertEquals(0, ask.exit(), ask.err());
    assertFalse(ask.err().contains("warning"), ask.err());
    long asked = askedSeq(ask, KEY);
    assertEquals(fed[1] + 2, asked, "the seq after the last applied one, sent once");

    Run again = feed(KEY, doc, true, ops);
    assertEquals(0, again.exit(), again.err());
    long[] fedAgain = fedRange(again);
    assertEquals(asked + 1, fedAgain[0]);
    assertTrue(
        again.out().contains("absorbed: stream '" + KEY + "' holds"), "applied: " + again.out());
  }

  /**
   * Events sent but not yet consumed are not in the server's answer: they are found after the
   * application's committed offset, so two feeds in a row never share a seq.
   */
  @Test
  @Order(2)
  void feedsInARowNeverReuseASeq() throws Exception {
    Path doc = dir.resolve("short.txt");
    Files.writeString(doc, "a few events, sent without waiting for them. ".repeat(4));
    String ops = app.operationsUrl();
    Run one = feed("burst", doc, false, ops);
    assertEquals(0, one.exit(), one.err());
    Run two = feed("burst", doc, false, ops);
    assertEquals(0, two.exit(), two.err());
    long[] a = fedRange(one);
    long[] b = fedRange(two);
    assertEquals(1, a[0]);
    assertEquals(a[1] + 1, b[0], one.out() + two.out());
    Run ask = ask("burst", ops);
    assertEquals(0, ask.exit(), ask.err());
    assertEquals(b[1] + 1, askedSeq(ask, "burst"));
    assertFalse(ask.err().contains("rejected"), ask.err());
  }

  @Test
  @Order(3)
  void aNewStreamStartsAtOne() {
    Run ask = ask("never-seen", app.operationsUrl());
    assertEquals(0, ask.exit(), ask.err());
    assertEquals(1, askedSeq(ask, "never-seen"));
  }

  /** An unreachable server: one warning line, then the topics are scanned as before. */
  @Test
  @Order(4)
  void anUnreachableServerFallsBackToTheTopicsWithOneWarning() throws Exception {
    Path doc = dir.resolve("fallback.txt");
    Files.writeString(doc, "numbered from the topics. ".repeat(3), StandardCharsets.UTF_8);
    String nowhere = "http://127.0.0.1:1";
    Run feed = feed("fallback", doc, true, nowhere);
    assertEquals(0, feed.exit(), feed.err());
    List<String> warnings =
        feed.err().lines().filter(l -> l.startsWith("infini: warning:")).toList();
    assertEquals(1, warnings.size(), feed.err());
    assertTrue(warnings.get(0).contains("127.0.0.1:1"), warnings.get(0));
    assertTrue(warnings.get(0).contains("topics"), warnings.get(0));
    assertEquals(1, fedRange(feed)[0]);
    Run ask = ask("fallback", nowhere);
    assertEquals(0, ask.exit(), ask.err());
    assertEquals(fedRange(feed)[1] + 1, askedSeq(ask, "fallback"));
  }

  @Test
  @Order(5)
  void aMalformedOpsUrlIsAUsageError() {
    Run ask = ask("x", "ftp://somewhere");
    assertEquals(2, ask.exit(), ask.err());
    assertTrue(ask.err().contains("--ops-url"), ask.err());
  }
}
