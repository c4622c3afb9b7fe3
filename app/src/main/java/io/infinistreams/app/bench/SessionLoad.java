package io.infinistreams.app.bench;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.KafkaClients;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import io.infinistreams.topology.DeadLetterReason;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Many streams at once over one producer and one consumer: sends each stream's events numbered 1,
 * 2, 3, ..., and matches every output event (and every dead letter) to the event it answers by
 * (stream id, seq). The round trip of an event is timed in this process, from just before {@code
 * send} to the poll that returned its output ({@code read_committed}, so after the processor's
 * transaction committed).
 *
 * <p>The consumer is assigned every partition of the output and dead-letter topics, from their ends
 * when this object is created: it sees the answers to every event sent afterwards. Used from one
 * thread.
 */
final class SessionLoad implements AutoCloseable {

  /** One input event to send. */
  record Event(EventKind kind, String text, int maxNewTokens) {
    static Event append(String text) {
      return new Event(EventKind.APPEND, text, 0);
    }

    static Event generate(String prompt, int maxNewTokens) {
      return new Event(EventKind.GENERATE, prompt, maxNewTokens);
    }
  }

  /** A stream this load writes to. */
  static final class Session {
    final String key;
    final int index;
    private long lastSeq;
    private final Map<Long, Pending> pending = new HashMap<>();

    private Session(String key, int index) {
      this.key = key;
      this.index = index;
    }

    /** Events sent and not answered yet. */
    int outstanding() {
      return pending.size();
    }
  }

  /** An event in flight: what to time it into. */
  private record Pending(EventKind kind, long sentNanos, Recorder recorder) {}

  /** Called for each answered event: its session and kind. */
  interface Listener {
    void answered(Session session, EventKind kind);
  }

  /**
   * Round trips and processor times of the events sent with it, per kind, in microseconds; and the
   * span from the first send to the last answer.
   */
  static final class Recorder {
    private final Map<EventKind, Latencies> roundTrip = new EnumMap<>(EventKind.class);
    private final Map<EventKind, Latencies> inProcessor = new EnumMap<>(EventKind.class);
    private long sent;
    private long answered;
    private long textBytes;
    private long firstSendNanos = Long.MAX_VALUE;
    private long lastAnswerNanos = Long.MIN_VALUE;

    private void sent(long nanos, int bytes) {
      sent++;
      textBytes += bytes;
      firstSendNanos = Math.min(firstSendNanos, nanos);
    }

    private void answered(EventKind kind, long nanos, long roundTripMicros, long processorMicros) {
      answered++;
      lastAnswerNanos = Math.max(lastAnswerNanos, nanos);
      roundTrip.computeIfAbsent(kind, k -> new Latencies()).add(roundTripMicros);
      inProcessor.computeIfAbsent(kind, k -> new Latencies()).add(processorMicros);
    }

    long sent() {
      return sent;
    }

    long answered() {
      return answered;
    }

    long textBytes() {
      return textBytes;
    }

    /** Seconds from the first send to the last answer (0 if nothing was answered). */
    double seconds() {
      return answered == 0 ? 0 : (lastAnswerNanos - firstSendNanos) / 1e9;
    }

    /** Answered events per second over {@link #seconds()}. */
    double eventsPerSecond() {
      double s = seconds();
      return s <= 0 ? 0 : answered / s;
    }

    /** Round trips (send to output received) of the answered events of a kind (maybe empty). */
    Latencies roundTrip(EventKind kind) {
      return roundTrip.getOrDefault(kind, new Latencies());
    }

    /** The processor's own time ({@code latencyMicros}) for the answered events of a kind. */
    Latencies inProcessor(EventKind kind) {
      return inProcessor.getOrDefault(kind, new Latencies());
    }
  }

  private static final Duration POLL = Duration.ofMillis(50);

  private final AppConfig config;
  private final String inputTopic;
  private final String deadLetterTopic;
  private final int inputPartitions;
  private final KafkaProducer<String, InputEvent> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final AvroSerde<OutputEvent> outputSerde = AvroSerdes.outputEvent();
  private final AvroSerde<InputEvent> inputSerde = AvroSerdes.inputEvent();
  private final Map<String, Session> sessions = new LinkedHashMap<>();
  private final List<String> rejections = new ArrayList<>();
  private int outstanding;
  private long unmatched;
  private long sentTotal;
  private long answeredTotal;

