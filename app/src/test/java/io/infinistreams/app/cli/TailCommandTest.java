package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.app.Main;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code infini tail} against a real in-process broker and processor (tiny model): a stream's
 * outputs, its dead letters (a seq gap, whose value decodes, and a value that is not Avro), the
 * {@code --stream} filter, the table, following new records, and bad options.
 */
@Timeout(180)
class TailCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] NOT_AVRO = "not avro at all".getBytes(StandardCharsets.UTF_8);
  private static final List<String> TEXTS =
      List.of("Grüße aus Köln. ", "The pass key is 4471. ", "Remember it.");

  @TempDir static Path dir;
  private static InfiniModel model;
  private static InfiniApp app;

  @BeforeAll
  static void startAndFeed() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 1);
    AppConfig config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state").toString())
            .override("topic.partitions", "2")
            .override("http.port", "0")
            .build();
    app = InfiniApp.start(config, model, Duration.ofMinutes(2));
    try (StreamClient tina = StreamClient.connect(config, app.bootstrapServers(), "tina");
        StreamClient other = StreamClient.connect(config, app.bootstrapServers(), "other")) {
      for (int i = 0; i < TEXTS.size(); i++) {
        tina.append(i + 1, TEXTS.get(i), (m, e) -> {});
      }
      other.append(1, "another stream", (m, e) -> {});
      tina.flush();
      other.flush();
      tina.awaitOutput(TEXTS.size(), Duration.ofSeconds(60));
      other.awaitOutput(1, Duration.ofSeconds(60));
      tina.append(9, "a gap: the stream expects seq 4", (m, e) -> {});
      tina.flush();
    }
    try (KafkaProducer<byte[], byte[]> raw =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, app.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      raw.send(
              new ProducerRecord<>(
                  config.inputTopic(), "tina".getBytes(StandardCharsets.UTF_8), NOT_AVRO))
          .get(30, TimeUnit.SECONDS);
    }
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

  private record Run(int exit, String out, String err) {}

  private static Run tail(String... args) {
    List<String> all =
        new ArrayList<>(List.of("tail", "--bootstrap-servers", app.bootstrapServers()));
    all.addAll(List.of(args));
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  private static List<JsonNode> lines(Run run) throws Exception {
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> nodes = new ArrayList<>();
    for (String line : run.out().lines().toList()) {
      nodes.add(JSON.readTree(line));
    }
    return nodes;
  }

  /** Tina's dead letters, once both are there (the processor writes them after her outputs). */
  private static List<JsonNode> tinasDeadLetters() throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      List<JsonNode> dead =
          lines(tail("--topic", "dlq", "--from-beginning", "--stream", "tina", "--format", "json"));
      if (dead.size() >= 2 || System.nanoTime() - deadline > 0) {
        return dead;
      }
    }
  }

  @Test
  void outputsOfEveryStreamDecodeAsJsonLines() throws Exception {
    List<JsonNode> all = lines(tail("--topic", "output", "--from-beginning", "--format", "json"));
    List<JsonNode> tinas = all.stream().filter(n -> n.get("key").asText().equals("tina")).toList();
    assertEquals(TEXTS.size(), tinas.size(), all.toString());
    assertTrue(all.stream().anyMatch(n -> n.get("key").asText().equals("other")), all.toString());
    long total = 1; // BOS
    for (int i = 0; i < TEXTS.size(); i++) {
      JsonNode n = tinas.get(i);
      JsonNode event = n.get("event");
      int bytes = TEXTS.get(i).getBytes(StandardCharsets.UTF_8).length;
      total += bytes;
      assertEquals("infini-output", n.get("topic").asText());
      assertTrue(n.get("partition").isInt() && n.get("offset").isIntegralNumber(), n.toString());
      assertTrue(n.get("timestamp").asText().matches("\\d{4}-\\d\\d-\\d\\dT[\\d:.]{12}Z"), n + "");
      assertEquals(i + 1, event.get("seq").asLong(), n.toString());
      assertEquals("tina", event.get("streamId").asText());
      assertEquals("APPEND", event.get("kind").asText());
      if (i > 0) {
        assertEquals(bytes, event.get("tokensThisEvent").asLong(), n.toString());
      }
      assertEquals(total, event.get("tokensTotal").asLong(), n.toString());
    }
  }

  @Test
  void deadLettersCarryTheirReasonAndTheOriginalValue() throws Exception {
    List<JsonNode> dead = tinasDeadLetters();
    assertEquals(2, dead.size(), dead.toString());
    JsonNode gap = dead.get(0);
    assertEquals("SEQ_GAP", gap.get("reason").asText(), gap.toString());
    assertEquals(TEXTS.size(), gap.get("lastSeq").asLong(), gap.toString());
    assertEquals("infini-input", gap.get("sourceTopic").asText(), gap.toString());
    assertTrue(gap.get("sourceOffset").isIntegralNumber(), gap.toString());
    assertEquals(9, gap.get("event").get("seq").asLong(), gap.toString());
    assertEquals("a gap: the stream expects seq 4", gap.get("event").get("text").asText());
    assertFalse(gap.has("decodeError"), gap.toString());

    JsonNode bad = dead.get(1);
    assertEquals("UNDECODABLE", bad.get("reason").asText(), bad.toString());
    assertTrue(bad.get("event").isNull(), bad.toString());
    assertArrayEquals(NOT_AVRO, Base64.getDecoder().decode(bad.get("valueBase64").asText()));
    assertTrue(bad.get("decodeError").asText().contains("not Avro"), bad.toString());

    // the input topic holds all five of tina's records, the last two as sent
    List<JsonNode> input = lines(tail("--topic", "input", "--from-beginning", "--stream", "tina"));
    assertEquals(5, input.size(), input.toString());
    assertEquals(9, input.get(3).get("event").get("seq").asLong());
    assertNotNull(input.get(4).get("decodeError"), input.get(4).toString());
  }

  @Test
  void streamFiltersAndAnUnknownStreamPrintsNothing() throws Exception {
    List<JsonNode> other = lines(tail("--from-beginning", "--stream", "other"));
    assertEquals(1, other.size(), other.toString());
    assertEquals("other", other.get(0).get("key").asText());
    assertEquals(1, other.get(0).get("event").get("seq").asLong());

    Run nobody = tail("--from-beginning", "--stream", "nobody");
    assertEquals(0, nobody.exit(), nobody.err());
    assertEquals("", nobody.out());
  }

  @Test
  void tableHasAHeaderAndOneLinePerRecord() throws Exception {
    Run table = tail("--from-beginning", "--stream", "tina", "--format", "table");
    assertEquals(0, table.exit(), table.err());
    List<String> rows = table.out().lines().toList();
    assertEquals(1 + TEXTS.size(), rows.size(), table.out());
    assertTrue(
        rows.get(0).matches("\\s*PART\\s+OFFSET\\s+TIMESTAMP\\s+KEY\\s+SEQ\\s+KIND.*"), rows + "");
    int seqColumn = rows.get(0).indexOf("SEQ") + "SEQ".length();
    for (int i = 1; i < rows.size(); i++) {
      assertEquals(
          String.valueOf(i), rows.get(i).substring(0, seqColumn).strip().replaceAll(".* ", ""));
      assertTrue(rows.get(i).contains(" tina "), rows.get(i));
      assertTrue(rows.get(i).contains(" APPEND "), rows.get(i));
    }

    List<JsonNode> dead = tinasDeadLetters();
    Run deadTable =
        tail("--topic", "dlq", "--from-beginning", "--stream", "tina", "--format", "table");
    List<String> deadRows = deadTable.out().lines().toList();
    assertEquals(1 + dead.size(), deadRows.size(), deadTable.out());
    assertTrue(deadRows.get(0).contains("REASON"), deadRows.get(0));
    assertTrue(deadRows.get(1).contains("SEQ_GAP"), deadTable.out());
    assertTrue(deadRows.get(2).contains("UNDECODABLE"), deadTable.out());
  }

  /** Without --from-beginning only records written after the start are printed. */
  @Test
  void withoutFromBeginningOnlyNewRecordsAreFollowed() throws Exception {
    byte[] key = "live".getBytes(StandardCharsets.UTF_8);
    try (KafkaProducer<byte[], byte[]> raw =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, app.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      raw.send(
              new ProducerRecord<>(
                  app.config().inputTopic(), key, "old".getBytes(StandardCharsets.UTF_8)))
          .get(30, TimeUnit.SECONDS);
    }
    CompletableFuture<Run> follower =
        CompletableFuture.supplyAsync(
            () -> tail("--topic", "input", "--stream", "live", "--limit", "1"));
    try (KafkaProducer<byte[], byte[]> raw =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, app.bootstrapServers()),
            new ByteArraySerializer(),
            new ByteArraySerializer())) {
      // the follower starts at the ends once it has connected: send until it has printed one
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      for (int i = 0; !follower.isDone() && System.nanoTime() - deadline < 0; i++) {
        raw.send(
                new ProducerRecord<>(
                    app.config().inputTopic(), key, ("new " + i).getBytes(StandardCharsets.UTF_8)))
            .get(30, TimeUnit.SECONDS);
        try {
          follower.get(300, TimeUnit.MILLISECONDS);
        } catch (TimeoutException notYet) {
          // send another
        }
      }
    }
    Run run = follower.get(60, TimeUnit.SECONDS);
    List<JsonNode> seen = lines(run);
    assertEquals(1, seen.size(), run.out());
    String value =
        new String(
            Base64.getDecoder().decode(seen.get(0).get("valueBase64").asText()),
            StandardCharsets.UTF_8);
    assertTrue(value.startsWith("new "), value);
  }

  @Test
  void badOptionsFailWithOneLine() {
    Run topic = tail("--topic", "outputs");
    assertEquals(2, topic.exit());
    assertEquals(
        "infini: --topic must be one of output, dlq, input, got 'outputs'", topic.err().strip());
    Run format = tail("--format", "yaml");
    assertEquals(2, format.exit());
    assertEquals(1, format.err().lines().count(), format.err());
  }

  /**
   * A topic the brokers do not have fails with one line as soon as they answer, whether tail would
   * stop at the end or follow (which would otherwise wait for the topic forever).
   */
  @Test
  void aMissingTopicFailsAtOnceWithOneLine() {
    for (List<String> args :
        List.of(
            List.of("--set", "topic.output=no-such-topic"),
            List.of(
                "--topic", "dlq", "--set", "topic.dead.letter=no-such-dlq", "--from-beginning"))) {
      long t0 = System.nanoTime();
      Run run = tail(args.toArray(String[]::new));
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals(2, run.exit(), run.err());
      assertEquals(1, run.err().lines().count(), run.err());
      assertTrue(run.err().contains(" does not exist at " + app.bootstrapServers()), run.err());
      // the brokers' answer, not a timeout (the describe timeout is 10 s, metadata waits 30 s)
      assertTrue(seconds < 10, "took " + seconds + " s: " + run.err().strip());
      assertEquals("", run.out());
    }
  }
}
