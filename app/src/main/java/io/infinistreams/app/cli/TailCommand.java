package io.infinistreams.app.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infinistreams.app.client.RecordJson;
import io.infinistreams.app.client.TopicReader;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code infini tail}: the records of the output, dead-letter or input topic, decoded. */
@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = {
      "Print the records of the output topic, the dead-letter topic or the input topic, "
          + "decoded from Avro: one JSON object per line (for jq), or a table.",
      "Without --from-beginning it starts at the end of the topic and prints new records as they "
          + "come (--follow is implied); with it, it prints the records already there and stops "
          + "at the end offsets taken at start, or goes on reading with --follow. Stop it with "
          + "Ctrl-C. Reads committed records only, with no consumer group (nothing is committed).",
      "JSON fields: topic, partition, offset, timestamp, key, event (the decoded value's "
          + "fields). A value that does not decode has event null, valueBase64 and decodeError. "
          + "Dead letters add reason, detail, sourceTopic, sourcePartition, sourceOffset, and "
          + "lastSeq or exception when set; their event is the rejected input event."
    })
public final class TailCommand implements Callable<Integer> {

  /** The topics, by the name {@code --topic} takes. */
  static final List<String> TOPICS = List.of("output", "dlq", "input");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Widest text shown in a table cell, in characters. */
  private static final int TEXT_WIDTH = 60;

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;

  @Option(
      names = "--topic",
      paramLabel = "output|dlq|input",
      defaultValue = "output",
      description =
          "Which topic: output (key topic.output), dlq (key topic.dead.letter) or "
              + "input (key topic.input). Default: ${DEFAULT-VALUE}.")
  String topic;

  @Option(
      names = "--stream",
      paramLabel = "KEY",
      description = "Only the records of this stream (record key). Default: every stream.")
  String stream;

  @Option(
      names = "--from-beginning",
      description = "Start at the oldest record retention kept, not at the end.")
  boolean fromBeginning;

  @Option(
      names = "--follow",
      description =
          "Keep reading new records (until Ctrl-C) instead of stopping at the end "
              + "offsets taken at start. Implied without --from-beginning.")
  boolean follow;

  @Option(
      names = "--limit",
      paramLabel = "N",
      description = "Stop after printing N records. Default: no limit.")
  Long limit;

  @Option(
      names = "--format",
      paramLabel = "json|table",
      defaultValue = "json",
      description =
          "json: one object per line. table: aligned columns under a header, long text "
              + "cut. Default: ${DEFAULT-VALUE}.")
  String format;

  @Override
  public Integer call() throws Exception {
    String name = topic.strip().toLowerCase(Locale.ROOT);
    if (!TOPICS.contains(name)) {
      throw new CliException(
          "--topic must be one of " + String.join(", ", TOPICS) + ", got '" + topic + "'");
    }
    boolean table;
    switch (format.strip().toLowerCase(Locale.ROOT)) {
      case "json" -> table = false;
      case "table" -> table = true;
      default -> throw new CliException("--format must be json or table, got '" + format + "'");
    }
    if (limit != null && limit < 1) {
      throw new CliException("--limit must be at least 1, got " + limit);
    }
    AppConfig config = configOptions.load();
    RecordJson.Kind kind =
        switch (name) {
          case "dlq" -> RecordJson.Kind.DEAD_LETTER;
          case "input" -> RecordJson.Kind.INPUT;
          default -> RecordJson.Kind.OUTPUT;
        };
    String topicName =
        switch (kind) {
          case DEAD_LETTER -> config.deadLetterTopic();
          case INPUT -> config.inputTopic();
          case OUTPUT -> config.outputTopic();
        };
    byte[] wanted = stream == null ? null : stream.getBytes(StandardCharsets.UTF_8);
    RecordJson decoder = new RecordJson(kind);
    PrintWriter out = spec.commandLine().getOut();
    String bootstrap = BrokerAddress.forClient(config);
    long[] printed = {0};
    try (TopicReader reader = new TopicReader(config, bootstrap, topicName, fromBeginning)) {
      if (table) {
        out.println(header(kind));
        out.flush();
      }
      reader.read(
          follow || !fromBeginning,
          r -> {
            if (wanted != null && !Arrays.equals(wanted, r.key())) {
              return true;
            }
            ObjectNode o = decoder.toJson(r);
            out.println(table ? row(kind, o) : json(o));
            out.flush();
            printed[0]++;
            // stop when the reader of the output has gone (e.g. `| head`) or the limit is reached
            return !out.checkError() && (limit == null || printed[0] < limit);
          });
    }
    return 0;
  }

