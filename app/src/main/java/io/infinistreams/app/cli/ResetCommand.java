package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.schemas.OutputEvent;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;

/** {@code infini reset KEY [--pin FINGERPRINT]}: one RESET, and its output. */
@Command(
    name = "reset",
    mixinStandardHelpOptions = true,
    description = {
      "Send a RESET to a stream: its memory and context are deleted, its sequence goes on. "
          + "With --pin, the RESET names the serving model, which also moves a stream written "
          + "by another model to it (an unpinned RESET of such a stream is refused unless "
          + "model.upgrade.policy is serve, with that model loaded, or reset)."
    })
public final class ResetCommand extends StreamEventCommand {

  @Override
  Future<RecordMetadata> send(StreamClient client, long seq, String pin) {
    return client.reset(seq, pin);
  }

  @Override
  String done(OutputEvent out) {
    return "reset under model " + out.getModelFingerprint().substring(0, 12);
  }
}
