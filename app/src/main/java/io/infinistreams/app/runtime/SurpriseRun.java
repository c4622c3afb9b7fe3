package io.infinistreams.app.runtime;

import io.infinistreams.app.client.DocumentFeeder;
import io.infinistreams.app.client.StreamClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeoutException;

/**
 * One run of {@code infini demo --task surprise} through Kafka: a {@link SurpriseStream}'s events
 * sent as APPEND events, one each, into one stream of a running {@link InfiniApp}; reads each
 * event's output record (by seq) for the surprise the processor reports.
 */
public final class SurpriseRun {

  /**
   * What a run measured.
   *
   * @param stream the events sent
   * @param streamId the stream (record key)
   * @param seed what the stream was drawn from
   * @param bitsPerByte each event's {@code surpriseBitsPerByte}, from its output record
   * @param comparison the injected event's against its neighbours'
   * @param seconds from the first event sent to the last output read
   */
  public record Result(
      SurpriseStream stream,
      String streamId,
      long seed,
      double[] bitsPerByte,
      SurpriseStream.Comparison comparison,
      double seconds) {}

  /** An event's output record carried no surprise (the processor does not compute it). */
  public static final class NoSurprise extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    NoSurprise(String message) {
      super(message);
    }
  }

  private SurpriseRun() {}

  /**
   * Sends {@code stream} to stream {@code streamId} of {@code app} and waits at most {@code
   * timeout} for its outputs; progress goes to {@code err}.
   *
   * @throws NoSurprise if an output has no {@code surpriseBitsPerByte}
   */
  public static Result run(
      InfiniApp app,
      SurpriseStream stream,
      String streamId,
      long seed,
      Duration timeout,
      PrintWriter err)
      throws IOException, TimeoutException, StreamClient.RejectedException {
    try (StreamClient client =
        StreamClient.connect(app.config(), app.bootstrapServers(), streamId)) {
      long firstSeq = DemoRun.freshStart(client, err);
      long t0 = System.nanoTime();
      DocumentFeeder.Fed fed = DocumentFeeder.feed(client, stream.events(), firstSeq, acked -> {});
      double[] bpb = new double[stream.events().size()];
      Arrays.fill(bpb, Double.NaN);
      DemoRun.awaitShowingAbsorb(
          client,
          fed.lastSeq(),
          firstSeq,
          stream.totalBytes(),
          timeout,
          err,
          out -> {
            if (out.getSeq() <= fed.lastSeq()) {
              Double s = out.getSurpriseBitsPerByte();
              if (s == null) {
                throw new NoSurprise(
                    "the output of seq "
                        + out.getSeq()
                        + " (stream '"
                        + streamId
                        + "') has no surpriseBitsPerByte: is surprise.enabled false in the "
                        + "processor's configuration?");
              }
              bpb[(int) (out.getSeq() - firstSeq)] = s;
            }
          });
      double seconds = (System.nanoTime() - t0) / 1e9;
      for (int i = 0; i < bpb.length; i++) {
        if (Double.isNaN(bpb[i])) {
          throw new NoSurprise("no output read for event " + (i + 1) + " of stream " + streamId);
        }
      }
      return new Result(stream, streamId, seed, bpb, stream.compare(bpb), seconds);
    }
  }
}
