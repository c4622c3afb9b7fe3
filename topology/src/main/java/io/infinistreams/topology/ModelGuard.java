package io.infinistreams.topology;

import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.StoredSession;

/**
 * Which model may apply an event: the event's pin ({@code modelFingerprint}, a hex prefix of at
 * least {@value #MIN_PIN_HEX} digits) must match the serving model, and a stream whose session was
 * written by another model is continued by no event, RESET included, unless it is a RESET or an
 * IMPORT pinned to the serving model (the explicit ways to move a stream to a new model).
 */
final class ModelGuard {
  static final int MIN_PIN_HEX = 12;

  private ModelGuard() {}

  static void check(InputEvent event, StoredSession session, String fingerprint) throws Rejected {
    String pin = event.getModelFingerprint();
    if (pin != null && (pin.length() < MIN_PIN_HEX || !fingerprint.startsWith(pin))) {
      throw new Rejected(
          DeadLetterReason.FINGERPRINT_MISMATCH,
          "event pinned to model " + pin + ", this model is " + fingerprint);
    }
    if (session == null || fingerprint.equals(session.getModelFingerprint())) {
      return;
    }
    if ((event.getKind() == EventKind.RESET || event.getKind() == EventKind.IMPORT)
        && pin != null) {
      return;
    }
    throw new Rejected(
        DeadLetterReason.FINGERPRINT_MISMATCH,
        "stream written by model "
            + session.getModelFingerprint()
            + ", this model is "
            + fingerprint
            + "; send the event again when that model serves, or RESET pinned to this model");
  }
}
