package io.infinistreams.app.client;

import io.infinistreams.topology.SessionSnapshots;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Sending a snapshot back into the application as an IMPORT event: what {@code infini snapshot
 * import|fork} and {@code POST /sessions/{key}/snapshot} of the operations server both do. The
 * event goes to the input topic through a {@link StreamClient} (idempotent producer, {@code
 * acks=all}), so it is ordered with the stream's other events and applied exactly once by the
 * processor; being in the input topic is all {@link #send} waits for.
 */
public final class SnapshotImport {

  /** Hex digits a pin needs at least (as the processor requires). */
  public static final int MIN_PIN_HEX = 12;

  private SnapshotImport() {}

  /**
   * Where the IMPORT went.
   *
   * @param seq the sequence number it carries
   */
  public record Sent(long seq, String topic, int partition, long offset) {}

  /** An explicit seq that is not the stream's next one: the processor would refuse it. */
  public static final class SeqConflictException extends Exception {
    private static final long serialVersionUID = 1L;
    private final long expected;

    SeqConflictException(long given, long expected) {
      super(
          "seq "
              + given
              + " is not the stream's next one: its last seq is "
              + (expected - 1)
              + ", so the next is "
              + expected
              + (given < expected
                  ? " (seq " + given + " would be refused as DUPLICATE_SEQ)"
                  : " (seq " + given + " would be refused as SEQ_GAP)"));
      this.expected = expected;
    }

    /** The seq the stream takes next. */
    public long expected() {
      return expected;
    }
  }

  /**
   * What can be checked before sending: the snapshot decodes (format, checksum: {@link
   * SessionSnapshots#decode}), {@code servingFingerprint} (if not null) wrote it, as only the
   * serving model imports, and {@code pin} (if not null) is a fingerprint prefix of at least
   * {@value #MIN_PIN_HEX} hex digits, of the serving model if given.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static SessionSnapshots.Decoded check(
      byte[] snapshot, String servingFingerprint, String pin) {
    SessionSnapshots.Decoded d = SessionSnapshots.decode(snapshot);
    String writer = d.snapshot().getModelFingerprint();
    if (servingFingerprint != null && !servingFingerprint.equals(writer)) {
      throw new IllegalArgumentException(
          "the snapshot was written by model "
              + writer
              + ", the serving model is "
              + servingFingerprint
              + ": only the model that wrote a snapshot imports it");
    }
    checkPin(pin, servingFingerprint);
    return d;
  }

  /**
   * Checks that {@code pin} (if not null) is a fingerprint prefix of at least {@value #MIN_PIN_HEX}
   * hex digits, of {@code servingFingerprint} if that is not null.
   *
   * @throws IllegalArgumentException saying what is wrong
   */
  public static void checkPin(String pin, String servingFingerprint) {
    if (pin != null) {
      if (pin.length() < MIN_PIN_HEX || !pin.matches("[0-9a-f]+")) {
        throw new IllegalArgumentException(
            "pin '"
                + pin
                + "' is not a model fingerprint prefix of at least "
                + MIN_PIN_HEX
                + " lower-case hex digits");
      }
      if (servingFingerprint != null && !servingFingerprint.startsWith(pin)) {
        throw new IllegalArgumentException(
            "pin '" + pin + "' is not the serving model " + servingFingerprint);
      }
    }
  }

  /**
   * Sends {@code snapshot} as an IMPORT to {@code client}'s stream and waits until the broker has
   * it, with the seq {@link #seq} gives.
   *
   * @param warn told (one line) when {@code ops} cannot answer and the topics are scanned instead
   * @throws SeqConflictException if {@code seqMustBeNext} and {@code seq} is not the next seq
   * @throws ExecutionException if the broker did not take the event (the cause says why)
   */
  public static Sent send(
      StreamClient client,
      SessionLookup ops,
      byte[] snapshot,
      Long seq,
      boolean seqMustBeNext,
      String pin,
      Consumer<String> warn)
      throws InterruptedException, ExecutionException, SeqConflictException {
    long s = seq(client, ops, seq, seqMustBeNext, warn);
    RecordMetadata m = client.importSnapshot(s, snapshot, pin).get();
    return new Sent(s, m.topic(), m.partition(), m.offset());
  }

  /**
   * The seq of an event for {@code client}'s stream: {@code seq}, or if null the stream's next one
   * ({@link StreamClient#lastSeq(SessionLookup, Consumer)} + 1: the last seq the application
   * applied, asked of {@code ops}, or a later one still waiting in the input topic). With {@code
   * seqMustBeNext}, a given {@code seq} is first compared with that next seq.
   *
   * @param warn told (one line) when {@code ops} cannot answer and the topics are scanned instead
   * @throws SeqConflictException if {@code seqMustBeNext} and {@code seq} is not the next seq
   */
  public static long seq(
      StreamClient client,
      SessionLookup ops,
      Long seq,
      boolean seqMustBeNext,
      Consumer<String> warn)
      throws InterruptedException, SeqConflictException {
    if (seq != null && !seqMustBeNext) {
      return seq;
    }
    long next = client.lastSeq(ops, warn) + 1;
    if (seq != null && seq != next) {
      throw new SeqConflictException(seq, next);
    }
    return next;
  }
}
