package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.InfiniApp;
import io.infinistreams.app.runtime.Topics;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * With the largest {@code event.max.text.bytes} (1 MiB), the topics {@code run} creates take the
 * largest valid event, and one such event goes from {@code feed} through the processor to its
 * output; existing topics that are too small are raised, or refused with a clear error.
 */
@Timeout(600)
class LargeEventTest {

  @TempDir Path dir;

  private static Config describe(Admin admin, String topic) throws Exception {
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    return admin.describeConfigs(List.of(r)).all().get().get(r);
  }

  @Test
  void aOneMebibyteEventGoesThroughEndToEnd() throws Exception {
    AppConfig config =
        AppConfig.builder()
            .override("embedded.broker.dir", dir.resolve("kafka").toString())
            .override("state.dir", dir.resolve("state").toString())
            .override("event.max.text.bytes", "1048576")
            .override("topic.partitions", "1")
            .override("http.enabled", "false")
            .override("surprise.enabled", "false")
            .build();
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 1);
        InfiniApp app = InfiniApp.start(config, model, Duration.ofMinutes(2))) {
      String bootstrap = app.bootstrapServers();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        Config input = describe(admin, config.inputTopic());
        assertEquals(
            Integer.toString(Topics.inputMaxMessageBytes(config)),
            input.get("max.message.bytes").value());
        assertEquals("604800000", input.get("retention.ms").value());
        Config dlq = describe(admin, config.deadLetterTopic());
        assertEquals("2592000000", dlq.get("retention.ms").value());
        assertEquals(
            Integer.toString(Topics.deadLetterMaxMessageBytes(config)),
            dlq.get("max.message.bytes").value());

        // an existing topic below the limit: refused with topic.alter.limits=false, else raised
        admin.createTopics(List.of(new NewTopic("small-in", 1, (short) 1))).all().get();
        AppConfig small =
            config.with("topic.input", "small-in").with("topic.alter.limits", "false");
        CliException refused =
            assertThrows(CliException.class, () -> Topics.fitLimits(bootstrap, small));
        assertTrue(
            refused.getMessage().contains("topic small-in accepts records of at most 1048588")
                && refused.getMessage().contains("topic.alter.limits=true"),
            refused.getMessage());
        Topics.fitLimits(bootstrap, small.with("topic.alter.limits", "true"));
        assertEquals(
            Integer.toString(Topics.inputMaxMessageBytes(config)),
            describe(admin, "small-in").get("max.message.bytes").value());
      }

      // exactly event.max.text.bytes of text: one APPEND event, absorbed
      byte[] text = new byte[1_048_576];
      for (int i = 0; i < text.length; i++) {
        text[i] = (byte) ('a' + i % 26);
      }
      Path doc = dir.resolve("big.txt");
      Files.write(doc, text);
      CommandLine cl = Main.commandLine();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      cl.setOut(new PrintWriter(out));
      cl.setErr(new PrintWriter(err));
      int exit =
          cl.execute(
              "feed",
              "big",
              doc.toString(),
              "--start-seq",
              "1",
              "--bootstrap-servers",
              bootstrap,
              "--set",
              "event.max.text.bytes=1048576",
              "--wait",
              "--timeout",
              "500");
      assertEquals(0, exit, err.toString());
      assertTrue(
          out.toString().contains("fed 1,048,576 bytes to stream 'big' as 1 APPEND events"),
          out.toString());
      assertTrue(
          out.toString()
              .contains(
                  "absorbed: stream 'big' holds "
                      + String.format("%,d", 1 + text.length)
                      + " tokens"),
          out.toString() + err);
    }
  }
}
