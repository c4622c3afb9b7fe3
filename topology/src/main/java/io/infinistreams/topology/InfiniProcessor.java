package io.infinistreams.topology;

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
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies input events to their stream's state: one stream per key, its state in two stores.
 *
 * <p>Per record: decode and validate (a bad record goes to the dead-letter sink with a {@link
 * DeadLetterReason}); skip a duplicate ({@code seq <= lastSeq}: nothing is emitted); read the
 * session and the head memories; check they were written by this model; absorb (APPEND) or generate
 * (GENERATE) through the model, or delete the stream (RESET); write back what changed; emit one
 * {@link OutputEvent}. State is written only after every check and the model call have succeeded,
 * so a rejected event leaves the stores byte-for-byte as they were.
 *
 * <p>Lifecycle: Kafka Streams creates one instance per task through {@link Supplier}, calls {@link
 * #init} once with the task's context (stores are fetched there), then {@link #process} for each
 * record, then {@link #close}. The instance keeps no state of its own between records; the model is
 * shared across tasks and threads.
 */
final class InfiniProcessor implements Processor<byte[], byte[], Object, Object> {
  private static final Logger log = LoggerFactory.getLogger(InfiniProcessor.class);
  private static final double LN2 = Math.log(2);
  private static final int MAX_DETAIL_CHARS = 1000;

  /** Creates processors and declares their two stores next to them. */
  static final class Supplier implements ProcessorSupplier<byte[], byte[], Object, Object> {
    private final TopologySettings settings;
    private final InfiniModel model;

    Supplier(TopologySettings settings, InfiniModel model) {
      this.settings = settings;
      this.model = model;
    }

    @Override
    public Processor<byte[], byte[], Object, Object> get() {
      return new InfiniProcessor(settings, model);
    }

    @Override
    public Set<StoreBuilder<?>> stores() {
      Map<String, String> changelog =
          Map.of(
              "max.message.bytes",
              Integer.toString(StreamsProps.maxMessageBytes(model.config(), settings)));
      StoreBuilder<KeyValueStore<String, StoredSession>> sessions =
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(settings.sessionsStore()),
                  InfiniTopology.KEY_SERDE,
                  InfiniTopology.SESSION_SERDE)
              .withLoggingEnabled(changelog)
              .withCachingEnabled();
      StoreBuilder<KeyValueStore<MemoryKey, StoredHeadMemory>> memory =
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(settings.memoryStore()),
                  MemoryKey.SERDE,
                  InfiniTopology.HEAD_MEMORY_SERDE)
              .withLoggingEnabled(changelog)
              .withCachingEnabled();
      return Set.of(sessions, memory);
    }
  }

  /** A record that must go to the dead-letter topic. */
  private static final class Rejected extends Exception {
    final DeadLetterReason reason;

    Rejected(DeadLetterReason reason, String detail) {
      super(detail, null, false, false);
      this.reason = reason;
    }
  }

  private final TopologySettings settings;
  private final InfiniModel model;
  private final ModelConfig config;
  private final String fingerprint;
  private ProcessorContext<Object, Object> context;
  private KeyValueStore<String, StoredSession> sessions;
  private KeyValueStore<MemoryKey, StoredHeadMemory> memory;

  private InfiniProcessor(TopologySettings settings, InfiniModel model) {
    this.settings = settings;
    this.model = model;
    this.config = model.config();
    this.fingerprint = model.fingerprint();
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.sessions = context.getStateStore(settings.sessionsStore());
    this.memory = context.getStateStore(settings.memoryStore());
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long start = System.nanoTime();
    try {
      String streamId = streamId(record.key());
      InputEvent event = decode(record.value());
      validate(event);
      StoredSession session = sessions.get(streamId);
      if (session != null && event.getSeq() <= session.getLastSeq()) {
        log.debug(
            "stream {}: seq {} <= last {}, duplicate skipped",
            streamId,
            event.getSeq(),
            session.getLastSeq());
        return;
      }
      OutputEvent.Builder out =
          switch (event.getKind()) {
            case RESET -> reset(streamId, event);
            case APPEND, GENERATE -> step(streamId, event, session);
            default -> throw new Rejected(DeadLetterReason.UNKNOWN_KIND, "kind " + event.getKind());
          };
      OutputEvent output =
          out.setStreamId(streamId)
              .setSeq(event.getSeq())
              .setKind(event.getKind())
              .setModelFingerprint(fingerprint)
              .setEventTime(event.getEventTime())
              .setLatencyMicros((System.nanoTime() - start) / 1000)
              .build();
      context.forward(
          new Record<Object, Object>(streamId, output, record.timestamp()),
          InfiniTopology.OUTPUT_SINK);
    } catch (Rejected rejected) {
      deadLetter(record, rejected.reason, rejected.getMessage());
    }
  }

  private String streamId(byte[] key) throws Rejected {
    if (key == null) {
      throw new Rejected(DeadLetterReason.NULL_KEY, "record has no key");
    }
    if (key.length > settings.maxStreamIdBytes()) {
      throw new Rejected(
          DeadLetterReason.INVALID_KEY,
          "key of " + key.length + " bytes, limit " + settings.maxStreamIdBytes());
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(key))
          .toString();
    } catch (CharacterCodingException e) {
      throw new Rejected(DeadLetterReason.INVALID_KEY, "key is not valid UTF-8");
    }
  }

  private static InputEvent decode(byte[] value) throws Rejected {
    if (value == null) {
      throw new Rejected(DeadLetterReason.UNDECODABLE, "record has no value");
    }
    try {
      return InfiniTopology.INPUT_SERDE.deserialize(null, value);
    } catch (SerializationException e) {
      throw new Rejected(DeadLetterReason.UNDECODABLE, e.getMessage());
    }
  }

  private void validate(InputEvent event) throws Rejected {
    if (event.getKind() == null || event.getKind() == EventKind.UNKNOWN) {
      throw new Rejected(DeadLetterReason.UNKNOWN_KIND, "kind " + event.getKind());
    }
    if (event.getSeq() < 0) {
      throw new Rejected(DeadLetterReason.INVALID_SEQUENCE, "seq " + event.getSeq() + " < 0");
    }
    int textBytes = utf8Length(event.getText());
    if (textBytes > settings.maxEventTextBytes()) {
      throw new Rejected(
          DeadLetterReason.TEXT_TOO_LARGE,
          "text of " + textBytes + " bytes, limit " + settings.maxEventTextBytes());
    }
    if (event.getKind() == EventKind.GENERATE) {
      Generation g = event.getGeneration();
      if (g.getMaxNewTokens() < 0 || g.getMaxNewTokens() > settings.maxNewTokensLimit()) {
        throw new Rejected(
            DeadLetterReason.INVALID_SETTINGS,
            "maxNewTokens " + g.getMaxNewTokens() + " outside 0.." + settings.maxNewTokensLimit());
      }
      float t = g.getTemperature();
      if (!(t >= 0f) || Float.isInfinite(t)) {
        throw new Rejected(
            DeadLetterReason.INVALID_SETTINGS, "temperature " + t + " is not finite and >= 0");
      }
    }
  }

  /** RESET: deletes the stream's memories; the session keeps only lastSeq (see docs). */
  private OutputEvent.Builder reset(String streamId, InputEvent event) {
    List<MemoryKey> keys = new ArrayList<>();
    try (KeyValueIterator<MemoryKey, StoredHeadMemory> it =
        memory.range(MemoryKey.first(streamId), MemoryKey.last(streamId))) {
      while (it.hasNext()) {
        KeyValue<MemoryKey, StoredHeadMemory> kv = it.next();
        keys.add(kv.key);
      }
    }
    for (MemoryKey key : keys) {
      memory.delete(key);
    }
    StreamState fresh = model.newState();
    sessions.put(streamId, StateCodec.toSession(fresh, event.getSeq(), fingerprint));
    return OutputEvent.newBuilder()
        .setTokensThisEvent(0)
        .setTokensTotal(fresh.tokensAbsorbed())
        .setSegmentsTotal(fresh.segmentsAbsorbed());
  }

  /** APPEND or GENERATE: read state, run the model, write back what changed. */
  private OutputEvent.Builder step(String streamId, InputEvent event, StoredSession session)
      throws Rejected {
    Loaded loaded = load(streamId, session);
    StreamState before = loaded.state();
    OutputEvent.Builder out = OutputEvent.newBuilder();
    StreamState after;
    try {
      if (event.getKind() == EventKind.APPEND) {
        after = append(before, event.getText(), out);
      } else {
        after = generate(before, event, out);
      }
    } catch (IllegalArgumentException e) {
      // the model rejects this input: deterministic, so retrying would fail again. Any other
      // failure (closed model, native error) propagates: under EOS the transaction aborts and
      // the event is processed again later, instead of being consumed without effect.
      log.warn("stream {}: model rejected seq {}", streamId, event.getSeq(), e);
      throw new Rejected(DeadLetterReason.MODEL_ERROR, e.toString());
    }
    store(streamId, !loaded.allHeadsStored(), before, after, event.getSeq());
    return out.setTokensThisEvent(after.tokensAbsorbed() - before.tokensAbsorbed())
        .setTokensTotal(after.tokensAbsorbed())
        .setSegmentsTotal(after.segmentsAbsorbed());
  }

  private StreamState append(StreamState state, String text, OutputEvent.Builder out) {
    int[] tokens = ByteTokenizer.encode(text);
    boolean score = settings.computeSurprise() && tokens.length > 0;
    double logProbSum = 0;
    for (int from = 0; from < tokens.length; from += settings.absorbChunkTokens()) {
      int to = Math.min(tokens.length, from + settings.absorbChunkTokens());
      AbsorbResult r = model.absorb(state, Arrays.copyOfRange(tokens, from, to), score);
      state = r.state();
      if (score) {
        for (float lp : r.logProbs()) {
          logProbSum += lp;
        }
      }
    }
    // APPEND text is byte-tokenized: tokens == UTF-8 bytes
    out.setSurpriseBitsPerByte(score ? -logProbSum / LN2 / tokens.length : null);
    return state;
  }

  private StreamState generate(StreamState state, InputEvent event, OutputEvent.Builder out) {
    Generation g = event.getGeneration();
    int[] prompt =
        g.getFormat() == PromptFormat.CHAT
            ? ByteTokenizer.chatTurn(event.getText())
            : ByteTokenizer.encode(event.getText());
    // absorb all but the prompt's last chunk first, so no model call exceeds the chunk size;
    // the memory does not depend on how the context is split into calls
    int head = Math.max(0, prompt.length - settings.absorbChunkTokens());
    for (int from = 0; from < head; from += settings.absorbChunkTokens()) {
      int to = Math.min(head, from + settings.absorbChunkTokens());
      state = model.absorb(state, Arrays.copyOfRange(prompt, from, to), false).state();
    }
    GenerationSettings gs =
        new GenerationSettings(
            g.getMaxNewTokens(), g.getTemperature(), g.getSeed(), settings.stopAtEos());
    GenerateResult r = model.generate(state, Arrays.copyOfRange(prompt, head, prompt.length), gs);
    out.setGeneratedText(ByteTokenizer.decode(r.generated()));
    return r.state();
  }

  /**
   * A stream's state as read from the stores.
   *
   * @param allHeadsStored false for a new or just-reset stream, whose zero memories have no records
   *     yet
   */
  private record Loaded(StreamState state, boolean allHeadsStored) {}

  /** The stream's current state, or a new stream's if it has no session. */
  private Loaded load(String streamId, StoredSession session) throws Rejected {
    if (session == null) {
      return new Loaded(model.newState(), false);
    }
    boolean allHeadsStored = true;
    if (!fingerprint.equals(session.getModelFingerprint())) {
      throw new Rejected(
          DeadLetterReason.FINGERPRINT_MISMATCH,
          "stream written by model "
              + session.getModelFingerprint()
              + ", this model is "
              + fingerprint
              + "; RESET the stream to restart it with this model");
    }
    List<HeadMemory> memories = new ArrayList<>(config.layers() * config.heads());
    for (int layer = 0; layer < config.layers(); layer++) {
      for (int head = 0; head < config.heads(); head++) {
        StoredHeadMemory stored = memory.get(new MemoryKey(streamId, layer, head));
        if (stored == null) {
          if (session.getSegmentsAbsorbed() > 0) {
            throw new Rejected(
                DeadLetterReason.STATE_MISMATCH,
                "memory of layer "
                    + layer
                    + " head "
                    + head
                    + " missing after "
                    + session.getSegmentsAbsorbed()
                    + " segments");
          }
          memories.add(HeadMemory.zero(config.dKey(), config.dValue()));
          allHeadsStored = false;
          continue;
        }
        if (!fingerprint.equals(stored.getModelFingerprint())) {
          throw new Rejected(
              DeadLetterReason.FINGERPRINT_MISMATCH,
              "memory of layer "
                  + layer
                  + " head "
                  + head
                  + " written by model "
                  + stored.getModelFingerprint()
                  + ", this model is "
                  + fingerprint
                  + "; RESET the stream");
        }
        try {
          memories.add(StateCodec.fromStored(stored));
        } catch (IllegalArgumentException e) {
          throw new Rejected(DeadLetterReason.STATE_MISMATCH, e.getMessage());
        }
      }
    }
    try {
      return new Loaded(StateCodec.toState(config, session, memories), allHeadsStored);
    } catch (IllegalArgumentException e) {
      throw new Rejected(DeadLetterReason.STATE_MISMATCH, e.getMessage());
    }
  }

  /** Writes the session and every head memory that changed (all of them if some had no record). */
  private void store(
      String streamId, boolean writeAll, StreamState before, StreamState after, long seq) {
    for (int layer = 0; layer < config.layers(); layer++) {
      for (int head = 0; head < config.heads(); head++) {
        HeadMemory m = after.memory(layer, head);
        if (writeAll || !m.equals(before.memory(layer, head))) {
          memory.put(
              new MemoryKey(streamId, layer, head),
              StateCodec.toStored(layer, head, m, fingerprint));
        }
      }
    }
    sessions.put(streamId, StateCodec.toSession(after, seq, fingerprint));
  }

  private void deadLetter(Record<byte[], byte[]> record, DeadLetterReason reason, String detail) {
    String source = context.recordMetadata().map(InfiniProcessor::describe).orElse("unknown");
    log.warn("dead-lettered record from {}: {} ({})", source, reason, detail);
    RecordHeaders headers = new RecordHeaders(record.headers().toArray());
    headers.add(DeadLetterReason.HEADER, utf8(reason.name()));
    headers.add(DeadLetterReason.DETAIL_HEADER, utf8(truncate(detail)));
    headers.add(DeadLetterReason.SOURCE_HEADER, utf8(source));
    context.forward(
        new Record<Object, Object>(record.key(), record.value(), record.timestamp(), headers),
        InfiniTopology.DEAD_LETTER_SINK);
  }

  private static String describe(RecordMetadata m) {
    return m.topic() + "/" + m.partition() + "/" + m.offset();
  }

  private static String truncate(String detail) {
    String d = detail == null ? "" : detail;
    return d.length() <= MAX_DETAIL_CHARS ? d : d.substring(0, MAX_DETAIL_CHARS);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
