package io.infinistreams.topology;

import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.schemas.serde.AvroSerde;
import io.infinistreams.schemas.serde.AvroSerdes;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Snapshots of one stream's whole state ({@link SessionSnapshot}): made from the stores by {@link
 * #export}, checked and taken apart by {@link #decode} when an IMPORT event brings one back. The
 * records travel as their stored single-object encodings and a SHA-256 over them, so what is
 * imported is bit for bit what was exported.
 */
public final class SessionSnapshots {
  /** The {@link SessionSnapshot#getFormatVersion()} this code writes and reads. */
  public static final int FORMAT_VERSION = 1;

  private static final AvroSerde<SessionSnapshot> SNAPSHOT_SERDE = AvroSerdes.sessionSnapshot();
  private static final AvroSerde<StoredSession> SESSION_SERDE = AvroSerdes.storedSession();
  private static final AvroSerde<StoredHeadMemory> HEAD_SERDE = AvroSerdes.storedHeadMemory();

  private SessionSnapshots() {}

  /** What a checked snapshot holds. */
  public record Decoded(
      SessionSnapshot snapshot, StoredSession session, List<StoredHeadMemory> memories) {}

  /**
   * The snapshot of {@code streamId} in the stores, or null if the stream has no session. Read both
   * stores of the partition that owns the key.
   */
  public static SessionSnapshot export(
      String streamId,
      ReadOnlyKeyValueStore<String, StoredSession> sessions,
      ReadOnlyKeyValueStore<MemoryKey, StoredHeadMemory> memory,
      Instant now) {
    StoredSession session = sessions.get(streamId);
    if (session == null) {
      return null;
    }
    List<ByteBuffer> heads = new ArrayList<>();
    for (KeyValue<MemoryKey, StoredHeadMemory> kv : MemoryKey.heads(memory, streamId)) {
      heads.add(ByteBuffer.wrap(HEAD_SERDE.serialize(null, kv.value)));
    }
    byte[] sessionBytes = SESSION_SERDE.serialize(null, session);
    return SessionSnapshot.newBuilder()
        .setFormatVersion(FORMAT_VERSION)
        .setStreamId(streamId)
        .setExportedAt(now)
        .setModelFingerprint(session.getModelFingerprint())
        .setSession(ByteBuffer.wrap(sessionBytes))
        .setMemories(heads)
        .setSha256(ByteBuffer.wrap(checksum(ByteBuffer.wrap(sessionBytes), heads)))
        .build();
  }

  /** The snapshot's single-object encoding: the bytes an IMPORT event carries. */
  public static byte[] encode(SessionSnapshot snapshot) {
    return SNAPSHOT_SERDE.serialize(null, snapshot);
  }

  /**
   * Decodes and checks a snapshot: its format version, its checksum, and that its records decode.
   * Whether they fit a model is the importer's check.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static Decoded decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0) {
      throw new IllegalArgumentException("no snapshot: an IMPORT must carry one");
    }
    SessionSnapshot snapshot;
    try {
      snapshot = SNAPSHOT_SERDE.deserialize(null, bytes);
    } catch (SerializationException e) {
      throw new IllegalArgumentException("snapshot does not decode: " + e.getMessage(), e);
    }
    if (snapshot.getFormatVersion() != FORMAT_VERSION) {
      throw new IllegalArgumentException(
          "snapshot format version "
              + snapshot.getFormatVersion()
              + ", this version reads "
              + FORMAT_VERSION);
    }
    byte[] want = checksum(snapshot.getSession(), snapshot.getMemories());
    if (!MessageDigest.isEqual(want, bytes(snapshot.getSha256()))) {
      throw new IllegalArgumentException(
          "snapshot of '" + snapshot.getStreamId() + "' does not match its checksum");
    }
    try {
      StoredSession session = SESSION_SERDE.deserialize(null, bytes(snapshot.getSession()));
      List<StoredHeadMemory> memories = new ArrayList<>();
      for (ByteBuffer b : snapshot.getMemories()) {
        memories.add(HEAD_SERDE.deserialize(null, bytes(b)));
      }
      return new Decoded(snapshot, session, memories);
    } catch (SerializationException e) {
      throw new IllegalArgumentException(
          "snapshot's state records do not decode: " + e.getMessage(), e);
    }
  }

  /** SHA-256 over the session's bytes, then each memory's bytes, in order. */
  static byte[] checksum(ByteBuffer session, List<ByteBuffer> memories) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
    sha.update(session.duplicate());
    for (ByteBuffer m : memories) {
      sha.update(m.duplicate());
    }
    return sha.digest();
  }

  /** The remaining bytes of {@code b} (its position untouched), as Avro hands out bytes fields. */
  public static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }
}
