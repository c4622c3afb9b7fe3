package io.infinistreams.schemas.serde;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A Kafka {@link Serde} for a generated Avro record class using Avro's single-object encoding:
 * every message is {@code C3 01}, the 8-byte CRC-64-AVRO fingerprint of its writer schema, then the
 * Avro binary body. No schema registry is involved.
 *
 * <p>Writes always use the class's current schema. Reads accept the current schema and every schema
 * passed as {@code previous} (kept in {@link SchemaHistory}): the writer schema is looked up by
 * fingerprint and resolved against the current one, so a record written by an older release still
 * reads. A message whose writer schema is unknown fails with a {@link SerializationException}.
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

  private final Class<T> type;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;

  /**
   * @param type the generated class
   * @param schema its current schema (the writer schema of everything this serde writes)
   * @param previous older writer schemas of the same record that must still read
   */
  public AvroSerde(Class<T> type, Schema schema, Collection<Schema> previous) {
    this.type = Objects.requireNonNull(type, "type");
    SpecificData model = SpecificData.getForClass(type);
    SchemaStore.Cache store = new SchemaStore.Cache();
    for (Schema old : previous) {
      store.addSchema(old);
    }
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema, store);
  }

  /** A serde reading only the current schema. */
  public AvroSerde(Class<T> type, Schema schema) {
    this(type, schema, List.of());
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
      return decoder.decode(data);
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
