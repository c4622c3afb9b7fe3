package io.infinistreams.app.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Produces a document as a stream's APPEND events: UTF-8-safe chunks of at most {@code
 * maxChunkBytes}, sequence numbers {@code startSeq, startSeq + 1, ...}, in order.
 *
 * <p>Sends are asynchronous (the idempotent producer keeps them in order); {@link #feed} returns
 * once the broker acknowledged every chunk, and fails with the first send error.
 */
public final class DocumentFeeder {

  /** What was sent. {@code lastSeq} is {@code firstSeq - 1} when the document was empty. */
  public record Fed(long events, long bytes, long firstSeq, long lastSeq) {}

  /** Told, on the feeding thread, how many bytes the broker has acknowledged so far. */
  public interface Progress {
    void update(long bytesAcknowledged);
  }

  private DocumentFeeder() {}

  public static Fed feed(
      StreamClient client,
      InputStream document,
      int maxChunkBytes,
      long startSeq,
      Progress progress)
      throws IOException {
    return send(client, new Utf8Chunker(document, maxChunkBytes)::next, startSeq, progress);
  }

  /**
   * Produces {@code events} as they are, one APPEND each, with sequence numbers {@code startSeq,
   * startSeq + 1, ...}.
   */
  public static Fed feed(StreamClient client, List<String> events, long startSeq, Progress progress)
      throws IOException {
    Iterator<String> next = events.iterator();
    return send(client, () -> next.hasNext() ? next.next() : null, startSeq, progress);
  }

  /** The next event's text, or null at the end. */
  private interface Chunks {
    String next() throws IOException;
  }

  private static Fed send(StreamClient client, Chunks chunks, long startSeq, Progress progress)
      throws IOException {
    AtomicLong acked = new AtomicLong();
    AtomicReference<Exception> failure = new AtomicReference<>();
    long seq = startSeq;
    long sentBytes = 0;
    for (String chunk = chunks.next(); chunk != null; chunk = chunks.next()) {
      throwIfFailed(failure);
      long chunkBytes = chunk.getBytes(StandardCharsets.UTF_8).length;
      sentBytes += chunkBytes;
      client.append(
          seq++,
          chunk,
          (meta, error) -> {
            if (error != null) {
              failure.compareAndSet(null, error);
            } else {
              acked.addAndGet(chunkBytes);
            }
          });
      progress.update(acked.get());
    }
    client.flush();
    throwIfFailed(failure);
    progress.update(acked.get());
    return new Fed(seq - startSeq, sentBytes, startSeq, seq - 1);
  }

  private static void throwIfFailed(AtomicReference<Exception> failure) throws IOException {
    Exception e = failure.get();
    if (e != null) {
      throw new IOException("sending to Kafka failed: " + e.getMessage(), e);
    }
  }
}
