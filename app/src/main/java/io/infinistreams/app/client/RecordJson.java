package io.infinistreams.app.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import io.infinistreams.topology.DeadLetterReason;
import io.infinistreams.topology.InfiniTopology;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * One record of the input, output or dead-letter topic as a JSON object, decoded from its Avro
 * single-object encoding: what {@code infini tail} prints.
 *
 * <p>Every object has {@code topic}, {@code partition}, {@code offset}, {@code timestamp} (the
 * record's, ISO-8601 UTC with milliseconds) and {@code key} (UTF-8; null for no key; a key that is
 * not UTF-8 is {@code null} with its bytes in {@code keyBase64}). The value decoded is {@code
 * event}, an object with the event's Avro fields (enums by name, timestamps as ISO-8601 strings,
 * unions as their value). A value that does not decode is {@code event: null} with {@code
 * valueBase64} (its bytes, or null for no value) and {@code decodeError} (why).
 *
 * <p>A dead letter's value is the rejected input record's, so its {@code event} is an input event;
 * its headers add {@code reason}, {@code detail}, {@code sourceTopic}, {@code sourcePartition},
 * {@code sourceOffset}, and where the processor sets them {@code lastSeq} and {@code exception}. An
 * output whose event started its stream afresh under the serving model (upgrade policy reset) adds
 * {@code contextResetFrom}, the fingerprint of the model whose state was dropped.
 */
public final class RecordJson {

  /** The record timestamps' format: UTC, millisecond precision, fixed width. */
  public static final DateTimeFormatter TIMESTAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT)
          .withZone(ZoneOffset.UTC);

  /** Which topic a record comes from: decides how its value decodes. */
  public enum Kind {
    /** The input topic: InputEvent values. */
    INPUT,
    /** The output topic: OutputEvent values. */
    OUTPUT,
    /** The dead-letter topic: the rejected input records, reasons in headers. */
    DEAD_LETTER
  }

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final Kind kind;
  private final AvroSerde<? extends SpecificRecord> serde;

  /** A decoder for records of a topic of {@code kind}. */
  public RecordJson(Kind kind) {
    this.kind = kind;
    this.serde = kind == Kind.OUTPUT ? AvroSerdes.outputEvent() : AvroSerdes.inputEvent();
  }

  /** The record as a JSON object (see the class comment). Never throws for a bad record. */
  public ObjectNode toJson(ConsumerRecord<byte[], byte[]> r) {
    ObjectNode o = NODES.objectNode();
    o.put("topic", r.topic());
    o.put("partition", r.partition());
    o.put("offset", r.offset());
    o.put("timestamp", TIMESTAMP.format(Instant.ofEpochMilli(r.timestamp())));
    if (r.key() == null) {
      o.putNull("key");
    } else {
      String key = utf8OrNull(r.key());
      o.put("key", key);
      if (key == null) {
        o.put("keyBase64", Base64.getEncoder().encodeToString(r.key()));
      }
    }
    if (kind == Kind.DEAD_LETTER) {
      o.put("reason", header(r, DeadLetterReason.HEADER));
      o.put("detail", header(r, DeadLetterReason.DETAIL_HEADER));
      putSource(o, header(r, DeadLetterReason.SOURCE_HEADER));
      String lastSeq = header(r, DeadLetterReason.LAST_SEQ_HEADER);
      if (lastSeq != null) {
        try {
          o.put("lastSeq", Long.parseLong(lastSeq.strip()));
        } catch (NumberFormatException e) {
          o.put("lastSeq", lastSeq);
        }
      }
      String exception = header(r, DeadLetterReason.EXCEPTION_HEADER);
      if (exception != null) {
        o.put("exception", exception);
      }
    }
    if (kind == Kind.OUTPUT) {
      String resetFrom = header(r, InfiniTopology.CONTEXT_RESET_HEADER);
      if (resetFrom != null) {
        o.put("contextResetFrom", resetFrom);
      }
    }
    if (r.value() == null) {
      o.putNull("event");
      o.putNull("valueBase64");
      o.put("decodeError", "no value (null)");
      return o;
    }
    try {
      o.set("event", toJson(serde.deserialize(r.topic(), r.value())));
    } catch (RuntimeException e) {
      o.putNull("event");
      o.put("valueBase64", Base64.getEncoder().encodeToString(r.value()));
      o.put("decodeError", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
    return o;
  }

  /** {@code topic/partition/offset}; a header that does not parse is kept as it is. */
  private static void putSource(ObjectNode o, String source) {
    if (source == null) {
      return;
    }
    int last = source.lastIndexOf('/');
    int middle = last > 0 ? source.lastIndexOf('/', last - 1) : -1;
    if (middle > 0) {
      try {
        int partition = Integer.parseInt(source.substring(middle + 1, last));
        long offset = Long.parseLong(source.substring(last + 1));
        o.put("sourceTopic", source.substring(0, middle));
        o.put("sourcePartition", partition);
        o.put("sourceOffset", offset);
        return;
      } catch (NumberFormatException e) {
        // kept whole below
      }
    }
    o.put("source", source);
  }

  /** The last header {@code name} as UTF-8, or null without one. */
  private static String header(ConsumerRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String utf8OrNull(byte[] bytes) {
    try {
      CharBuffer chars =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes));
      return chars.toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** An Avro value (record, enum, map, array, string, number, logical type) as JSON. */
  static JsonNode toJson(Object value) {
    if (value == null) {
      return NODES.nullNode();
    }
    if (value instanceof IndexedRecord rec) {
      ObjectNode o = NODES.objectNode();
      for (Schema.Field f : rec.getSchema().getFields()) {
        o.set(f.name(), toJson(rec.get(f.pos())));
      }
      return o;
    }
    if (value instanceof CharSequence || value instanceof Enum<?>) {
      return NODES.textNode(value.toString());
    }
    if (value instanceof GenericContainer) { // a generic enum symbol or fixed
      return NODES.textNode(value.toString());
    }
    if (value instanceof Long l) {
      return NODES.numberNode(l);
    }
    if (value instanceof Integer i) {
      return NODES.numberNode(i);
    }
    if (value instanceof Float f) {
      return NODES.numberNode(f);
    }
    if (value instanceof Double d) {
      return NODES.numberNode(d);
    }
    if (value instanceof Boolean b) {
      return NODES.booleanNode(b);
    }
    if (value instanceof Instant t) {
      return NODES.textNode(t.toString());
    }
    if (value instanceof ByteBuffer b) {
      ByteBuffer copy = b.duplicate();
      byte[] bytes = new byte[copy.remaining()];
      copy.get(bytes);
      return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
    }
    if (value instanceof Map<?, ?> m) {
      ObjectNode o = NODES.objectNode();
      m.forEach((k, v) -> o.set(String.valueOf(k), toJson(v)));
      return o;
    }
    if (value instanceof Collection<?> c) {
      ArrayNode a = NODES.arrayNode();
      c.forEach(v -> a.add(toJson(v)));
      return a;
    }
    return NODES.textNode(value.toString());
  }
}
