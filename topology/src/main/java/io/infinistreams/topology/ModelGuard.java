package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.StoredSession;

/**
 * Which model applies an event ({@link Route}), or why none may.
 *
 * <ul>
 *   <li>A new stream, or one the serving model wrote: the serving model.
 *   <li>DELETE reads and writes no model state: the serving model, whichever model wrote the
 *       stream.
 *   <li>RESET and IMPORT replace the whole state with one of the serving model: allowed over a
 *       stream another model wrote when pinned to the serving model, or when the upgrade policy
 *       would not refuse that stream's events ({@link Models#disposition}).
 *   <li>APPEND and GENERATE of a stream another model wrote, by {@link Models#disposition}: the
 *       previous model that wrote it (policy serve), the serving model after dropping the old state
 *       (policy reset), or {@code FINGERPRINT_MISMATCH}.
 * </ul>
 *
 * The event's pin ({@code modelFingerprint}, a hex prefix of at least {@value #MIN_PIN_HEX} digits)
 * must match the model that applies it. The decision depends only on the stored session, the event
 * and the loaded models, so a replayed event takes the same route.
 */
final class ModelGuard {
  static final int MIN_PIN_HEX = 12;

  private ModelGuard() {}

  /**
   * The model that applies an event.
   *
   * @param model the model whose state the event reads and writes
   * @param resetFrom the fingerprint of the model whose stored state the event drops first (policy
   *     reset), or null
   */
  record Route(InfiniModel model, String resetFrom) {}

  static Route route(InputEvent event, StoredSession session, Models models) throws Rejected {
    String pin = event.getModelFingerprint();
    InfiniModel serving = models.serving();
    String writer = session == null ? null : session.getModelFingerprint();
    Route route;
    if (event.getKind() == EventKind.DELETE
        || writer == null
        || writer.equals(serving.fingerprint())) {
      route = new Route(serving, null);
    } else {
      Models.Disposition d = models.disposition(writer);
      boolean replaces = event.getKind() == EventKind.RESET || event.getKind() == EventKind.IMPORT;
      if (replaces && (pin != null || d != Models.Disposition.DEAD_LETTER)) {
        route = new Route(serving, null);
      } else if (!replaces && d == Models.Disposition.PREVIOUS) {
        route = new Route(models.get(writer), null);
      } else if (!replaces && d == Models.Disposition.RESET) {
        route = new Route(serving, writer);
      } else {
        throw new Rejected(
            DeadLetterReason.FINGERPRINT_MISMATCH,
            "stream written by model "
                + writer
                + ", this model is "
                + serving.fingerprint()
                + " (model upgrade policy "
                + models.policy().configName()
                + "); send the event again when that model serves, or RESET pinned to this model");
      }
    }
    String fingerprint = route.model().fingerprint();
    if (pin != null && (pin.length() < MIN_PIN_HEX || !fingerprint.startsWith(pin))) {
      throw new Rejected(
          DeadLetterReason.FINGERPRINT_MISMATCH,
          "event pinned to model " + pin + ", the model that would apply it is " + fingerprint);
    }
    return route;
  }
}