  SessionLoad(AppConfig config, String bootstrapServers) {
    this.config = config;
    this.inputTopic = config.inputTopic();
    this.deadLetterTopic = config.deadLetterTopic();
    this.producer =
        new KafkaProducer<>(
            StreamClient.producerProperties(config, bootstrapServers, "bench-sessions"),
            new StringSerializer(),
            inputSerde.serializer());
    Properties c = KafkaClients.properties(config, bootstrapServers);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "infini-client-bench-sessions-out");
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);
    this.consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> watched = new ArrayList<>();
    for (String topic : List.of(config.outputTopic(), deadLetterTopic)) {
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
        watched.add(new TopicPartition(topic, p.partition()));
      }
    }
    consumer.assign(watched);
    consumer.seekToEnd(watched);
    watched.forEach(consumer::position); // resolve the ends now, before anything is sent
    this.inputPartitions = producer.partitionsFor(inputTopic).size();
  }

  /** A new stream {@code key} (its first event is seq 1); keys must not have been used before. */
  Session session(String key) {
    if (sessions.containsKey(key)) {
      throw new IllegalArgumentException("stream " + key + " already in this load");
    }
    Session s = new Session(key, sessions.size());
    sessions.put(key, s);
    return s;
  }

  /** The input partition of a stream id (murmur2 of its bytes, as the repartition step does). */
  int partitionOf(String key) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % inputPartitions;
  }

  int inputPartitions() {
    return inputPartitions;
  }

  /** Sends the session's next event, timed into {@code recorder}. */
  void send(Session session, Event event, Recorder recorder) {
    long seq = ++session.lastSeq;
    InputEvent.Builder b =
        InputEvent.newBuilder()
            .setSeq(seq)
            .setKind(event.kind())
            .setText(event.text())
            .setEventTime(Instant.now());
    if (event.kind() == EventKind.GENERATE) {
      b.setGeneration(StreamClient.generation(event.maxNewTokens(), 0f, 0L, PromptFormat.CHAT));
    }
    InputEvent in = b.build();
    long now = System.nanoTime();
    session.pending.put(seq, new Pending(event.kind(), now, recorder));
    outstanding++;
    sentTotal++;
    recorder.sent(now, event.text() == null ? 0 : event.text().length());
    producer.send(
        new ProducerRecord<>(inputTopic, session.key, in),
        (meta, error) -> {
          if (error != null) {
            synchronized (rejections) {
              rejections.add(session.key + " seq " + seq + ": send failed: " + error);
            }
          }
        });
  }

  /** Sends what the producer holds now instead of after its linger. */
  void flush() {
    producer.flush();
  }

  /** Events sent so far, over all sessions. */
  long sentTotal() {
    return sentTotal;
  }

  /** Events answered by an output event so far. */
  long answeredTotal() {
    return answeredTotal;
  }

  /** Events sent and not answered, over all sessions. */
  int outstanding() {
    return outstanding;
  }

  /** Outputs that answered no event in flight (a second output for one event, or a stranger's). */
  long unmatched() {
    return unmatched;
  }

  /** Events that went to the dead-letter topic or failed to send, one line each. */
  List<String> rejections() {
    synchronized (rejections) {
      return List.copyOf(rejections);
    }
  }

  /** Polls once (up to {@code max}), matching what arrived; {@code listener} hears each answer. */
  void poll(Duration max, Listener listener) {
    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(max)) {
      long now = System.nanoTime();
      Session s =
          r.key() == null ? null : sessions.get(new String(r.key(), StandardCharsets.UTF_8));
      if (s == null) {
        continue; // another load's stream
      }
      if (r.topic().equals(deadLetterTopic)) {
        long seq = deadLetterSeq(r.value());
        Pending p = s.pending.remove(seq);
        if (p != null) {
          outstanding--;
        }
        synchronized (rejections) {
          rejections.add(s.key + " seq " + seq + ": dead-lettered " + header(r));
        }
        continue;
      }
      OutputEvent out = outputSerde.deserialize(r.topic(), r.value());
      Pending p = out == null ? null : s.pending.remove(out.getSeq());
      if (p == null) {
        unmatched++;
        continue;
      }
      outstanding--;
      answeredTotal++;
      p.recorder().answered(p.kind(), now, (now - p.sentNanos()) / 1000, out.getLatencyMicros());
      listener.answered(s, p.kind());
    }
  }

  /** Polls until every event sent is answered. */
  void awaitAll(Duration timeout) throws TimeoutException {
    awaitUntil(() -> outstanding == 0, timeout, (s, k) -> {});
  }

  /** Polls until {@code done} holds, handing every answer to {@code listener}. */
  void awaitUntil(
      java.util.function.BooleanSupplier done, Duration timeout, BiConsumer<Session, EventKind> l)
      throws TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    flush();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new TimeoutException(
            outstanding
                + " events still unanswered after "
                + timeout.toSeconds()
                + " s"
                + (rejections().isEmpty() ? "" : "; rejected: " + rejections().get(0)));
      }
      poll(POLL, l::accept);
    }
  }

  private long deadLetterSeq(byte[] value) {
    try {
      return value == null ? -1 : inputSerde.deserialize(deadLetterTopic, value).getSeq();
    } catch (RuntimeException undecodable) {
      return -1;
    }
  }

  private static String header(ConsumerRecord<?, ?> r) {
    Header h = r.headers().lastHeader(DeadLetterReason.HEADER);
    return h == null || h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  AppConfig config() {
    return config;
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
    consumer.close(Duration.ofSeconds(5));
  }
}
