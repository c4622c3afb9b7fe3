package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.schemas.serde.SchemaHistory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The processor's behaviour through TopologyTestDriver, with the tiny model (with an overlap, so
 * the stored state includes context tokens, as the shipped model's does) and fixed times.
 */
class InfiniTopologyTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final String STREAM = "stream-1";
  private static final TopologySettings SETTINGS =
      TopologySettings.defaults()
          .withMaxEventTextBytes(256)
          .withAbsorbChunkTokens(7)
          .withMaxNewTokensLimit(32);

  private static InfiniModel model;

  @TempDir Path stateDir;

  private TopologyTestDriver driver;
  private FaultyModelCalls faults;
  private TestInputTopic<byte[], byte[]> input;
  private TestOutputTopic<String, OutputEvent> output;
  private TestOutputTopic<byte[], byte[]> deadLetters;
  private KeyValueStore<String, StoredSession> sessions;
  private KeyValueStore<MemoryKey, StoredHeadMemory> memory;

  @BeforeAll
  static void createModel() {
    model = InfiniModel.create(ModelConfig.tiny().withOverlap(3), 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @BeforeEach
  void startDriver() {
    Properties props = StreamsProps.forModel(model.config(), SETTINGS);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "infini-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    faults = new FaultyModelCalls(model);
    driver = new TopologyTestDriver(InfiniTopology.build(SETTINGS, model, faults), props, T0);
    input =
        driver.createInputTopic(
            SETTINGS.inputTopic(),
            new ByteArraySerializer(),
            new ByteArraySerializer(),
            T0,
            java.time.Duration.ofMillis(1));
    output =
        driver.createOutputTopic(
            SETTINGS.outputTopic(),
            InfiniTopology.KEY_SERDE.deserializer(),
            InfiniTopology.OUTPUT_SERDE.deserializer());
    deadLetters =
        driver.createOutputTopic(
            SETTINGS.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    sessions = driver.getKeyValueStore(SETTINGS.sessionsStore());
    memory = driver.getKeyValueStore(SETTINGS.memoryStore());
  }

  @AfterEach
  void closeDriver() {
    driver.close();
  }

  // ---- events and helpers ----

  private static InputEvent append(long seq, String text) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(EventKind.APPEND)
        .setText(text)
        .setGeneration(new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  private static InputEvent generate(
      long seq, String prompt, int maxNewTokens, float temperature, PromptFormat format) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(EventKind.GENERATE)
        .setText(prompt)
        .setGeneration(new Generation(maxNewTokens, temperature, 5L, format))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  private static InputEvent reset(long seq) {
    return InputEvent.newBuilder()
        .setSeq(seq)
        .setKind(EventKind.RESET)
        .setText("")
        .setGeneration(new Generation(0, 0f, 0L, PromptFormat.RAW))
        .setEventTime(T0)
        .setMetadata(Map.of())
        .build();
  }

  private void send(String key, InputEvent event) {
    input.pipeInput(
        key.getBytes(StandardCharsets.UTF_8), InfiniTopology.INPUT_SERDE.serialize("t", event));
  }

  /** Every store entry as hex(key bytes) -> hex(value bytes), both stores. */
  private Map<String, String> snapshot() {
    return TopologyHarness.records(driver, SETTINGS);
  }

  /** The state the stores hold for {@code streamId}. */
  private StreamState storedState(String streamId) {
    ModelConfig c = model.config();
    List<HeadMemory> memories = new ArrayList<>();
    for (int layer = 0; layer < c.layers(); layer++) {
      for (int head = 0; head < c.heads(); head++) {
        StoredHeadMemory stored = memory.get(new MemoryKey(streamId, layer, head));
        assertNotNull(stored, "memory of layer " + layer + " head " + head);
        assertEquals(model.fingerprint(), stored.getModelFingerprint());
        assertEquals(layer, stored.getLayer());
        assertEquals(head, stored.getHead());
        memories.add(StateCodec.fromStored(stored));
      }
    }
    return StateCodec.toState(c, sessions.get(streamId), memories);
  }

  private static void assertSameState(StreamState expected, StreamState actual) {
    assertEquals(expected.tokensAbsorbed(), actual.tokensAbsorbed());
    assertEquals(expected.segmentsAbsorbed(), actual.segmentsAbsorbed());
    assertArrayEquals(expected.openTokens(), actual.openTokens());
    for (int i = 0; i < expected.memories().size(); i++) {
      assertArrayEquals(
          expected.memories().get(i).toBytes(), actual.memories().get(i).toBytes(), "memory " + i);
    }
  }

  private static String text(int bytes, int salt) {
    StringBuilder sb = new StringBuilder();
    java.util.Random r = new java.util.Random(salt);
    while (sb.length() < bytes) {
      sb.append((char) ('a' + r.nextInt(26)));
      if (r.nextInt(6) == 0) {
        sb.append(' ');
      }
    }
    return sb.substring(0, bytes);
  }

  // ---- behaviour ----

  @Test
  void appendAbsorbsTextAndStoresTheModelsState() {
    String text = text(45, 1); // 46 tokens with BOS: 2 full segments of 16, 14 open
    send(STREAM, append(1, text));

    AbsorbResult reference = model.absorb(model.newState(), ByteTokenizer.encode(text), true);
    TestRecord<String, OutputEvent> record = output.readRecord();
    OutputEvent out = record.value();
    assertEquals(STREAM, record.key());
    assertEquals(T0, record.getRecordTime());
    assertEquals(STREAM, out.getStreamId());
    assertEquals(1, out.getSeq());
    assertEquals(EventKind.APPEND, out.getKind());
    assertNull(out.getGeneratedText());
    assertEquals(45, out.getTokensThisEvent());
    assertEquals(46, out.getTokensTotal());
    assertEquals(2, out.getSegmentsTotal());
    assertEquals(model.fingerprint(), out.getModelFingerprint());
    assertEquals(T0, out.getEventTime());
    double sum = 0;
    for (float lp : reference.logProbs()) {
      sum += lp;
    }
    assertEquals(-sum / Math.log(2) / 45, out.getSurpriseBitsPerByte(), 1e-4);
    assertTrue(out.getSurpriseBitsPerByte() > 0);
    assertTrue(output.isEmpty());
    assertTrue(deadLetters.isEmpty());

    assertSameState(reference.state(), storedState(STREAM));
    assertEquals(1, sessions.get(STREAM).getLastSeq());
    assertEquals(StateCodec.FORMAT_VERSION, sessions.get(STREAM).getFormatVersion());
  }

  @Test
  void appendsInPiecesEqualOneCall() {
    String text = text(200, 2);
    send(STREAM, append(1, text.substring(0, 3)));
    send(STREAM, append(2, text.substring(3, 90)));
    send(STREAM, append(3, text.substring(90)));
    assertEquals(3, output.readValuesToList().size());
    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode(text), false).state();
    assertSameState(reference, storedState(STREAM));
  }

  @Test
  void generateRepliesAndKeepsPromptAndReplyInContext() {
    String context = text(40, 3);
    send(STREAM, append(1, context));
    output.readValue();
    send(STREAM, generate(2, "what?", 12, 0f, PromptFormat.CHAT));

    StreamState afterAppend =
        model.absorb(model.newState(), ByteTokenizer.encode(context), false).state();
    int[] prompt = ByteTokenizer.chatTurn("what?");
    GenerateResult reference =
        model.generate(afterAppend, prompt, new GenerationSettings(12, 0f, 5L, true));
    OutputEvent out = output.readValue();
    assertEquals(EventKind.GENERATE, out.getKind());
    assertEquals(ByteTokenizer.decode(reference.generated()), out.getGeneratedText());
    assertEquals(prompt.length + reference.generated().length, out.getTokensThisEvent());
    assertEquals(reference.state().tokensAbsorbed(), out.getTokensTotal());
    assertNull(out.getSurpriseBitsPerByte());
    assertSameState(reference.state(), storedState(STREAM));
  }

  @Test
  void generateWithALongRawPromptEqualsOneCall() {
    String prompt = text(30, 4); // longer than the 7-token chunk: absorbed in chunks first
    send(STREAM, generate(1, prompt, 5, 0.8f, PromptFormat.RAW));
    GenerateResult reference =
        model.generate(
            model.newState(),
            ByteTokenizer.encode(prompt),
            new GenerationSettings(5, 0.8f, 5L, true));
    OutputEvent out = output.readValue();
    assertEquals(ByteTokenizer.decode(reference.generated()), out.getGeneratedText());
    assertSameState(reference.state(), storedState(STREAM));
  }

  @Test
  void duplicateAndOutOfOrderEventsAreDeadLetteredWithTheLastAppliedSeq() {
    send(STREAM, append(1, "first"));
    output.readValue();
    Map<String, String> before = snapshot();

    for (InputEvent old : List.of(append(1, "same seq again"), append(0, "older"), reset(1))) {
      byte[] value = InfiniTopology.INPUT_SERDE.serialize("t", old);
      input.pipeInput(STREAM.getBytes(StandardCharsets.UTF_8), value);
      TestRecord<byte[], byte[]> dead =
          assertDeadLettered(
              STREAM.getBytes(StandardCharsets.UTF_8), value, DeadLetterReason.DUPLICATE_SEQ);
      assertEquals("1", header(dead, DeadLetterReason.LAST_SEQ_HEADER));
    }
    assertTrue(output.isEmpty(), "a duplicate is not applied");
    assertEquals(before, snapshot());

    send(STREAM, append(2, " second"));
    assertEquals(2, output.readValue().getSeq());
    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode("first second"), false).state();
    assertSameState(reference, storedState(STREAM));
  }

  @Test
  void aSeqAboveLastPlusOneIsAGapAndCannotLockTheStream() {
    byte[] key = STREAM.getBytes(StandardCharsets.UTF_8);
    byte[] first = InfiniTopology.INPUT_SERDE.serialize("t", append(5, "x"));
    input.pipeInput(key, first);
    assertEquals(
        "0",
        header(
            assertDeadLettered(key, first, DeadLetterReason.SEQ_GAP),
            DeadLetterReason.LAST_SEQ_HEADER),
        "a new stream starts at seq 1");
    assertNull(sessions.get(STREAM));

    send(STREAM, append(1, "first"));
    output.readValue();
    Map<String, String> before = snapshot();
    for (InputEvent far :
        List.of(append(Long.MAX_VALUE, "lock"), reset(Long.MAX_VALUE), append(3, "x"))) {
      byte[] value = InfiniTopology.INPUT_SERDE.serialize("t", far);
      input.pipeInput(key, value);
      TestRecord<byte[], byte[]> dead = assertDeadLettered(key, value, DeadLetterReason.SEQ_GAP);
      assertEquals("1", header(dead, DeadLetterReason.LAST_SEQ_HEADER));
      assertTrue(header(dead, DeadLetterReason.DETAIL_HEADER).contains("expected 2"));
    }
    assertEquals(before, snapshot());
    assertTrue(output.isEmpty());

    send(STREAM, append(2, " second"));
    assertEquals(2, output.readValue().getSeq());
    assertEquals(2, sessions.get(STREAM).getLastSeq());
  }

  @Test
  void resetDeletesTheStreamsMemoryAndKeepsItsSequence() {
    send(STREAM, append(1, text(50, 5)));
    send("other", append(1, text(50, 6)));
    output.readValuesToList();
    Map<String, String> before = snapshot();

    send(STREAM, reset(2));
    OutputEvent out = output.readValue();
    assertEquals(EventKind.RESET, out.getKind());
    assertEquals(0, out.getTokensThisEvent());
    assertEquals(1, out.getTokensTotal());
    assertEquals(0, out.getSegmentsTotal());

    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it =
        memory.range(MemoryKey.first(STREAM), MemoryKey.last(STREAM))) {
      assertFalse(it.hasNext(), "no memory records left for the reset stream");
    }
    StoredSession session = sessions.get(STREAM);
    assertEquals(2, session.getLastSeq());
    assertEquals(List.of(ByteTokenizer.BOS), session.getOpenTokens());
    // the other stream is untouched
    Map<String, String> after = snapshot();
    before.forEach(
        (k, v) -> {
          if (!k.startsWith("s:" + STREAM) && !k.startsWith("m:" + hexPrefix(STREAM))) {
            assertEquals(v, after.get(k), k);
          }
        });

    send(STREAM, append(1, "pre-reset duplicate"));
    assertTrue(output.isEmpty());
    send(STREAM, append(3, "fresh start"));
    output.readValue();
    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode("fresh start"), false).state();
    assertSameState(reference, storedState(STREAM));
  }

  private static String hexPrefix(String streamId) {
    byte[] id = streamId.getBytes(StandardCharsets.UTF_8);
    return HexFormat.of()
        .formatHex(ByteBuffer.allocate(4 + id.length).putInt(id.length).put(id).array());
  }

  // ---- dead letters ----

  static Stream<Arguments> badEvents() {
    byte[] streamKey = STREAM.getBytes(StandardCharsets.UTF_8);
    Function<InputEvent, byte[]> enc = e -> InfiniTopology.INPUT_SERDE.serialize("t", e);
    return Stream.of(
        Arguments.of("null key", null, enc.apply(append(9, "x")), DeadLetterReason.NULL_KEY),
        Arguments.of(
            "invalid UTF-8 key",
            new byte[] {(byte) 0xC3, (byte) 0x28},
            enc.apply(append(9, "x")),
            DeadLetterReason.INVALID_KEY),
        Arguments.of(
            "key too long",
            "k".repeat(300).getBytes(StandardCharsets.UTF_8),
            enc.apply(append(9, "x")),
            DeadLetterReason.INVALID_KEY),
        Arguments.of(
            "not Avro",
            streamKey,
            "plain text".getBytes(StandardCharsets.UTF_8),
            DeadLetterReason.UNDECODABLE),
        Arguments.of("null value", streamKey, null, DeadLetterReason.UNDECODABLE),
        Arguments.of(
            "bytes after the Avro body",
            streamKey,
            concat(enc.apply(append(2, "x")), new byte[] {0}),
            DeadLetterReason.UNDECODABLE),
        Arguments.of(
            "invalid UTF-8 in text",
            streamKey,
            replace(enc.apply(append(2, "ab@@cd")), "@@", new byte[] {(byte) 0xC3, (byte) 0x28}),
            DeadLetterReason.UNDECODABLE),
        Arguments.of(
            "invalid UTF-8 in metadata",
            streamKey,
            replace(
                enc.apply(
                    InputEvent.newBuilder(append(2, "x")).setMetadata(Map.of("k", "@@")).build()),
                "@@",
                new byte[] {(byte) 0xFF, (byte) 0xFE}),
            DeadLetterReason.UNDECODABLE),
        Arguments.of(
            "truncated",
            streamKey,
            java.util.Arrays.copyOf(enc.apply(append(9, "some text")), 14),
            DeadLetterReason.UNDECODABLE),
        Arguments.of(
            "unknown kind",
            streamKey,
            enc.apply(InputEvent.newBuilder(append(9, "x")).setKind(EventKind.UNKNOWN).build()),
            DeadLetterReason.UNKNOWN_KIND),
        Arguments.of(
            "text too large",
            streamKey,
            enc.apply(append(9, "é".repeat(129))),
            DeadLetterReason.TEXT_TOO_LARGE),
        Arguments.of(
            "negative seq",
            streamKey,
            enc.apply(append(-1, "x")),
            DeadLetterReason.INVALID_SEQUENCE),
        Arguments.of(
            "negative maxNewTokens",
            streamKey,
            enc.apply(generate(9, "q", -1, 0f, PromptFormat.RAW)),
            DeadLetterReason.INVALID_SETTINGS),
        Arguments.of(
            "maxNewTokens over limit",
            streamKey,
            enc.apply(generate(9, "q", 33, 0f, PromptFormat.RAW)),
            DeadLetterReason.INVALID_SETTINGS),
        Arguments.of(
            "NaN temperature",
            streamKey,
            enc.apply(generate(9, "q", 3, Float.NaN, PromptFormat.RAW)),
            DeadLetterReason.INVALID_SETTINGS),
        Arguments.of(
            "negative temperature",
            streamKey,
            enc.apply(generate(9, "q", 3, -0.5f, PromptFormat.RAW)),
            DeadLetterReason.INVALID_SETTINGS),
        Arguments.of(
            "infinite temperature",
            streamKey,
            enc.apply(generate(9, "q", 3, Float.POSITIVE_INFINITY, PromptFormat.CHAT)),
            DeadLetterReason.INVALID_SETTINGS));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  /** {@code bytes} with the first occurrence of ASCII {@code marker} replaced (same length). */
  private static byte[] replace(byte[] bytes, String marker, byte[] with) {
    byte[] m = marker.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i + m.length <= bytes.length; i++) {
      if (java.util.Arrays.equals(bytes, i, i + m.length, m, 0, m.length)) {
        byte[] out = bytes.clone();
        System.arraycopy(with, 0, out, i, with.length);
        return out;
      }
    }
    throw new AssertionError("marker not found");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badEvents")
  void badEventsGoToTheDeadLetterTopicWithStateUnchanged(
      String name, byte[] key, byte[] value, DeadLetterReason reason) {
    send(STREAM, append(1, text(40, 7)));
    output.readValue();
    Map<String, String> before = snapshot();

    RecordHeaders headers = new RecordHeaders();
    headers.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetterReason.HEADER, "FORGED".getBytes(StandardCharsets.UTF_8));
    headers.add(DeadLetterReason.LAST_SEQ_HEADER, "99".getBytes(StandardCharsets.UTF_8));
    input.pipeInput(new TestRecord<>(key, value, headers, T0));

    TestRecord<byte[], byte[]> dead = assertDeadLettered(key, value, reason);
    assertEquals("abc", header(dead, "trace"), "other headers are kept");
    assertNull(header(dead, DeadLetterReason.LAST_SEQ_HEADER), "forged headers are dropped");
    assertEquals(before, snapshot(), "stores unchanged");
    assertTrue(output.isEmpty());
  }

  private TestRecord<byte[], byte[]> assertDeadLettered(
      byte[] key, byte[] value, DeadLetterReason reason) {
    TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
    long reasons =
        java.util.stream.StreamSupport.stream(
                dead.headers().headers(DeadLetterReason.HEADER).spliterator(), false)
            .count();
    assertEquals(1, reasons, "one reason header, none carried over from the input");
    assertArrayEquals(key, dead.key());
    assertArrayEquals(value, dead.value());
    assertEquals(reason.name(), header(dead, DeadLetterReason.HEADER));
    assertFalse(header(dead, DeadLetterReason.DETAIL_HEADER).isEmpty());
    assertTrue(header(dead, DeadLetterReason.SOURCE_HEADER).startsWith(SETTINGS.inputTopic()));
    assertTrue(deadLetters.isEmpty());
    return dead;
  }

  private static String header(TestRecord<byte[], byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Writes the stream's session as if {@code fingerprint}'s model had written it. */
  private void setSessionModel(String fingerprint) {
    sessions.put(
        STREAM,
        StoredSession.newBuilder(sessions.get(STREAM)).setModelFingerprint(fingerprint).build());
  }

  /**
   * Another model serves (simulated by the session's fingerprint): events, RESET included, are
   * dead-lettered; back on the right model, a later event is a gap, and the dead-lettered event
   * replays.
   */
  @Test
  void fingerprintMismatchedEventReplaysOnceTheRightModelServes() {
    byte[] key = STREAM.getBytes(StandardCharsets.UTF_8);
    send(STREAM, append(1, "one "));
    output.readValue();
    setSessionModel("0".repeat(64));
    Map<String, String> before = snapshot();

    byte[] two = InfiniTopology.INPUT_SERDE.serialize("t", append(2, "two "));
    input.pipeInput(key, two);
    assertDeadLettered(key, two, DeadLetterReason.FINGERPRINT_MISMATCH);
    byte[] unpinnedReset = InfiniTopology.INPUT_SERDE.serialize("t", reset(2));
    input.pipeInput(key, unpinnedReset);
    assertDeadLettered(key, unpinnedReset, DeadLetterReason.FINGERPRINT_MISMATCH);
    assertEquals(before, snapshot(), "RESET under another model deletes nothing");
    assertTrue(output.isEmpty());

    setSessionModel(model.fingerprint()); // the right model serves again
    byte[] three = InfiniTopology.INPUT_SERDE.serialize("t", append(3, "three"));
    input.pipeInput(key, three);
    assertEquals(
        "1",
        header(
            assertDeadLettered(key, three, DeadLetterReason.SEQ_GAP),
            DeadLetterReason.LAST_SEQ_HEADER));

    input.pipeInput(key, two); // the producer replays from last-seq + 1
    input.pipeInput(key, three);
    assertEquals(
        List.of(2L, 3L), output.readValuesToList().stream().map(OutputEvent::getSeq).toList());
    assertTrue(deadLetters.isEmpty());
    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode("one two three"), false).state();
    assertSameState(reference, storedState(STREAM));
  }

  @Test
  void resetPinnedToTheServingModelMovesAStreamToIt() {
    send(STREAM, append(1, text(40, 8)));
    output.readValue();
    setSessionModel("0".repeat(64));

    send(STREAM, InputEvent.newBuilder(reset(2)).setModelFingerprint("0".repeat(12)).build());
    assertEquals(
        DeadLetterReason.FINGERPRINT_MISMATCH.name(),
        header(deadLetters.readRecord(), DeadLetterReason.HEADER),
        "pinned to another model");
    send(
        STREAM,
        InputEvent.newBuilder(reset(2))
            .setModelFingerprint(model.fingerprint().substring(0, 11))
            .build());
    assertEquals(
        DeadLetterReason.FINGERPRINT_MISMATCH.name(),
        header(deadLetters.readRecord(), DeadLetterReason.HEADER),
        "a pin shorter than 12 hex digits");
    assertTrue(output.isEmpty());

    send(
        STREAM,
        InputEvent.newBuilder(reset(2))
            .setModelFingerprint(model.fingerprint().substring(0, 12))
            .build());
    assertEquals(EventKind.RESET, output.readValue().getKind());
    assertEquals(model.fingerprint(), sessions.get(STREAM).getModelFingerprint());
    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it =
        memory.range(MemoryKey.first(STREAM), MemoryKey.last(STREAM))) {
      assertFalse(it.hasNext());
    }
    send(STREAM, append(3, "after"));
    assertEquals(3, output.readValue().getSeq());
  }

  @Test
  void headMemoryFromAnotherModelIsDeadLettered() {
    send(STREAM, append(1, text(40, 9)));
    output.readValue();
    MemoryKey key = new MemoryKey(STREAM, 1, 1);
    memory.put(
        key,
        StoredHeadMemory.newBuilder(memory.get(key)).setModelFingerprint("1".repeat(64)).build());
    Map<String, String> before = snapshot();

    send(STREAM, append(2, "more"));
    assertEquals(
        DeadLetterReason.FINGERPRINT_MISMATCH.name(),
        header(deadLetters.readRecord(), DeadLetterReason.HEADER));
    assertEquals(before, snapshot());
  }

  @Test
  void missingMemoryRecordsAreDeadLettered() {
    send(STREAM, append(1, text(40, 10)));
    output.readValue();
    memory.delete(new MemoryKey(STREAM, 0, 1));
    Map<String, String> before = snapshot();

    send(STREAM, append(2, "more"));
    assertEquals(
        DeadLetterReason.STATE_MISMATCH.name(),
        header(deadLetters.readRecord(), DeadLetterReason.HEADER));
    assertEquals(before, snapshot());
  }

  /** A session without the model's context tokens (e.g. stored before they were) is rejected. */
  @Test
  void sessionWithoutContextTokensIsDeadLettered() {
    send(STREAM, append(1, text(40, 11)));
    output.readValue();
    assertEquals(3, sessions.get(STREAM).getContextTokens().size());
    sessions.put(
        STREAM, StoredSession.newBuilder(sessions.get(STREAM)).setContextTokens(List.of()).build());
    Map<String, String> before = snapshot();

    send(STREAM, append(2, "more"));
    TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
    assertEquals(DeadLetterReason.STATE_MISMATCH.name(), header(dead, DeadLetterReason.HEADER));
    assertEquals(before, snapshot());
    assertTrue(output.isEmpty());
  }

  /** Even a closed model does not stop the stream thread: each event is dead-lettered. */
  @Test
  void aClosedModelDeadLettersEventsAndWritesNothing() {
    InfiniModel closing = InfiniModel.create(ModelConfig.tiny(), 8);
    Properties props = StreamsProps.forModel(closing.config(), SETTINGS);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "infini-test-closed");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("closed").toString());
    try (TopologyTestDriver closedDriver =
        new TopologyTestDriver(InfiniTopology.build(SETTINGS, closing), props, T0)) {
      TestInputTopic<byte[], byte[]> in =
          closedDriver.createInputTopic(
              SETTINGS.inputTopic(), new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<byte[], byte[]> dlq =
          closedDriver.createOutputTopic(
              SETTINGS.deadLetterTopic(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
      closing.close();
      for (int i = 0; i < 2; i++) {
        in.pipeInput(
            STREAM.getBytes(StandardCharsets.UTF_8),
            InfiniTopology.INPUT_SERDE.serialize("t", append(1, text(40, 12))));
        TestRecord<byte[], byte[]> dead = dlq.readRecord();
        assertEquals(
            DeadLetterReason.PROCESSING_ERROR.name(), header(dead, DeadLetterReason.HEADER));
        assertFalse(header(dead, DeadLetterReason.EXCEPTION_HEADER).isEmpty());
      }
      KeyValueStore<String, StoredSession> closedSessions =
          closedDriver.getKeyValueStore(SETTINGS.sessionsStore());
      assertNull(closedSessions.get(STREAM), "no state written");
    }
  }

  // ---- poison pills ----

  static Stream<Arguments> faults() {
    return Stream.of(
        // the 2nd absorb call of a 20-token APPEND (chunks of 7): part of the text was absorbed
        Arguments.of(
            append(2, text(20, 13)),
            2,
            new IllegalStateException("injected fault"),
            DeadLetterReason.PROCESSING_ERROR),
        Arguments.of(
            generate(2, "q", 4, 0f, PromptFormat.CHAT),
            1,
            new UnsupportedOperationException("injected fault"),
            DeadLetterReason.PROCESSING_ERROR),
        Arguments.of(
            append(2, "x"),
            1,
            new IllegalArgumentException("injected fault"),
            DeadLetterReason.MODEL_ERROR));
  }

  /**
   * An exception while one event is applied dead-letters that event with a stack summary, writes
   * nothing of it, and the stream goes on: the same event sent again is applied.
   */
  @ParameterizedTest
  @MethodSource("faults")
  void anExceptionWhileApplyingAnEventDeadLettersOnlyThatEvent(
      InputEvent event, int failingCall, RuntimeException fault, DeadLetterReason reason) {
    byte[] key = STREAM.getBytes(StandardCharsets.UTF_8);
    send(STREAM, append(1, text(30, 14)));
    output.readValue();
    Map<String, String> before = snapshot();

    faults.failCall(failingCall, fault);
    byte[] value = InfiniTopology.INPUT_SERDE.serialize("t", event);
    input.pipeInput(key, value);
    TestRecord<byte[], byte[]> dead = assertDeadLettered(key, value, reason);
    String summary = header(dead, DeadLetterReason.EXCEPTION_HEADER);
    assertTrue(summary.startsWith(fault.getClass().getName() + ": injected fault at "), summary);
    assertEquals(before, snapshot(), "nothing of the failed event written");
    assertTrue(output.isEmpty());

    input.pipeInput(key, value); // the thread still runs, and the seq was not used up
    assertEquals(2, output.readValue().getSeq());
    assertTrue(deadLetters.isEmpty());
  }

  // ---- schema evolution ----

  /** An event written with the previous InputEvent schema (in the history) is applied. */
  @Test
  void eventFromAPreviousSchemaIsApplied() throws IOException {
    Schema v1 = SchemaHistory.parse("/io/infinistreams/schemas/history/InputEvent.v1.avsc");
    GenericRecord generation = new GenericData.Record(v1.getField("generation").schema());
    generation.put("maxNewTokens", 4);
    generation.put("temperature", 0f);
    generation.put("seed", 5L);
    GenericRecord old = new GenericData.Record(v1);
    old.put("seq", 1L);
    old.put("kind", new GenericData.EnumSymbol(v1.getField("kind").schema(), "APPEND"));
    old.put("text", "written by an older producer");
    old.put("generation", generation);
    ByteBuffer encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old);
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);

    input.pipeInput(STREAM.getBytes(StandardCharsets.UTF_8), bytes);
    OutputEvent out = output.readValue();
    assertEquals(1, out.getSeq());
    assertEquals(Instant.EPOCH, out.getEventTime(), "default of the field v1 lacks");
    assertTrue(deadLetters.isEmpty());
    StreamState reference =
        model
            .absorb(model.newState(), ByteTokenizer.encode("written by an older producer"), false)
            .state();
    assertSameState(reference, storedState(STREAM));
  }

  /**
   * A newer producer's schema is not in this reader's history, so its events (a new kind included)
   * are UNDECODABLE, named by the writer schema's wire fingerprint in hex. Only a reader given that
   * schema in its history reads the new kind as UNKNOWN (UNKNOWN_KIND): {@code
   * AvroSerdeTest.newerWritersUnknownKindReadsAsUnknown}.
   */
  @Test
  void anEventOfANewerSchemaIsUndecodableAndNamesItsFingerprint() {
    Schema next = SchemaHistory.parse("/io/infinistreams/schemas/InputEvent.next.avsc");
    GenericRecord event = new GenericData.Record(next);
    event.put("seq", 1L);
    event.put("kind", new GenericData.EnumSymbol(next.getField("kind").schema(), "SUMMARIZE"));
    event.put("text", "t");
    ByteBuffer encoded;
    try {
      encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), next).encode(event);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    byte[] key = STREAM.getBytes(StandardCharsets.UTF_8);
    input.pipeInput(key, bytes);
    TestRecord<byte[], byte[]> dead = assertDeadLettered(key, bytes, DeadLetterReason.UNDECODABLE);
    String hex = HexFormat.of().formatHex(bytes, 2, 10);
    assertTrue(header(dead, DeadLetterReason.DETAIL_HEADER).contains("fingerprint " + hex));
    assertNull(sessions.get(STREAM));
  }

  @Test
  void topologyDescribesOneProcessorWithItsTwoStores() {
    String description = InfiniTopology.build(SETTINGS, model).describe().toString();
    assertTrue(description.contains(InfiniTopology.PROCESSOR));
    assertTrue(description.contains(SETTINGS.sessionsStore()));
    assertTrue(description.contains(SETTINGS.memoryStore()));
  }
}
