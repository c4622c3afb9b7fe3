package io.infinistreams.app.cli;

import io.infinistreams.app.client.StreamClient;
import io.infinistreams.schemas.OutputEvent;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.RecordMetadata;
import picocli.CommandLine.Command;

/** {@code infini delete KEY}: one DELETE, and its output. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Send a DELETE to a stream: its session and memory are removed from the stores, with "
          + "tombstones in the changelogs, whichever model wrote them; the key's next event "
          + "starts a new stream at seq 1. Ordered with the stream's other events and applied "
          + "exactly once, like them."
    })
public final class DeleteCommand extends StreamEventCommand {

  @Override
  Future<RecordMetadata> send(StreamClient client, long seq, String pin) {
    return client.delete(seq, pin);
  }

  @Override
  String done(OutputEvent out) {
    return "deleted";
  }
}
