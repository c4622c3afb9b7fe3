package io.infinistreams.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

  private static final Instant T0 = Instant.parse("2026-01-02T03:04:05.678Z");

  @Test
  void inputEventRoundTripsWithSingleObjectHeader() {
    InputEvent event =
        InputEvent.newBuilder()
            .setSeq(7)
            .setKind(EventKind.GENERATE)
            .setText("héllo")
            .setGeneration(new Generation(12, 0.5f, 99L, PromptFormat.CHAT))
            .setEventTime(T0)
            .setMetadata(Map.of("source", "test"))
            .build();
    AvroSerde<InputEvent> serde = AvroSerdes.inputEvent();
    byte[] bytes = serde.serialize("t", event);
    assertEquals((byte) 0xC3, bytes[0], "single-object marker");
    assertEquals((byte) 0x01, bytes[1], "single-object version");
    assertEquals(event, serde.deserialize("t", bytes));
  }

  @Test
  void defaultsFillOmittedFields() {
    TrustedClasses.install();
    InputEvent event = InputEvent.newBuilder().setSeq(1).setKind(EventKind.APPEND).build();
    assertEquals("", event.getText());
    assertEquals(64, event.getGeneration().getMaxNewTokens());
    assertEquals(PromptFormat.RAW, event.getGeneration().getFormat());
    assertTrue(event.getMetadata().isEmpty());
  }

  @Test
  void outputAndStoredRecordsRoundTrip() {
    OutputEvent out =
        OutputEvent.newBuilder()
            .setStreamId("s")
            .setSeq(3)
            .setKind(EventKind.APPEND)
            .setTokensThisEvent(5)
            .setTokensTotal(6)
            .setSegmentsTotal(0)
            .setSurpriseBitsPerByte(7.5)
            .setLatencyMicros(10)
            .setModelFingerprint("ab")
            .setEventTime(T0)
            .build();
    assertEquals(
        out,
        AvroSerdes.outputEvent().deserialize("t", AvroSerdes.outputEvent().serialize("t", out)));

    StoredSession session =
        new StoredSession(1, List.of(256, 1, 2), List.of(257, 7), 9L, 3L, 0L, "ab", 1234L);
    assertEquals(
        session,
        AvroSerdes.storedSession()
            .deserialize("t", AvroSerdes.storedSession().serialize("t", session)));

    byte[] m = {1, 2, 3, 4, 5, 6, 7, 8};
    StoredHeadMemory head =
        new StoredHeadMemory(
            1, 0, 1, 2, ByteBuffer.wrap(m), ByteBuffer.wrap(new byte[] {9, 9, 9, 9}), 4L, "ab");
    StoredHeadMemory back =
        AvroSerdes.storedHeadMemory()
            .deserialize("t", AvroSerdes.storedHeadMemory().serialize("t", head));
    assertEquals(head, back);
    byte[] mBack = new byte[back.getM().remaining()];
    back.getM().duplicate().get(mBack);
    assertArrayEquals(m, mBack);
  }

  @Test
  void nullIsATombstone() {
    assertNull(AvroSerdes.storedSession().serialize("t", null));
    assertNull(AvroSerdes.storedSession().deserialize("t", null));
  }

  @Test
  void recordWrittenWithThePreviousSchemaStillReads() {
    Schema v1 = SchemaHistory.parse("/io/infinistreams/schemas/previous/InputEvent.v1.avsc");
    GenericRecord generation = new GenericData.Record(v1.getField("generation").schema());
    generation.put("maxNewTokens", 5);
    generation.put("temperature", 0.25f);
    generation.put("seed", 42L);
    GenericRecord old = new GenericData.Record(v1);
    old.put("seq", 11L);
    old.put("kind", new GenericData.EnumSymbol(v1.getField("kind").schema(), "GENERATE"));
    old.put("text", "old prompt");
    old.put("generation", generation);
    byte[] v1Bytes = encode(v1, old);

    AvroSerde<InputEvent> reader =
        new AvroSerde<>(InputEvent.class, InputEvent.getClassSchema(), List.of(v1));
    InputEvent read = reader.deserialize("t", v1Bytes);
    assertEquals(11L, read.getSeq());
    assertEquals(EventKind.GENERATE, read.getKind());
    assertEquals("old prompt", read.getText());
    assertEquals(new Generation(5, 0.25f, 42L, PromptFormat.RAW), read.getGeneration());
    assertEquals(Instant.EPOCH, read.getEventTime());
    assertTrue(read.getMetadata().isEmpty());
  }

  /**
   * A session stored before {@code contextTokens} existed (StoredSession.v1 in the history) reads
   * through the stock serde with an empty context.
   */
  @Test
  void sessionWrittenWithoutContextReadsWithAnEmptyContext() {
    Schema v1 = SchemaHistory.parse("/io/infinistreams/schemas/history/StoredSession.v1.avsc");
    Schema v2 = SchemaHistory.parse("/io/infinistreams/schemas/history/StoredSession.v2.avsc");
    assertEquals(
        List.of(v1, v2), SchemaHistory.previous(StoredSession.getClassSchema().getFullName()));
    GenericRecord old = new GenericData.Record(v1);
    old.put("formatVersion", 1);
    old.put("openTokens", List.of(256, 104, 105));
    old.put("lastSeq", 4L);
    old.put("tokensAbsorbed", 19L);
    old.put("segmentsAbsorbed", 1L);
    old.put("modelFingerprint", "ab");
    StoredSession read = AvroSerdes.storedSession().deserialize("t", encode(v1, old));
    assertEquals(
        new StoredSession(1, List.of(256, 104, 105), List.of(), 4L, 19L, 1L, "ab", 0L), read);
    assertTrue(read.getContextTokens().isEmpty());
  }

  /**
   * A session stored before {@code lastAppliedMillis} existed (StoredSession.v2) reads with 0: the
   * time-to-live sweep stamps it with its own time.
   */
  @Test
  void sessionWrittenWithoutLastAppliedTimeReadsWithZero() {
    Schema v2 = SchemaHistory.parse("/io/infinistreams/schemas/history/StoredSession.v2.avsc");
    GenericRecord old = new GenericData.Record(v2);
    old.put("formatVersion", 1);
    old.put("openTokens", List.of(256, 104));
    old.put("contextTokens", List.of(0, 0));
    old.put("lastSeq", 7L);
    old.put("tokensAbsorbed", 2L);
    old.put("segmentsAbsorbed", 0L);
    old.put("modelFingerprint", "cd");
    StoredSession read = AvroSerdes.storedSession().deserialize("t", encode(v2, old));
    assertEquals(
        new StoredSession(1, List.of(256, 104), List.of(0, 0), 7L, 2L, 0L, "cd", 0L), read);
  }

  /**
   * Output records of every earlier release still read (a client tailing the output topic from its
   * beginning meets them), and an input event of the schema before DELETE existed too.
   */
  @Test
  void outputsAndInputsOfEarlierEventKindsStillRead() {
    for (String version : List.of("v1", "v2")) {
      Schema old =
          SchemaHistory.parse("/io/infinistreams/schemas/history/OutputEvent." + version + ".avsc");
      GenericRecord out = new GenericData.Record(old);
      out.put("streamId", "s");
      out.put("seq", 3L);
      out.put("kind", new GenericData.EnumSymbol(old.getField("kind").schema(), "RESET"));
      out.put("generatedText", null);
      out.put("tokensThisEvent", 0L);
      out.put("tokensTotal", 1L);
      out.put("segmentsTotal", 0L);
      out.put("latencyMicros", 5L);
      out.put("surpriseBitsPerByte", null);
      out.put("modelFingerprint", "ab");
      out.put("eventTime", 0L);
      OutputEvent read = AvroSerdes.outputEvent().deserialize("t", encode(old, out));
      assertEquals(EventKind.RESET, read.getKind(), version);
      assertEquals(3L, read.getSeq(), version);
    }
    Schema v4 = SchemaHistory.parse("/io/infinistreams/schemas/history/InputEvent.v4.avsc");
    GenericRecord in = new GenericData.Record(v4);
    in.put("seq", 2L);
    in.put("kind", new GenericData.EnumSymbol(v4.getField("kind").schema(), "IMPORT"));
    in.put("text", "");
    in.put("generation", new GenericData.Record(v4.getField("generation").schema()));
    ((GenericRecord) in.get("generation")).put("maxNewTokens", 0);
    ((GenericRecord) in.get("generation")).put("temperature", 0f);
    ((GenericRecord) in.get("generation")).put("seed", 0L);
    ((GenericRecord) in.get("generation"))
        .put(
            "format",
            new GenericData.EnumSymbol(
                v4.getField("generation").schema().getField("format").schema(), "RAW"));
    in.put("eventTime", 0L);
    in.put("metadata", Map.of());
    in.put("modelFingerprint", null);
    in.put("snapshot", java.nio.ByteBuffer.wrap(new byte[] {1, 2}));
    InputEvent read = AvroSerdes.inputEvent().deserialize("t", encode(v4, in));
    assertEquals(EventKind.IMPORT, read.getKind());
  }

  @Test
  void unknownWriterSchemaFailsCleanly() {
    Schema v1 = SchemaHistory.parse("/io/infinistreams/schemas/previous/InputEvent.v1.avsc");
    GenericRecord generation = new GenericData.Record(v1.getField("generation").schema());
    generation.put("maxNewTokens", 5);
    generation.put("temperature", 0f);
    generation.put("seed", 0L);
    GenericRecord old = new GenericData.Record(v1);
    old.put("seq", 1L);
    old.put("kind", new GenericData.EnumSymbol(v1.getField("kind").schema(), "APPEND"));
    old.put("text", "x");
    old.put("generation", generation);
    byte[] v1Bytes = encode(v1, old);
    assertThrows(
        SerializationException.class,
        () ->
            new AvroSerde<>(InputEvent.class, InputEvent.getClassSchema())
                .deserialize("t", v1Bytes));
    assertThrows(
        SerializationException.class,
        () -> AvroSerdes.inputEvent().deserialize("t", new byte[] {1, 2, 3}));
  }

  @Test
  void unknownWriterSchemaIsNamedByItsWireFingerprintInHex() {
    Schema next = SchemaHistory.parse("/io/infinistreams/schemas/previous/InputEvent.next.avsc");
    GenericRecord record = new GenericData.Record(next);
    record.put("seq", 2L);
    record.put("kind", new GenericData.EnumSymbol(next.getField("kind").schema(), "SUMMARIZE"));
    record.put("text", "t");
    record.put("priority", 3);
    byte[] bytes = encode(next, record);
    String hex = java.util.HexFormat.of().formatHex(bytes, 2, 10);
    assertEquals(hex, AvroSerde.wireFingerprint(next));
    SerializationException e =
        assertThrows(
            SerializationException.class, () -> AvroSerdes.inputEvent().deserialize("t", bytes));
    assertTrue(
        e.getMessage().contains("unknown writer schema, fingerprint " + hex), e.getMessage());
  }

  /** An InputEvent of the released schema before modelFingerprint reads with a null pin. */
  @Test
  void inputEventWithoutModelPinReadsWithNull() {
    Schema v2 = SchemaHistory.parse("/io/infinistreams/schemas/history/InputEvent.v2.avsc");
    GenericRecord generation = new GenericData.Record(v2.getField("generation").schema());
    generation.put("maxNewTokens", 5);
    generation.put("temperature", 0f);
    generation.put("seed", 0L);
    generation.put(
        "format",
        new GenericData.EnumSymbol(
            v2.getField("generation").schema().getField("format").schema(), "RAW"));
    GenericRecord old = new GenericData.Record(v2);
    old.put("seq", 3L);
    old.put("kind", new GenericData.EnumSymbol(v2.getField("kind").schema(), "RESET"));
    old.put("text", "");
    old.put("generation", generation);
    old.put("eventTime", 7L);
    old.put("metadata", Map.of("k", "v"));
    InputEvent read = AvroSerdes.inputEvent().deserialize("t", encode(v2, old));
    assertEquals(3, read.getSeq());
    assertEquals(EventKind.RESET, read.getKind());
    assertEquals(Map.of("k", "v"), read.getMetadata());
    assertNull(read.getModelFingerprint());
  }

  @Test
  void bytesAfterTheBodyAndInvalidUtf8AreRejected() {
    AvroSerde<InputEvent> serde = AvroSerdes.inputEvent();
    InputEvent event =
        InputEvent.newBuilder().setSeq(1).setKind(EventKind.APPEND).setText("ab@@cd").build();
    byte[] bytes = serde.serialize("t", event);
    assertEquals(event, serde.deserialize("t", bytes));

    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
    SerializationException trailing =
        assertThrows(SerializationException.class, () -> serde.deserialize("t", longer));
    assertTrue(trailing.getMessage().contains("bytes left after the Avro body"));

    byte[] invalid = bytes.clone();
    String s = new String(invalid, java.nio.charset.StandardCharsets.ISO_8859_1);
    int at = s.indexOf("@@");
    invalid[at] = (byte) 0xC3;
    invalid[at + 1] = (byte) 0x28;
    SerializationException utf8 =
        assertThrows(SerializationException.class, () -> serde.deserialize("t", invalid));
    assertTrue(utf8.getMessage().contains("not valid UTF-8"), utf8.getMessage());
  }

  @Test
  void newerWritersUnknownKindReadsAsUnknown() {
    Schema next = SchemaHistory.parse("/io/infinistreams/schemas/previous/InputEvent.next.avsc");
    GenericRecord record = new GenericData.Record(next);
    record.put("seq", 2L);
    record.put("kind", new GenericData.EnumSymbol(next.getField("kind").schema(), "SUMMARIZE"));
    record.put("text", "t");
    record.put("priority", 3);
    InputEvent read =
        new AvroSerde<>(InputEvent.class, InputEvent.getClassSchema(), List.of(next))
            .deserialize("t", encode(next, record));
    assertEquals(EventKind.UNKNOWN, read.getKind());
    assertEquals("t", read.getText());
  }

  private static byte[] encode(Schema schema, GenericRecord record) {
    try {
      ByteBuffer buffer =
          new BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema).encode(record);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
