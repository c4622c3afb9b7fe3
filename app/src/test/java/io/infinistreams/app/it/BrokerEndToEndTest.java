package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.infinistreams.app.runtime.EmbeddedBroker;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.TopologySettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topology against a real in-process KRaft broker, exactly-once v2 and RocksDB: a 200K-token
 * document streamed as ~1,000 randomly sized APPEND events leaves every head memory bit-identical
 * to the model absorbing the text in one call; then the application loses its local state and
 * restores it from the changelogs, bit-identical, and the stream continues.
 *
 * <p>The second test continues the first one's stream (ordered, one broker for the class).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrokerEndToEndTest {
  private static final String KEY = "document-1";
  private static final int DOCUMENT_TOKENS = 200_000;
  private static final long SEED = 11;

  @TempDir static Path dir;

  private EmbeddedBroker broker;
  private InfiniModel model;
  private Pipeline pipeline;
  private Path stateDir;
  private KafkaStreams streams;
  private String document;
  private int events;

  @BeforeAll
  void start() throws Exception {
    broker = EmbeddedBroker.start(dir.resolve("broker"));
    model = InfiniModel.create(ModelConfig.tiny(), SEED);
    pipeline =
        new Pipeline(broker.bootstrapServers(), TopologySettings.defaults(), model, "infini-e2e");
    pipeline.createTopics(2);
    stateDir = dir.resolve("state");
  }

  @AfterAll
  void stop() {
    if (streams != null) {
      Pipeline.stop(streams);
    }
    if (model != null) {
      model.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  @Order(1)
  void documentStreamedInRandomPiecesEqualsOneCall() throws Exception {
    Random random = new Random(SEED);
    StringBuilder text = new StringBuilder(DOCUMENT_TOKENS);
    while (text.length() < DOCUMENT_TOKENS) {
      text.append((char) ('a' + random.nextInt(26)));
      if (random.nextInt(7) == 0) {
        text.append(random.nextInt(3) == 0 ? '\n' : ' ');
      }
    }
    text.setLength(DOCUMENT_TOKENS); // ASCII: one token per character
    document = text.toString();
    List<InputEvent> pieces = new ArrayList<>();
    for (int from = 0; from < DOCUMENT_TOKENS; ) {
      int to = Math.min(DOCUMENT_TOKENS, from + 1 + random.nextInt(399));
      pieces.add(Pipeline.append(pieces.size() + 1, document.substring(from, to)));
      from = to;
    }
    events = pieces.size();
    assertTrue(events > 900 && events < 1100, events + " events");

    long t0 = System.nanoTime();
    streams = pipeline.start(stateDir, new AtomicLong(), new CountDownLatch(1));
    pipeline.produce(KEY, pieces);
    List<OutputEvent> out = pipeline.awaitOutput(KEY, events, Duration.ofMinutes(10), "check-1");
    double streamedSeconds = (System.nanoTime() - t0) / 1e9;

    assertEquals(events, out.size(), "one output per event, none duplicated");
    for (int i = 0; i < out.size(); i++) {
      assertEquals(i + 1, out.get(i).getSeq());
    }
    OutputEvent last = out.get(out.size() - 1);
    assertEquals(DOCUMENT_TOKENS + 1, last.getTokensTotal());
    assertEquals((DOCUMENT_TOKENS + 1) / model.config().segmentLength(), last.getSegmentsTotal());

    long t1 = System.nanoTime();
    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode(document), false).state();
    double referenceSeconds = (System.nanoTime() - t1) / 1e9;
    pipeline.assertMemoryEquals(streams, KEY, reference.memories());
    assertSession(reference, pipeline.session(streams, KEY), events);
    pipeline.assertChangelogLimits();
    System.err.printf(
        "BrokerEndToEndTest: %d events, %d tokens through Kafka in %.1f s "
            + "(%.0f tokens/s, surprise on); one model call %.1f s (%.0f tokens/s)%n",
        events,
        DOCUMENT_TOKENS,
        streamedSeconds,
        DOCUMENT_TOKENS / streamedSeconds,
        referenceSeconds,
        DOCUMENT_TOKENS / referenceSeconds);
  }

  @Test
  @Order(2)
  void memoryRestoredFromChangelogsAfterLosingLocalStateAndTheStreamContinues() throws Exception {
    assumeTrue(streams != null && document != null, "needs the streamed document of test 1");
    Pipeline.stop(streams);
    streams = null;
    Pipeline.deleteRecursively(stateDir);
    assertTrue(Files.notExists(stateDir));

    AtomicLong restored = new AtomicLong();
    CountDownLatch memoryRestored = new CountDownLatch(1);
    streams = pipeline.start(stateDir, restored, memoryRestored);
    assertTrue(Pipeline.await(memoryRestored, Duration.ofMinutes(3)), "memory store restored");
    assertTrue(restored.get() > 0, "records came from the changelog");

    StreamState reference =
        model.absorb(model.newState(), ByteTokenizer.encode(document), false).state();
    pipeline.assertMemoryEquals(streams, KEY, reference.memories());
    assertSession(reference, pipeline.session(streams, KEY), events);

    String more = " and the stream goes on after the restore, " + "xyz".repeat(20);
    pipeline.produce(KEY, List.of(Pipeline.append(events + 1, more)));
    List<OutputEvent> out = pipeline.awaitOutput(KEY, events + 1, Duration.ofMinutes(3), "check-2");
    OutputEvent last = out.get(out.size() - 1);
    assertEquals(DOCUMENT_TOKENS + 1 + more.length(), last.getTokensTotal());

    StreamState continued =
        model.absorb(model.newState(), ByteTokenizer.encode(document + more), false).state();
    pipeline.assertMemoryEquals(streams, KEY, continued.memories());
    assertSession(continued, pipeline.session(streams, KEY), events + 1);
  }

  /**
   * A model whose head memory (K = V = 512: 1 MiB of floats) is larger than Kafka's default message
   * size: the derived changelog {@code max.message.bytes} and producer {@code max.request.size} let
   * it through, and it restores bit-identically.
   */
  @Test
  @Order(3)
  void headRecordsLargerThanKafkasDefaultMessageSizeAreStoredAndRestored() throws Exception {
    ModelConfig big =
        new ModelConfig(
            264,
            32,
            1,
            1,
            512,
            512,
            64,
            16,
            ModelConfig.tiny().updateRule(),
            ModelConfig.tiny().memoryRead(),
            10000f,
            0);
    try (InfiniModel bigModel = InfiniModel.create(big, SEED)) {
      TopologySettings settings =
          TopologySettings.defaults().withTopics("big-input", "big-output", "big-dlq");
      Pipeline bigPipeline =
          new Pipeline(broker.bootstrapServers(), settings, bigModel, "infini-big");
      bigPipeline.createTopics(1);
      Path bigState = dir.resolve("big-state");
      String text = "forty bytes of text fill two segments.."; // 39 bytes + BOS = 40 tokens
      KafkaStreams bigStreams =
          bigPipeline.start(bigState, new AtomicLong(), new CountDownLatch(1));
      try {
        bigPipeline.produce(KEY, List.of(Pipeline.append(1, text)));
        bigPipeline.awaitOutput(KEY, 1, Duration.ofMinutes(3), "check-big");
        StreamState reference =
            bigModel.absorb(bigModel.newState(), ByteTokenizer.encode(text), false).state();
        assertEquals(2, reference.segmentsAbsorbed());
        bigPipeline.assertMemoryEquals(bigStreams, KEY, reference.memories());
        bigPipeline.assertChangelogLimits();
      } finally {
        Pipeline.stop(bigStreams);
      }
      Pipeline.deleteRecursively(bigState);
      AtomicLong restored = new AtomicLong();
      CountDownLatch memoryRestored = new CountDownLatch(1);
      bigStreams = bigPipeline.start(bigState, restored, memoryRestored);
      try {
        assertTrue(Pipeline.await(memoryRestored, Duration.ofMinutes(3)), "memory restored");
        StreamState reference =
            bigModel.absorb(bigModel.newState(), ByteTokenizer.encode(text), false).state();
        bigPipeline.assertMemoryEquals(bigStreams, KEY, reference.memories());
      } finally {
        Pipeline.stop(bigStreams);
      }
    }
  }

  private static void assertSession(StreamState expected, StoredSession session, long lastSeq) {
    assertEquals(lastSeq, session.getLastSeq());
    assertEquals(expected.tokensAbsorbed(), session.getTokensAbsorbed());
    assertEquals(expected.segmentsAbsorbed(), session.getSegmentsAbsorbed());
    assertArrayEquals(
        expected.openTokens(),
        session.getOpenTokens().stream().mapToInt(Integer::intValue).toArray());
  }
}
