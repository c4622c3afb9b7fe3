package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.client.SessionLookup;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.DemoRun;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.InfiniProductionExceptionHandler;
import io.infinistreams.app.runtime.PasskeyDemo;
import io.infinistreams.app.runtime.StateInspector;
import io.infinistreams.app.runtime.SurpriseRun;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.jline.terminal.TerminalBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CLI against a real in-process KRaft broker with EOS and RocksDB, on the tiny model: {@code
 * feed} then {@code ask} against a running processor, and the whole {@code demo} command.
 */
@Timeout(300)
class CliEndToEndTest {

  private static final ModelConfig TINY = ModelConfig.tiny();

  @TempDir static Path dir;
  private static InfiniModel model;
  private static InfiniApp app;

  @BeforeAll
  static void startProcessor() throws Exception {
    model = InfiniModel.create(TINY, 1);
    AppConfig config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state").toString())
            .override("topic.partitions", "2")
            .override("http.port", "0") // any free port: never collides with a running `run`
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
    if (model != null) {
      model.close();
    }
  }

  private record Run(int exit, String out, String err, CommandLine cl) {}

  /**
   * Runs the CLI. The client commands ({@code feed}, {@code ask}) are pointed at the processor's
   * operations server, which listens on a free port rather than the default one.
   */
  private static Run run(String... args) {
    boolean asksOps =
        args.length > 0
            && (args[0].equals("feed")
                || args[0].equals("ask")
                || args[0].equals("reset")
                || args[0].equals("delete")
                || (args[0].equals("snapshot") && args.length > 1 && !args[1].equals("show")));
    if (asksOps) {
      args = Arrays.copyOf(args, args.length + 2);
      args[args.length - 2] = "--ops-url";
      args[args.length - 1] = app.operationsUrl();
    }
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString(), cl);
  }

  @Test
  void feedThenAskContinueTheSameStream() throws Exception {
    // Multi-byte text, fed in 64-byte chunks: many events, none splitting a character.
    String text = "Grüße aus Köln — 東京 and 😀. ".repeat(60);
    Path file = dir.resolve("doc.txt");
    Files.writeString(file, text, StandardCharsets.UTF_8);
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    String broker = app.bootstrapServers();

    Run feed =
        run(
            "feed",
            "alice",
            file.toString(),
            "--bootstrap-servers",
            broker,
            "--chunk-bytes",
            "64",
            "--wait",
            "--timeout",
            "120");
    assertEquals(0, feed.exit(), feed.err());
    Matcher fed =
        Pattern.compile(
                "fed ([\\d,]+) bytes to stream 'alice' as ([\\d,]+) APPEND "
                    + "events \\(seq 1\\.\\.(\\d+)\\)")
            .matcher(feed.out());
    assertTrue(fed.find(), feed.out());
    assertEquals(bytes, Integer.parseInt(fed.group(1).replace(",", "")));
    long lastFed = Long.parseLong(fed.group(3));
    assertTrue(lastFed >= bytes / 64, "at least one event per 64 bytes");
    assertTrue(
        feed.out()
            .contains(
                "absorbed: stream 'alice' holds " + String.format("%,d", 1 + bytes) + " tokens"),
        feed.out());

    // ask continues the stream with the next seq.
    // No --bootstrap-servers: ask finds the running processor's embedded broker through the
    // address it published under embedded.broker.dir.
    Run ask =
        run(
            "ask",
            "alice",
            "Where are the greetings from?",
            "--set",
            "embedded.broker.dir=" + dir.resolve("kafka"),
            "--max-tokens",
            "5",
            "--raw",
            "--timeout",
            "120");
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(ask.err().contains("[stream 'alice' seq " + (lastFed + 1) + ":"), ask.err());
    Matcher ctx = Pattern.compile("([\\d,]+) tokens in context").matcher(ask.err());
    assertTrue(ctx.find(), ask.err());
    long tokensInContext = Long.parseLong(ctx.group(1).replace(",", ""));
    long prompt = "Where are the greetings from?".length();
    assertTrue(
        tokensInContext >= 1 + bytes + prompt && tokensInContext <= 1 + bytes + prompt + 5,
        "BOS + document + prompt + at most 5 generated, got " + tokensInContext);

    StateInspector.StateSize state = StateInspector.of(app.streams(), app.settings(), "alice");
    assertEquals(1, state.sessionRecords());
    assertEquals(TINY.layers() * TINY.heads(), state.memoryRecords());
  }

  /**
   * Under a default locale with other separators, the client commands still print 1,234.5; their
   * progress, with stderr not a terminal, is whole lines.
   */
  @Test
  void clientOutputIsTheSameUnderAnyDefaultLocale() throws Exception {
    Path file = dir.resolve("locale.txt");
    Files.writeString(file, "x".repeat(2_000), StandardCharsets.UTF_8);
    Locale before = Locale.getDefault();
    Run feed;
    Run ask;
    try {
      Locale.setDefault(Locale.GERMANY);
      feed =
          run(
              "feed",
              "gerda",
              file.toString(),
              "--bootstrap-servers",
              app.bootstrapServers(),
              "--wait",
              "--timeout",
              "120");
      ask =
          run(
              "ask",
              "gerda",
              "x",
              "--bootstrap-servers",
              app.bootstrapServers(),
              "--max-tokens",
              "1",
              "--raw",
              "--timeout",
              "120");
    } finally {
      Locale.setDefault(before);
    }
    assertEquals(0, feed.exit(), feed.err());
    assertTrue(
        Pattern.compile(
                "fed 2,000 bytes to stream 'gerda' as 1 APPEND events \\(seq 1\\.\\.1\\) in \\d+\\.\\d s")
            .matcher(feed.out())
            .find(),
        feed.out());
    assertTrue(feed.out().contains("absorbed: stream 'gerda' holds 2,001 tokens"), feed.out());
    assertTrue(feed.err().contains("feed "), feed.err());
    assertTrue(feed.err().contains("absorb "), feed.err());
    assertFalse(feed.err().contains("\r"), feed.err());
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(
        Pattern.compile("2,00\\d tokens in context, \\d+ segments in memory, \\d+\\.\\d ms\\]")
            .matcher(ask.err())
            .find(),
        ask.err());
  }

  @Test
  void chatSendsEachLineAndResetsOnRequest() throws Exception {
    ByteArrayOutputStream screen = new ByteArrayOutputStream();
    // A keyboard that types three lines and /quit, then stays open (a terminal whose input ends
    // closes before the reader has taken the lines).
    PipedOutputStream keyboard = new PipedOutputStream();
    PipedInputStream typed = new PipedInputStream(keyboard);
    keyboard.write(
        "my code is 4471\n/help\n/reset\nwhat is my code?\n/quit\n"
            .getBytes(StandardCharsets.UTF_8));
    keyboard.flush();
    ChatCommand chat = new ChatCommand();
    chat.terminals =
        () -> TerminalBuilder.builder().system(false).type("dumb").streams(typed, screen).build();
    CommandLine cl = new CommandLine(chat);
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    int exit;
    try {
      exit =
          cl.execute(
              "carol",
              "--bootstrap-servers",
              app.bootstrapServers(),
              "--ops-url",
              app.operationsUrl(),
              "--max-tokens",
              "4",
              "--timeout",
              "120");
    } finally {
      keyboard.close();
    }
    assertEquals(0, exit, err.toString());
    assertEquals("", err.toString());
    String shown = screen.toString(StandardCharsets.UTF_8);
    assertTrue(shown.contains("chat with stream 'carol' (next seq 1)"), shown);
    assertTrue(shown.contains("(stream reset)"), shown);
    assertTrue(shown.contains("/reset forgets the stream, /quit or Ctrl-D exits"), shown);
    try (StreamClient client =
        StreamClient.connect(AppConfig.defaults(), app.bootstrapServers(), "carol")) {
      assertEquals(3, client.lastSeq(), "GENERATE, RESET, GENERATE");
    }
    // After the RESET only the last turn is in context: BOS + USER + text + ASSISTANT + reply.
    StateInspector.StateSize state = StateInspector.of(app.streams(), app.settings(), "carol");
    assertEquals(1, state.sessionRecords());
  }

  @Test
  void snapshotForkAndPinnedResetFromTheCommandLine() throws Exception {
    Path text = dir.resolve("gina.txt");
    Files.writeString(text, "Gina keeps her notes here. ".repeat(8), StandardCharsets.UTF_8);
    String bootstrap = app.bootstrapServers();
    Run feed = run("feed", "gina", text.toString(), "--bootstrap-servers", bootstrap, "--wait");
    assertEquals(0, feed.exit(), feed.err());

    Run fork = run("snapshot", "fork", "gina", "gina-copy", "--bootstrap-servers", bootstrap);
    assertEquals(0, fork.exit(), fork.err());
    assertTrue(fork.err().contains("stream 'gina-copy' seq 1: imported"), fork.err());

    Path file = dir.resolve("gina-copy.snap");
    Run export =
        run("snapshot", "export", "gina-copy", file.toString(), "--bootstrap-servers", bootstrap);
    assertEquals(0, export.exit(), export.err());
    Run show = run("snapshot", "show", file.toString());
    assertEquals(0, show.exit(), show.err());
    assertTrue(show.out().contains("stream         gina-copy"), show.out());
    assertTrue(show.out().contains("tokens         " + (1 + 27 * 8)), show.out());

    Run wrongPin = run("reset", "gina", "--pin", "000000000000", "--bootstrap-servers", bootstrap);
    assertEquals(2, wrongPin.exit(), wrongPin.err());
    assertTrue(wrongPin.err().contains("FINGERPRINT_MISMATCH"), wrongPin.err());
    Run reset =
        run(
            "reset",
            "gina",
            "--pin",
            model.fingerprint().substring(0, 12),
            "--bootstrap-servers",
            bootstrap);
    assertEquals(0, reset.exit(), reset.err());
    assertTrue(reset.err().contains("reset under model " + model.fingerprint().substring(0, 12)));

    Run delete = run("delete", "gina-copy", "--bootstrap-servers", bootstrap);
    assertEquals(0, delete.exit(), delete.err());
    assertTrue(delete.err().contains("stream 'gina-copy' seq 2: deleted"), delete.err());
    Run gone =
        run("snapshot", "export", "gina-copy", file.toString(), "--bootstrap-servers", bootstrap);
    assertEquals(2, gone.exit(), gone.err());
    assertTrue(gone.err().contains("gina-copy"), gone.err());
  }

  /**
   * A DELETE restarts a stream's numbering: whether or not it was applied yet, and whether the
   * client numbers from the operations server or from the topics alone, the key's next event is seq
   * 1.
   */
  @Test
  void numberingStartsAgainAfterADelete() throws Exception {
    Path text = dir.resolve("hank.txt");
    Files.writeString(text, "Hank writes a line. ".repeat(10), StandardCharsets.UTF_8);
    String bootstrap = app.bootstrapServers();
    Run feed =
        run(
            "feed",
            "hank",
            text.toString(),
            "--bootstrap-servers",
            bootstrap,
            "--chunk-bytes",
            "64");
    assertEquals(0, feed.exit(), feed.err());
    SessionLookup ops = new SessionLookup(app.operationsUrl(), Duration.ofSeconds(30));
    List<String> warnings = new ArrayList<>();
    try (StreamClient client = StreamClient.connect(AppConfig.defaults(), bootstrap, "hank")) {
      long last = client.lastSeq(ops, warnings::add);
      assertEquals(4, last, "200 bytes in 64-byte events");
      // numbered while the DELETE may or may not have been applied: the answer is the same
      client.delete(last + 1, null);
      client.flush();
      assertEquals(0, client.lastSeq(ops, warnings::add));
      assertEquals(0, client.lastSeq(), "from the topics: the DELETE is the last input event");
      client.awaitOutput(last + 1, Duration.ofSeconds(120));
      assertEquals(0, client.lastSeq(ops, warnings::add));
      assertEquals(0, client.lastSeq());
    }
    Run ask =
        run("ask", "hank", "Who writes?", "--bootstrap-servers", bootstrap, "--max-tokens", "2");
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(ask.err().contains("[stream 'hank' seq 1:"), ask.err());
    try (StreamClient client = StreamClient.connect(AppConfig.defaults(), bootstrap, "hank")) {
      assertEquals(1, client.lastSeq(ops, warnings::add));
      assertEquals(1, client.lastSeq());
      // a stale DELETE (a retry with the old seq) is refused and must not reset the numbering
      client.delete(5, null);
      client.flush();
      StreamClient.RejectedException refused =
          assertThrows(
              StreamClient.RejectedException.class,
              () -> client.awaitOutput(5, Duration.ofSeconds(120)));
      assertEquals("SEQ_GAP", refused.reason());
      assertEquals(1, client.lastSeq(ops, warnings::add));
      assertEquals(1, client.lastSeq());
    }
    assertEquals(List.of(), warnings);
  }

  @Test
  void feedingInvalidUtf8NamesTheOffset() throws Exception {
    Path bad = dir.resolve("bad.txt");
    Files.write(bad, new byte[] {'o', 'k', ' ', (byte) 0xC3, '('});
    Run feed = run("feed", "dave", bad.toString(), "--bootstrap-servers", app.bootstrapServers());
    assertEquals(2, feed.exit(), feed.err());
    assertTrue(feed.err().contains("bad.txt: invalid UTF-8 in bytes 0..5"), feed.err());
  }

  @Test
  void aRejectedEventFailsTheCommandWithItsReason() {
    Run ask =
        run(
            "ask",
            "bob",
            "hello",
            "--bootstrap-servers",
            app.bootstrapServers(),
            "--max-tokens",
            "100000",
            "--timeout",
            "120");
    assertEquals(2, ask.exit(), ask.out());
    assertTrue(
        ask.err()
            .startsWith(
                "infini: stream 'bob': event seq 1 was rejected "
                    + "(dead-lettered): INVALID_SETTINGS"),
        ask.err());
  }

  /**
   * A refused event at the tail of the input topic (here a gap) would make the next seq the client
   * reads from the topics a gap too: {@code ask} sends again at the seq the dead letter says the
   * stream expects, and is answered.
   */
  @Test
  void askResynchronisesAfterARefusedSeq() throws Exception {
    try (StreamClient client =
        StreamClient.connect(AppConfig.defaults(), app.bootstrapServers(), "erin")) {
      client.append(7, "a gap: the stream expects seq 1", (metadata, e) -> {});
      client.flush();
      StreamClient.RejectedException refused =
          assertThrows(
              StreamClient.RejectedException.class,
              () -> client.awaitOutput(7, java.time.Duration.ofSeconds(120)));
      assertEquals("SEQ_GAP", refused.reason());
      assertEquals(1, refused.expectedSeq());
      assertEquals(0, client.lastSeq(), "a refused gap does not count, as for the processor");
    }
    Run ask =
        run(
            "ask",
            "erin",
            "What is the pass key?",
            "--bootstrap-servers",
            app.bootstrapServers(),
            "--max-tokens",
            "4",
            "--timeout",
            "120");
    assertEquals(0, ask.exit(), ask.err());
    assertTrue(ask.err().contains("[stream 'erin' seq 1:"), ask.err());
  }

  @Test
  void aSecondRunInTheSameFolderFailsAtOnceWithOneLine() {
    long t0 = System.nanoTime();
    Run second =
        run(
            "run",
            "--set",
            "embedded.broker.dir=" + dir.resolve("kafka"),
            "--set",
            "model.random=tiny",
            "--state-dir",
            dir.resolve("second-state").toString());
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(2, second.exit(), second.err());
    assertTrue(second.err().startsWith("infini: the embedded broker folder "), second.err());
    assertTrue(second.err().contains("is in use by another running broker"), second.err());
    assertEquals(1, second.err().lines().count(), "one line, no stack trace: " + second.err());
    assertTrue(seconds < 30, "fails at once: " + seconds + " s");
    assertEquals(KafkaStreams.State.RUNNING, app.streams().state(), "the first one runs on");
  }

  /**
   * An input value of ~1 MiB (just under the input topic's limit; 61 bytes below are the record
   * batch header) is dead-lettered with extra headers: the dead letter is larger than the input
   * record, and fits because the dead-letter topic accepts more than the input topic. The processor
   * keeps running and serves the next event.
   */
  @Test
  void aRecordNearOneMebibyteIsDeadLetteredAndTheServiceGoesOn() throws Exception {
    String bootstrap = app.bootstrapServers();
    long refusedBefore = InfiniProductionExceptionHandler.deadLettersRefused();
    // the largest value the input topic (max.message.bytes 1,048,588 per record batch) accepts
    // with a 4-byte key, less a few bytes
    byte[] value = new byte[1_048_480];
    Arrays.fill(value, (byte) 'x'); // not single-object Avro: UNDECODABLE
    Map<String, Object> producerProps =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
            2 << 20);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer())) {
      producer
          .send(
              new ProducerRecord<>(
                  app.config().inputTopic(), "huge".getBytes(StandardCharsets.UTF_8), value))
          .get(60, TimeUnit.SECONDS);
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      ConfigResource dlq =
          new ConfigResource(ConfigResource.Type.TOPIC, app.config().deadLetterTopic());
      long limit =
          Long.parseLong(
              admin
                  .describeConfigs(List.of(dlq))
                  .all()
                  .get()
                  .get(dlq)
                  .get("max.message.bytes")
                  .value());
      assertTrue(limit >= 1_048_588 + 64 * 1024, "dead-letter topic limit " + limit);
    }
    Map<String, Object> consumerProps =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG,
            "huge-check",
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            "earliest",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed");
    ConsumerRecord<byte[], byte[]> dead = null;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            consumerProps, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(app.config().deadLetterTopic()));
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (dead == null && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(250))) {
          if (r.key() != null && new String(r.key(), StandardCharsets.UTF_8).equals("huge")) {
            dead = r;
          }
        }
      }
    }
    assertNotNull(dead, "the ~1 MiB record reached the dead-letter topic");
    assertArrayEquals(value, dead.value());
    assertEquals(
        "UNDECODABLE",
        new String(dead.headers().lastHeader("infini.dlq.reason").value(), StandardCharsets.UTF_8));
    assertTrue(
        dead.serializedValueSize() + dead.serializedKeySize() + headerBytes(dead) + 61 > 1_048_588,
        "the dead letter is larger than the input topic's limit");
    assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
    assertEquals(
        refusedBefore,
        InfiniProductionExceptionHandler.deadLettersRefused(),
        "no dead letter refused (the counter is per JVM)");

    Run ask =
        run(
            "ask",
            "after-huge",
            "still there?",
            "--bootstrap-servers",
            bootstrap,
            "--max-tokens",
            "2",
            "--raw",
            "--timeout",
            "120");
    assertEquals(0, ask.exit(), ask.err());
  }

  private static int headerBytes(ConsumerRecord<byte[], byte[]> r) {
    int n = 0;
    for (Header h : r.headers()) {
      n += h.key().length() + (h.value() == null ? 0 : h.value().length);
    }
    return n;
  }

  /**
   * Runs {@code infini demo args} on the tiny random model, with a broker and stores of its own
   * (named after {@code name}) and 120 s per document.
   */
  private static Run demo(String name, String... args) {
    List<String> all = new ArrayList<>(List.of("demo"));
    all.addAll(Arrays.asList(args));
    all.addAll(
        List.of(
            "--timeout",
            "120",
            "--set",
            "model.random=tiny",
            "--set",
            "embedded.broker.dir=" + dir.resolve(name + "-kafka"),
            "--state-dir",
            dir.resolve(name + "-state").toString()));
    return run(all.toArray(String[]::new));
  }

  private static DemoCommand demoCommand(Run demo) {
    return (DemoCommand) demo.cl().getSubcommands().get("demo").getCommand();
  }

  @Test
  void demoStreamsAPasskeyDocumentAndReportsTheAnswer() {
    Run demo =
        demo("demo", "--length", "3000", "--depth", "0.3", "--seed", "5", "--max-tokens", "6");
    assertEquals(0, demo.exit(), demo.err());
    List<DemoRun.Result> results = demoCommand(demo).results;
    assertEquals(1, results.size());
    DemoRun.Result r = results.get(0);
    assertEquals(String.valueOf(PasskeyDemo.passkeyDocument(3000, 0.3, 5).key()), r.expected());
    assertEquals(3000, r.tokens());
    assertTrue(
        r.tokensInContext() >= 1 + 3000 && r.tokensInContext() <= 1 + 3000 + 6,
        "BOS + document + question + at most 6 generated: " + r.tokensInContext());
    assertEquals(1, r.state().sessionRecords());
    assertEquals(
        TINY.layers() * TINY.heads(),
        r.state().memoryRecords(),
        "one memory record per (layer, head)");
    assertTrue(r.state().bytes() > 0);
    assertTrue(r.tokensPerSecond() > 0);
    assertContainsAll(demo.out(), "key:", "answer:", "correct:", "throughput:", "state:");
  }

  @Test
  void demoRunsADepthGridOnSeparateStreamsAndWritesJson() throws Exception {
    Path json = dir.resolve("grid.json");
    Run demo =
        demo(
            "grid",
            "--length",
            "2000",
            "--depths",
            "0,1",
            "--trials",
            "2",
            "--seed",
            "9",
            "--max-tokens",
            "6",
            "--json",
            json.toString(),
            "--check-in-process");
    assertEquals(0, demo.exit(), demo.err());
    List<DemoRun.Result> results = demoCommand(demo).results;
    assertEquals(4, results.size(), "2 depths x 2 trials");
    for (DemoRun.Result r : results) {
      assertTrue(
          r.tokensInContext() >= 1 + 2000 && r.tokensInContext() <= 1 + 2000 + 6,
          "each run has its own fresh stream: " + r.tokensInContext());
    }
    assertTrue(
        !results.get(0).expected().equals(results.get(1).expected()),
        "trial t draws from seed + t");
    assertTrue(demo.out().contains("accuracy:   "), demo.out());
    String written = Files.readString(json);
    assertEquals(4, written.split("\"stream\": ").length - 1, written);
    assertTrue(written.contains("\"stream\": \"passkey-10-d1.00\""), written);
    // the same documents answered by the model alone: every answer through Kafka is the same
    List<String> inProcess = demoCommand(demo).inProcess;
    assertEquals(4, inProcess.size());
    for (int i = 0; i < 4; i++) {
      assertEquals(inProcess.get(i), results.get(i).answer(), "run " + i);
    }
    assertTrue(demo.out().contains("in-process: 4/4 answers the same"), demo.out());
    assertEquals(4, written.split("\"sameAsInProcess\": true").length - 1, written);
  }

  private static void assertContainsAll(String text, String... parts) {
    for (String part : parts) {
      assertTrue(text.contains(part), part + " missing from\n" + text);
    }
  }

  /** A haystack file {@code name}: 40 paragraphs "Paragraph p{@code sentence}". */
  private static Path haystack(String name, String sentence) throws Exception {
    StringBuilder text = new StringBuilder();
    for (int p = 0; p < 40; p++) {
      text.append("Paragraph ").append(p).append(sentence).append("\n\n");
    }
    return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
  }

  @Test
  void demoRunsAProseTaskOnTheUsersHaystackAndWritesJson() throws Exception {
    Path haystack =
        haystack("my-notes.txt", " of my notes. The weather held and the meeting ran late again.");
    Path json = dir.resolve("needle.json");
    Run demo =
        demo(
            "needle",
            "--task",
            "needle",
            "--haystack",
            haystack.toString(),
            "--length",
            "3000",
            "--depth",
            "0.5",
            "--seed",
            "3",
            "--json",
            json.toString(),
            "--check-in-process");
    assertEquals(0, demo.exit(), demo.err());
    List<DemoRun.Result> results = demoCommand(demo).results;
    assertEquals(1, results.size());
    DemoRun.Result r = results.get(0);
    assertEquals(3000, r.tokens());
    assertTrue(
        r.tokensInContext() >= 1 + 3000 && r.tokensInContext() <= 1 + 3000 + 16,
        "BOS + document + question + at most 16 generated: " + r.tokensInContext());
    assertFalse(r.expected().isEmpty());
    assertTrue(r.tokensPerSecond() > 0);
    assertContainsAll(
        demo.out(),
        "task:       needle (held-out phrasings), haystack " + haystack,
        "document:   3,000 tokens of my-notes.txt prose, 1 statement at depth 0.50, "
            + "stream 'needle-3'",
        "expected:   \"" + r.expected() + "\"",
        "answer:     ",
        "correct:    ",
        "throughput: ",
        "in-process: 1/1 answers the same");
    String written = Files.readString(json);
    assertContainsAll(
        written,
        "\"task\": \"needle\"",
        "\"stream\": \"needle-3\"",
        "\"tokens\": 3000",
        "\"depth\": 0.5000",
        "\"seed\": 3",
        "\"expected\": \"" + r.expected() + "\"",
        "\"needleOffset\": " + r.needleOffset(),
        "\"answer\": ",
        "\"correct\": " + r.correct(),
        "\"tokensPerSecond\": ",
        "\"stateBytes\": ",
        "\"sameAsInProcess\": true");
  }

  @Test
  void demoSurpriseSendsEachEventThroughKafkaAndReportsItsSurprise() throws Exception {
    Path haystack =
        haystack("surprise-notes.txt", " of my notes: the ferry left at dawn and the café opened.");
    Path json = dir.resolve("surprise.json");
    Run demo =
        demo(
            "surprise",
            "--task",
            "surprise",
            "--haystack",
            haystack.toString(),
            "--events",
            "8",
            "--event-bytes",
            "200",
            "--inject",
            "shuffled,repeat",
            "--seed",
            "4",
            "--json",
            json.toString());
    assertEquals(0, demo.exit(), demo.err());
    List<SurpriseRun.Result> results = demoCommand(demo).surpriseResults;
    assertEquals(2, results.size(), "one run per kind");
    for (SurpriseRun.Result r : results) {
      assertEquals(8, r.bitsPerByte().length);
      for (double bpb : r.bitsPerByte()) {
        assertTrue(Double.isFinite(bpb) && bpb > 0, "a surprise from Kafka: " + bpb);
      }
      assertEquals(5, r.stream().injectedAt(), "event 6 of 8 by default");
    }
    assertEquals("surprise-4-shuffled", results.get(0).streamId());
    assertEquals("surprise-4-repeat", results.get(1).streamId());
    assertEquals(
        results.get(0).stream().events().subList(0, 5),
        results.get(1).stream().events().subList(0, 5),
        "the same prose for each kind");
    assertContainsAll(
        demo.out(),
        "task:       surprise, haystack " + haystack,
        "run:        shuffled at event 6 of 8, ",
        "  <- injected: shuffled",
        "  <- injected: repeat of event 1 (",
        "summary:    shuffled: event 6 ",
        "(mean of events 4, 5, 7, 8): ",
        "summary:    repeat: event 6 ",
        "apart:      ");
    String written = Files.readString(json);
    assertContainsAll(
        written,
        "\"modelFingerprint\": ",
        "\"task\": \"surprise\"",
        "\"stream\": \"surprise-4-shuffled\"",
        "\"seed\": 4",
        "\"inject\": \"repeat\"",
        "\"injectedIndex\": 6",
        "\"copyOf\": 1",
        "\"copyOf\": null",
        "\"injectedBitsPerByte\": ",
        "\"neighboursBitsPerByte\": ",
        "\"apart\": ",
        "{\"index\": 8, \"bytes\": " + results.get(1).stream().bytes(7) + ", ",
        "\"surpriseBitsPerByte\": ",
        "\"injected\": true");
    assertEquals(16, written.split("\"surpriseBitsPerByte\": ").length - 1, written);
  }

  @Test
  void demoSurpriseRefusesWhenTheProcessorComputesNoSurprise() {
    Run demo =
        demo(
            "no-surprise",
            "--task",
            "surprise",
            "--haystack",
            dir.resolve("never-read.txt").toString(),
            "--set",
            "surprise.enabled=false");
    assertEquals(2, demo.exit(), demo.out() + demo.err());
    assertEquals(
        "infini: --task surprise: surprise.enabled is false in the configuration, so the "
            + "processor reports no surprise (set surprise.enabled=true)",
        demo.err().strip());
    assertFalse(demo.out().contains("model:"), "nothing loaded: " + demo.out());
    assertTrue(demoCommand(demo).surpriseResults.isEmpty());
  }
}
