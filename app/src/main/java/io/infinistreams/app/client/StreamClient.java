package io.infinistreams.app.client;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.KafkaClients;
import io.infinistreams.app.runtime.Topics;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.InfiniTopology;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * What the client commands ({@code feed}, {@code ask}, {@code chat}, {@code demo}) do over Kafka:
 * produce input events for a stream, and wait for the output event that answers one.
 *
 * <p>Every client here takes the {@code kafka.*} settings ({@link KafkaClients}). The producer is
 * idempotent ({@code acks=all}), so a retried send never duplicates or reorders a stream's events.
 * The consumer is assigned (no consumer group) to the stream key's partitions of the output and
 * dead-letter topics, reads committed records only, and starts at their ends when the client is
 * created, so {@link #awaitOutput} sees every output, and every rejection, of the events sent after
 * that.
 *
 * <p>Sequence numbers must increase per stream: the processor skips an event whose seq is not above
 * the last one it applied. {@link #lastSeq(SessionLookup, Consumer)} finds the last one used (the
 * last one the application applied, from its operations server, and those of events still waiting
 * in the input topic), so a command can continue a stream without being told where it is, also
 * after retention deleted the stream's old records. One writer per stream at a time is assumed.
 *
 * <p>Lifecycle: create, use from one thread, close.
 */
public final class StreamClient implements AutoCloseable {

  private static final Duration POLL = Duration.ofMillis(100);

  private final String inputTopic;
  private final String repartitionTopic; // null without input.repartition
  private final String outputTopic;
  private final String key;
  private final String bootstrapServers;
  private final String applicationId;
  private final AppConfig config;
  private final KafkaProducer<String, InputEvent> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final TopicPartition outputPartition;
  private final String deadLetterTopic;
  private final TopicPartition deadLetterPartition;
  private final AvroSerde<OutputEvent> outputSerde = AvroSerdes.outputEvent();
  private final LongSupplier clockMillis;

  private StreamClient(
      AppConfig config, String bootstrapServers, String key, LongSupplier clockMillis) {
    this.inputTopic = config.inputTopic();
    this.repartitionTopic =
        config.inputRepartition() ? InfiniTopology.repartitionTopic(config.applicationId()) : null;
    this.outputTopic = config.outputTopic();
    this.key = key;
    this.bootstrapServers = bootstrapServers;
    this.applicationId = config.applicationId();
    this.config = config;
    this.clockMillis = clockMillis;
    this.producer =
        new KafkaProducer<>(
            producerProperties(config, bootstrapServers, key),
            new StringSerializer(),
            AvroSerdes.inputEvent().serializer());
    Properties c = KafkaClients.properties(config, bootstrapServers);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "infini-client-" + key + "-out");
    this.consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.outputPartition = new TopicPartition(outputTopic, partitionOf(consumer, key, outputTopic));
    this.deadLetterTopic = config.deadLetterTopic();
    this.deadLetterPartition =
        new TopicPartition(deadLetterTopic, partitionOf(consumer, key, deadLetterTopic));
    List<TopicPartition> watched = List.of(outputPartition, deadLetterPartition);
    consumer.assign(watched);
    consumer.seekToEnd(watched);
    watched.forEach(consumer::position); // resolve the ends now, before anything is sent
  }

  /**
   * The producer's properties: the {@code kafka.*} client settings ({@link KafkaClients}), then the
   * client's own, which win: idempotence, {@code acks=all}, and a {@code max.request.size} of the
   * input topic's {@code max.message.bytes} ({@link Topics#inputMaxMessageBytes}), so the largest
   * valid event can be sent.
   */
  public static Properties producerProperties(
      AppConfig config, String bootstrapServers, String key) {
    Properties p = KafkaClients.properties(config, bootstrapServers);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.inputMaxMessageBytes(config));
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "infini-client-" + key);
    return p;
  }

  /** A client for stream {@code key}; the topics must exist. */
  public static StreamClient connect(AppConfig config, String bootstrapServers, String key) {
    return new StreamClient(config, bootstrapServers, key, System::currentTimeMillis);
  }

  public String key() {
    return key;
  }

  /** Sends an APPEND of {@code text}; {@code callback} runs when the broker has it (or failed). */
  public void append(long seq, String text, Callback callback) {
    producer.send(
        new ProducerRecord<>(
            inputTopic,
            key,
            InputEvent.newBuilder()
                .setSeq(seq)
                .setKind(EventKind.APPEND)
                .setText(text)
                .setEventTime(Instant.ofEpochMilli(clockMillis.getAsLong()))
                .build()),
        callback);
  }

  /** Sends a GENERATE of {@code prompt}. */
  public Future<RecordMetadata> generate(long seq, String prompt, Generation generation) {
    return send(
        InputEvent.newBuilder()
            .setSeq(seq)
            .setKind(EventKind.GENERATE)
            .setText(prompt)
            .setGeneration(generation)
            .setEventTime(Instant.ofEpochMilli(clockMillis.getAsLong()))
            .build());
  }

  /** Sends a RESET: the processor deletes the stream's memory. */
  public Future<RecordMetadata> reset(long seq) {
    return reset(seq, null);
  }

  /**
   * Sends a RESET pinned to model {@code pin} (a fingerprint prefix of at least 12 hex digits), or
   * unpinned if null: a pinned RESET also moves a stream another model wrote to the serving model.
   */
  public Future<RecordMetadata> reset(long seq, String pin) {
    return sendKind(EventKind.RESET, seq, pin);
  }

  /**
   * Sends a DELETE: the processor removes the stream (session and memory); the key's next event
   * starts a new stream at seq 1. {@code pin}, if not null, must name the serving model.
   */
  public Future<RecordMetadata> delete(long seq, String pin) {
    return sendKind(EventKind.DELETE, seq, pin);
  }

  private Future<RecordMetadata> sendKind(EventKind kind, long seq, String pin) {
    return send(
        InputEvent.newBuilder()
            .setSeq(seq)
            .setKind(kind)
            .setModelFingerprint(pin)
            .setEventTime(Instant.ofEpochMilli(clockMillis.getAsLong()))
            .build());
  }

  /**
   * Sends an IMPORT: the processor replaces the stream's state by {@code snapshot} (a
   * SessionSnapshot's encoding). {@code pin}, if not null, pins the event to that model (needed to
   * import over a stream another model wrote).
   */
  public Future<RecordMetadata> importSnapshot(long seq, byte[] snapshot, String pin) {
    return send(
        InputEvent.newBuilder()
            .setSeq(seq)
            .setKind(EventKind.IMPORT)
            .setSnapshot(ByteBuffer.wrap(snapshot))
            .setModelFingerprint(pin)
            .setEventTime(Instant.ofEpochMilli(clockMillis.getAsLong()))
            .build());
  }

  /** Generation settings for a GENERATE event. */
  public static Generation generation(
      int maxNewTokens, float temperature, long seed, PromptFormat format) {
    return Generation.newBuilder()
        .setMaxNewTokens(maxNewTokens)
        .setTemperature(temperature)
        .setSeed(seed)
        .setFormat(format)
        .build();
  }

  private Future<RecordMetadata> send(InputEvent event) {
    return producer.send(new ProducerRecord<>(inputTopic, key, event));
  }

  /** Blocks until every event sent so far is acknowledged by the broker. */
  public void flush() {
    producer.flush();
  }

  /** An event of this stream went to the dead-letter topic instead of being applied. */
  public static final class RejectedException extends Exception {
    private static final long serialVersionUID = 1L;
    private final long seq;
    private final String reason;
    private final long lastApplied;

    RejectedException(long seq, String reason, String detail, long lastApplied) {
      super(
          "event seq "
              + seq
              + " was rejected (dead-lettered): "
              + reason
              + (detail.isEmpty() ? "" : ": " + detail));
      this.seq = seq;
      this.reason = reason;
      this.lastApplied = lastApplied;
    }

    public long seq() {
      return seq;
    }

    /** The dead-letter reason, e.g. SEQ_GAP. */
    public String reason() {
      return reason;
    }

    /**
     * The seq the stream expects next, when the rejection was about the sequence number (a gap or a
     * duplicate: the processor names its last applied seq); else -1.
     */
    public long expectedSeq() {
      boolean aboutSeq =
          DeadLetterReason.SEQ_GAP.name().equals(reason)
              || DeadLetterReason.DUPLICATE_SEQ.name().equals(reason);
      return aboutSeq && lastApplied >= 0 ? lastApplied + 1 : -1;
    }
  }

  /**
   * Waits for the output event of this stream with sequence number {@code seq} (produced after this
   * client was created).
   *
   * @throws TimeoutException if none arrives within {@code timeout}
   * @throws RejectedException if an event of this stream sent since this client was created, up to
   *     {@code seq}, went to the dead-letter topic
   */
  public OutputEvent awaitOutput(long seq, Duration timeout)
      throws TimeoutException, RejectedException {
    return awaitOutput(seq, timeout, out -> {});
  }

  /**
   * As {@link #awaitOutput(long, Duration)}, handing every output event of this stream read on the
   * way (the awaited one included) to {@code onEach}, e.g. to show progress.
   */
  public OutputEvent awaitOutput(long seq, Duration timeout, Consumer<OutputEvent> onEach)
      throws TimeoutException, RejectedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    AvroSerde<InputEvent> inputSerde = AvroSerdes.inputEvent();
    while (System.nanoTime() - deadline < 0) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
        if (r.key() == null || !key.equals(new String(r.key(), StandardCharsets.UTF_8))) {
          continue;
        }
        if (r.topic().equals(deadLetterTopic)) {
          long rejected = seqOrMinus1(inputSerde, r.value());
          if (rejected >= 0 && rejected <= seq) {
            throw new RejectedException(
                rejected,
                header(r, DeadLetterReason.HEADER),
                header(r, DeadLetterReason.DETAIL_HEADER),
                longOrMinus1(header(r, DeadLetterReason.LAST_SEQ_HEADER)));
          }
          continue;
        }
        OutputEvent out = outputSerde.deserialize(r.topic(), r.value());
        if (out != null) {
          onEach.accept(out);
          if (out.getSeq() == seq) {
            return out;
          }
        }
      }
    }
    throw new TimeoutException(
        "no output for stream '"
            + key
            + "' seq "
            + seq
            + " on topic "
            + outputTopic
            + " within "
            + timeout.toSeconds()
            + " s");
  }

  private long seqOrMinus1(AvroSerde<InputEvent> serde, byte[] value) {
    try {
      return value == null ? -1 : serde.deserialize(deadLetterTopic, value).getSeq();
    } catch (RuntimeException undecodable) {
      return -1; // not an event of this client's (it writes only decodable ones)
    }
  }

  private static long longOrMinus1(String text) {
    try {
      return text.isEmpty() ? -1 : Long.parseLong(text.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String header(ConsumerRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  /**
   * The highest sequence number this stream has used so far (0 if none), as the application knows
   * it: the larger of the last seq it applied, asked of its operations server ({@code GET
   * /sessions/{key}}), and the seqs of this stream's input events it has not consumed yet (the
   * input partition after the application's committed offset, which are the events a command sent
   * just before, e.g. {@code feed} then {@code ask}) and, with {@code input.repartition}, those in
   * the repartition topic after the application's committed offset (read from the input, not yet
   * applied). None needs the stream's old records, so this works after retention deleted them.
   *
   * <p>The three are combined in the order their events happened (applied, then in the repartition
   * topic, then in the input), numbered as the processor numbers them: an event counts if it is the
   * next seq (a refused duplicate or gap does not), and a DELETE that counts sets the answer back
   * to 0, so the next event is seq 1.
   *
   * <p>The committed offset is read before the server is asked: an event consumed in between is
   * either in the server's answer or after that offset.
   *
   * <p>If the server cannot answer, {@code warn} is told so (one line) and the topics are scanned
   * instead ({@link #lastSeq()}), which cannot see seqs whose records retention deleted.
   */
  public long lastSeq(SessionLookup ops, Consumer<String> warn) throws InterruptedException {
    try (KafkaConsumer<byte[], byte[]> scanner = scanner()) {
      TopicPartition inputPartition =
          new TopicPartition(inputTopic, partitionOf(scanner, key, inputTopic));
      TopicPartition repartitionPartition = null;
      if (repartitionTopic != null) {
        List<PartitionInfo> partitions =
            scanner.partitionsFor(repartitionTopic, Duration.ofSeconds(30));
        if (partitions != null && !partitions.isEmpty()) {
          byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
          repartitionPartition =
              new TopicPartition(
                  repartitionTopic, Utils.toPositive(Utils.murmur2(bytes)) % partitions.size());
        }
      }
      Map<TopicPartition, OffsetAndMetadata> offsets = committedOffsets();
      long committed = offset(offsets, inputPartition);
      // Events the application read from the input but has not applied yet wait in the
      // repartition topic. Kafka Streams deletes its records once they are applied, so it is read
      // before the server is asked: an event deleted in between was applied and is in the answer.
      List<Numbered> inTransit = List.of();
      if (repartitionPartition != null) {
        TopicPartition tp = repartitionPartition;
        scanner.assign(List.of(tp));
        long begin = scanner.beginningOffsets(List.of(tp)).get(tp);
        long end = scanner.endOffsets(List.of(tp)).get(tp);
        inTransit = scan(scanner, tp, Math.max(begin, offset(offsets, tp)), end, inputNumbering());
      }
      long applied;
      try {
        applied = ops.lastAppliedSeq(key);
      } catch (SessionLookup.UnavailableException e) {
        warn.accept(
            "the operations server cannot say where stream '"
                + key
                + "' is ("
                + e.getMessage()
                + "); numbering from the input and output topics, which lack what retention"
                + " deleted");
        return lastSeq();
      }
      scanner.assign(List.of(inputPartition));
      long begin = scanner.beginningOffsets(List.of(inputPartition)).get(inputPartition);
      long end = scanner.endOffsets(List.of(inputPartition)).get(inputPartition);
      long from = Math.max(begin, committed);
      List<Numbered> pending = scan(scanner, inputPartition, from, end, inputNumbering());
      // An event consumed while these were read can be both in the answer and in a scan: it is not
      // the next seq then, so it does not count twice (Numbered.fold). Not exact when a refused
      // event lies among those read twice (it may then count against the answer): that needs an
      // event refused and another applied within the same moment, and costs one refused event.
      return Numbered.fold(Numbered.fold(applied, inTransit), pending);
    }
  }

  private static long offset(Map<TopicPartition, OffsetAndMetadata> offsets, TopicPartition tp) {
    OffsetAndMetadata committed = offsets == null ? null : offsets.get(tp);
    return committed == null ? 0 : committed.offset();
  }

  /** The application's committed offsets (its consumer group is the application id). */
  private Map<TopicPartition, OffsetAndMetadata> committedOffsets() throws InterruptedException {
    try (Admin admin =
        KafkaClients.admin(config, bootstrapServers, "infini-client-" + key + "-offsets")) {
      return admin
          .listConsumerGroupOffsets(applicationId)
          .partitionsToOffsetAndMetadata()
          .get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot read the committed offsets of application '" + applicationId + "': " + e, e);
    }
  }

  private KafkaConsumer<byte[], byte[]> scanner() {
    Properties c = KafkaClients.properties(config, bootstrapServers);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, "infini-client-" + key + "-seq");
    // asking for the repartition topic before Kafka Streams created it must not create it
    c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
    return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * The last sequence number of this stream (0 if none, or if its last event was a DELETE), read
   * from the topics only, numbering its records as the processor does (a refused duplicate or gap
   * does not count). The input topic says what was sent, including events not processed yet, so a
   * command that continues a stream right after another one (feed, then ask) never reuses a
   * sequence number; when retention has deleted all of the stream's input records, the last output
   * event the processor committed for it answers instead. Once retention deleted a stream's output
   * records too, this answers too low (the processor then refuses the event as a duplicate). Each
   * partition is scanned backwards from its end, in growing windows, until two of the key's records
   * are found (a key never seen scans the whole partition). Events refused for their content rather
   * than their seq (too long a text, bad settings) cannot be told from applied ones here.
   */
  public long lastSeq() {
    try (KafkaConsumer<byte[], byte[]> scanner = scanner()) {
      TopicPartition inputPartition =
          new TopicPartition(inputTopic, partitionOf(scanner, key, inputTopic));
      OptionalLong lastIn = scanBackwards(scanner, inputPartition, inputNumbering());
      if (lastIn.isPresent()) {
        return lastIn.getAsLong();
      }
      return scanBackwards(
              scanner,
              outputPartition,
              value -> {
                OutputEvent out = outputSerde.deserialize(outputTopic, value);
                return new Numbered(out.getSeq(), out.getKind() == EventKind.DELETE);
              })
          .orElse(0);
    }
  }

  private Function<byte[], Numbered> inputNumbering() {
    AvroSerde<InputEvent> inputSerde = AvroSerdes.inputEvent();
    return value -> {
      InputEvent in = inputSerde.deserialize(inputTopic, value);
      return new Numbered(in.getSeq(), in.getKind() == EventKind.DELETE);
    };
  }

  /**
   * The stream's last seq by its latest records in {@code tp}; empty if it has none there. Read
   * backwards in growing windows until two of its records are found (or the partition's start),
   * then numbered forwards as the processor numbers ({@link Numbered#fold}): from 0 when every
   * record of the partition was seen, else from the earliest record found.
   */
  private OptionalLong scanBackwards(
      KafkaConsumer<byte[], byte[]> scanner, TopicPartition tp, Function<byte[], Numbered> decode) {
    scanner.assign(List.of(tp));
    long begin = scanner.beginningOffsets(List.of(tp)).get(tp);
    long to = scanner.endOffsets(List.of(tp)).get(tp);
    long window = 1000;
    List<Numbered> found = new ArrayList<>();
    while (to > begin && found.size() < 2) {
      long from = Math.max(begin, to - window);
      List<Numbered> older = scan(scanner, tp, from, to, decode);
      older.addAll(found);
      found = older;
      to = from;
      window *= 2;
    }
    if (found.isEmpty()) {
      return OptionalLong.empty();
    }
    if (to == 0) { // the whole partition: the stream started at 0
      return OptionalLong.of(Numbered.fold(0, found));
    }
    Numbered first = found.get(0);
    return OptionalLong.of(
        Numbered.fold(first.delete() ? 0 : first.seq(), found.subList(1, found.size())));
  }

  /** One of the stream's records as numbering sees it: its seq, and whether it is a DELETE. */
  record Numbered(long seq, boolean delete) {

    /**
     * The last seq after {@code records}, in order, starting from {@code last}, as the processor
     * numbers: a record counts only if it is the next seq (others are refused as duplicates or
     * gaps, and change nothing), and a DELETE that counts starts the numbering again at 0. A record
     * that was already counted (an event both applied and still read from a topic) is not the next
     * seq, so it does not count twice.
     */
    static long fold(long last, List<Numbered> records) {
      for (Numbered r : records) {
        if (r.seq == last + 1) {
          last = r.delete ? 0 : r.seq;
        }
      }
      return last;
    }
  }

  /** This key's decodable records in {@code [from, to)}, in offset order. */
  private List<Numbered> scan(
      KafkaConsumer<byte[], byte[]> scanner,
      TopicPartition tp,
      long from,
      long to,
      Function<byte[], Numbered> decode) {
    scanner.seek(tp, from);
    List<Numbered> found = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (scanner.position(tp) < to) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("reading " + tp + " timed out");
      }
      for (ConsumerRecord<byte[], byte[]> r : scanner.poll(POLL)) {
        if (r.offset() < to
            && r.key() != null
            && r.value() != null
            && key.equals(new String(r.key(), StandardCharsets.UTF_8))) {
          try {
            found.add(decode.apply(r.value()));
          } catch (RuntimeException undecodable) {
            // a bad event (dead-lettered by the processor) has no usable seq
          }
        }
      }
    }
    return found;
  }

  /** The partition of {@code key} in {@code topic} under the default partitioner (murmur2). */
  private static int partitionOf(KafkaConsumer<?, ?> consumer, String key, String topic) {
    List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (partitions == null || partitions.isEmpty()) {
      throw new CliException(
          "topic "
              + topic
              + " does not exist: `infini run` creates the application's topics (check the "
              + "topic.* keys)");
    }
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    return Utils.toPositive(Utils.murmur2(bytes)) % partitions.size();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
    consumer.close(Duration.ofSeconds(5));
  }
}
