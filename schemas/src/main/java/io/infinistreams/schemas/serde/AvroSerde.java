package io.infinistreams.schemas.serde;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.Utf8;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka {@link Serde} for a generated Avro record class using Avro's single-object encoding:
 * every message is {@code C3 01}, the 8-byte CRC-64-AVRO fingerprint of its writer schema
 * (little-endian), then the Avro binary body. No schema registry is involved.
 *
 * <p>Writes always use the class's current schema. Reads accept the current schema and every schema
 * passed as {@code previous} (kept in {@link SchemaHistory}): the writer schema is looked up by
 * fingerprint and resolved against the current one, so a record written by an older release still
 * reads. Reads are strict: a message whose writer schema is unknown, whose body is truncated or
 * followed by extra bytes, or whose strings are not valid UTF-8 fails with a {@link
 * SerializationException} (its message names an unknown fingerprint in hex, as on the wire).
 *
 * <p>{@code null} (a tombstone) serialises to and from {@code null}. Thread-safe.
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord>
    implements Serde<T>, Serializer<T>, Deserializer<T> {

  static {
    TrustedClasses.install();
  }

  private static final int HEADER_BYTES = 10;

  private final Class<T> type;
  private final BinaryMessageEncoder<T> encoder;
  private final Map<Long, StrictReader<T>> readers = new ConcurrentHashMap<>();

  /**
   * @param type the generated class
   * @param schema its current schema (the writer schema of everything this serde writes)
   * @param previous older writer schemas of the same record that must still read
   */
  public AvroSerde(Class<T> type, Schema schema, Collection<Schema> previous) {
    this.type = Objects.requireNonNull(type, "type");
    SpecificData model = SpecificData.getForClass(type);
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    // reads through a copy of the class's data model without Avro's fast reader, so that every
    // string goes through StrictReader.readString
    SpecificData strict = new SpecificData(type.getClassLoader());
    model.getConversions().forEach(strict::addLogicalTypeConversion);
    strict.setFastReaderEnabled(false);
    for (Schema writer : previous) {
      readers.put(
          SchemaNormalization.parsingFingerprint64(writer),
          new StrictReader<>(writer, schema, strict));
    }
    readers.put(
        SchemaNormalization.parsingFingerprint64(schema),
        new StrictReader<>(schema, schema, strict));
  }

  /** A serde reading only the current schema. */
  public AvroSerde(Class<T> type, Schema schema) {
    this(type, schema, List.of());
  }

  /**
   * The CRC-64-AVRO fingerprint of {@code schema} as hex of the 8 bytes written on the wire
   * (little-endian, after {@code C3 01}).
   */
  public static String wireFingerprint(Schema schema) {
    return wireHex(SchemaNormalization.parsingFingerprint64(schema));
  }

  private static String wireHex(long fingerprint) {
    return HexFormat.of()
        .formatHex(
            ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fingerprint).array());
  }

  @Override
  public byte[] serialize(String topic, T value) {
    if (value == null) {
      return null;
    }
    try {
      ByteBuffer buffer = encoder.encode(value);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot encode " + type.getSimpleName(), e);
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    try {
      return decode(data);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "cannot decode "
              + type.getSimpleName()
              + " from "
              + data.length
              + " bytes: "
              + e.getMessage(),
          e);
    }
  }

  private T decode(byte[] data) throws IOException {
    if (data.length < HEADER_BYTES || data[0] != (byte) 0xC3 || data[1] != (byte) 0x01) {
      throw new IOException("not Avro single-object encoding (no C3 01 header)");
    }
    long fingerprint = ByteBuffer.wrap(data, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    StrictReader<T> reader = readers.get(fingerprint);
    if (reader == null) {
      throw new IOException("unknown writer schema, fingerprint " + wireHex(fingerprint));
    }
    BinaryDecoder decoder =
        DecoderFactory.get().binaryDecoder(data, HEADER_BYTES, data.length - HEADER_BYTES, null);
    T value = reader.read(null, decoder);
    if (!decoder.isEnd()) {
      throw new IOException("bytes left after the Avro body");
    }
    return value;
  }

  /** A reader that rejects invalid UTF-8 in strings instead of replacing it. */
  private static final class StrictReader<T> extends SpecificDatumReader<T> {
    StrictReader(Schema writer, Schema reader, SpecificData model) {
      super(writer, reader, model);
    }

    @Override
    protected Object readString(Object old, Schema expected, Decoder in) throws IOException {
      Utf8 utf8 = in.readString(null);
      String strict;
      try {
        strict =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(utf8.getBytes(), 0, utf8.getByteLength()))
                .toString();
      } catch (CharacterCodingException e) {
        throw new AvroRuntimeException("string is not valid UTF-8");
      }
      return findStringClass(expected) == String.class ? strict : utf8;
    }
  }

  @Override
  public Serializer<T> serializer() {
    return this;
  }

  @Override
  public Deserializer<T> deserializer() {
    return this;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {}

  @Override
  public void close() {}
}
