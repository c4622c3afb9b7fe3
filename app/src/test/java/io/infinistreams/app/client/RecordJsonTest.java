package io.infinistreams.app.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.serde.AvroSerdes;
import io.infinistreams.topology.InfiniTopology;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** An output that reset its stream (upgrade policy reset) shows where from. */
class RecordJsonTest {
  private static ConsumerRecord<byte[], byte[]> output() {
    OutputEvent e =
        OutputEvent.newBuilder()
            .setStreamId("alice")
            .setSeq(3)
            .setKind(EventKind.APPEND)
            .setModelFingerprint("b".repeat(64))
            .setEventTime(Instant.EPOCH)
            .build();
    return new ConsumerRecord<>(
        "infini-output",
        0,
        7,
        "alice".getBytes(StandardCharsets.UTF_8),
        AvroSerdes.outputEvent().serialize("infini-output", e));
  }

  @Test
  void anOutputThatResetItsStreamNamesTheOldModel() {
    RecordJson json = new RecordJson(RecordJson.Kind.OUTPUT);
    ConsumerRecord<byte[], byte[]> plain = output();
    assertFalse(json.toJson(plain).has("contextResetFrom"));

    ConsumerRecord<byte[], byte[]> reset = output();
    reset
        .headers()
        .add(InfiniTopology.CONTEXT_RESET_HEADER, "a".repeat(64).getBytes(StandardCharsets.UTF_8));
    ObjectNode o = json.toJson(reset);
    assertEquals("a".repeat(64), o.get("contextResetFrom").asText());
    assertEquals(3, o.get("event").get("seq").asLong());
  }
}