  private static String json(ObjectNode o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final String COMMON = "%4s %10s %-24s %-16s %8s ";

  /** The table's header line for a topic of {@code kind}. */
  static String header(RecordJson.Kind kind) {
    String common = String.format(Locale.ROOT, COMMON, "PART", "OFFSET", "TIMESTAMP", "KEY", "SEQ");
    return switch (kind) {
      case OUTPUT ->
          common
              + String.format(
                  Locale.ROOT,
                  "%-8s %7s %10s %8s %10s %s",
                  "KIND",
                  "TOKENS",
                  "TOTAL",
                  "SEGMENTS",
                  "LATENCY_MS",
                  "TEXT");
      case INPUT -> common + String.format(Locale.ROOT, "%-8s %s", "KIND", "TEXT");
      case DEAD_LETTER ->
          common + String.format(Locale.ROOT, "%-20s %-24s %s", "REASON", "SOURCE", "DETAIL");
    };
  }

  /** One table line for the decoded record {@code o}. */
  static String row(RecordJson.Kind kind, ObjectNode o) {
    JsonNode event = o.get("event");
    boolean decoded = event != null && event.isObject();
    String key = o.get("key").isNull() ? "(none)" : o.get("key").asText();
    String common =
        String.format(
            Locale.ROOT,
            COMMON,
            o.get("partition").asText(),
            o.get("offset").asText(),
            o.get("timestamp").asText(),
            cut(key, 16),
            decoded ? event.path("seq").asText("-") : "-");
    String undecodable = "(undecodable: " + o.path("decodeError").asText() + ")";
    return switch (kind) {
      case OUTPUT ->
          common
              + (decoded
                  ? String.format(
                      Locale.ROOT,
                      "%-8s %7d %10d %8d %10.1f %s",
                      event.path("kind").asText(),
                      event.path("tokensThisEvent").asLong(),
                      event.path("tokensTotal").asLong(),
                      event.path("segmentsTotal").asLong(),
                      event.path("latencyMicros").asLong() / 1e3,
                      event.path("generatedText").isNull()
                          ? ""
                          : cut(event.path("generatedText").asText(), TEXT_WIDTH))
                  : cut(undecodable, TEXT_WIDTH));
      case INPUT ->
          common
              + (decoded
                  ? String.format(
                      Locale.ROOT,
                      "%-8s %s",
                      event.path("kind").asText(),
                      cut(event.path("text").asText(), TEXT_WIDTH))
                  : cut(undecodable, TEXT_WIDTH));
      case DEAD_LETTER -> {
        String source =
            o.has("sourceTopic")
                ? o.get("sourceTopic").asText()
                    + "/"
                    + o.get("sourcePartition").asText()
                    + "/"
                    + o.get("sourceOffset").asText()
                : o.path("source").asText("");
        String detail = o.path("detail").asText("");
        if (!decoded) {
          detail = detail.isEmpty() ? undecodable : detail;
        }
        yield common
            + String.format(
                Locale.ROOT,
                "%-20s %-24s %s",
                o.path("reason").asText(""),
                cut(source, 24),
                cut(detail, TEXT_WIDTH));
      }
    };
  }

  /**
   * {@code text} on one line (control characters as spaces), at most {@code width} characters: a
   * longer one ends in an ellipsis.
   */
  static String cut(String text, int width) {
    StringBuilder b = new StringBuilder(Math.min(text.length(), width + 1));
    for (int i = 0; i < text.length() && b.length() <= width; i++) {
      char c = text.charAt(i);
      b.append(Character.isISOControl(c) ? ' ' : c);
    }
    if (b.length() > width) {
      b.setLength(width - 1);
      if (Character.isHighSurrogate(b.charAt(b.length() - 1))) {
        b.setLength(b.length() - 1);
      }
      b.append('…');
    }
    return b.toString();
  }
}
