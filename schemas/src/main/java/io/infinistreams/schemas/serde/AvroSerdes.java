package io.infinistreams.schemas.serde;

import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;

/**
 * The serdes of the project's records: single-object encoding, reading the current schema and every
 * schema in {@link SchemaHistory}. Each call returns a new, independent instance.
 */
public final class AvroSerdes {
  static {
    TrustedClasses.install();
  }

  private AvroSerdes() {}

  public static AvroSerde<InputEvent> inputEvent() {
    return new AvroSerde<>(
        InputEvent.class,
        InputEvent.getClassSchema(),
        SchemaHistory.previous(InputEvent.getClassSchema().getFullName()));
  }

  public static AvroSerde<OutputEvent> outputEvent() {
    return new AvroSerde<>(
        OutputEvent.class,
        OutputEvent.getClassSchema(),
        SchemaHistory.previous(OutputEvent.getClassSchema().getFullName()));
  }

  public static AvroSerde<StoredSession> storedSession() {
    return new AvroSerde<>(
        StoredSession.class,
        StoredSession.getClassSchema(),
        SchemaHistory.previous(StoredSession.getClassSchema().getFullName()));
  }

  public static AvroSerde<StoredHeadMemory> storedHeadMemory() {
    return new AvroSerde<>(
        StoredHeadMemory.class,
        StoredHeadMemory.getClassSchema(),
        SchemaHistory.previous(StoredHeadMemory.getClassSchema().getFullName()));
  }

  public static AvroSerde<SessionSnapshot> sessionSnapshot() {
    return new AvroSerde<>(
        SessionSnapshot.class,
        SessionSnapshot.getClassSchema(),
        SchemaHistory.previous(SessionSnapshot.getClassSchema().getFullName()));
  }
}
