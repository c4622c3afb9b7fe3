package io.infinistreams.app.runtime;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Kafka Streams does when the broker (or the producer) refuses a record the processor wrote.
 *
 * <ul>
 *   <li><b>A dead letter refused as too large</b> ({@link RecordTooLargeException} on the
 *       dead-letter topic): logged at ERROR with the input record's coordinates, size and the fix,
 *       counted ({@link #deadLettersRefused()}; Kafka Streams' {@code dropped-records} metric as
 *       well), and answered RESUME. Under exactly-once that cannot save the transaction: the Kafka
 *       producer aborts it after any refused send, the transaction's other records fail with the
 *       same error and are answered FAIL below, and the instance stops ({@code
 *       DeadLetterRefusedTest}). That is why {@link Topics#fitLimits} gives the dead-letter topic a
 *       {@code max.message.bytes} above the input topic's and {@link StreamsWiring} raises the
 *       producer's {@code max.request.size} to match: every dead letter of a record the input topic
 *       accepted fits, and this path is not reached.
 *   <li><b>Anything else</b> (an output event, a changelog record, another error): logged and
 *       answered FAIL. Dropping an output or a store write would commit the input offset without
 *       its effect: an event lost silently. These records are bounded by construction (the
 *       changelogs' and producer's limits are derived from the model), so reaching this is a
 *       misconfiguration to fix, and failing keeps the event to be processed after the fix.
 * </ul>
 *
 * <p>Configured with {@link #DEAD_LETTER_TOPIC_CONFIG} (set by {@link StreamsWiring}).
 */
public final class InfiniProductionExceptionHandler implements ProductionExceptionHandler {
  /**
   * Streams property naming the dead-letter topic (the application's {@code topic.dead.letter}).
   */
  public static final String DEAD_LETTER_TOPIC_CONFIG = "infini.dead.letter.topic";

  private static final Logger log = LoggerFactory.getLogger(InfiniProductionExceptionHandler.class);
  private static final AtomicLong DEAD_LETTERS_REFUSED = new AtomicLong();

  private String deadLetterTopic;

  /** Dead letters refused as too large since this JVM started (all instances). */
  public static long deadLettersRefused() {
    return DEAD_LETTERS_REFUSED.get();
  }

  @Override
  public void configure(Map<String, ?> configs) {
    Object topic = configs.get(DEAD_LETTER_TOPIC_CONFIG);
    deadLetterTopic = topic == null ? null : topic.toString();
  }

  @Override
  public Response handleError(
      ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
    int bytes =
        (record.key() == null ? 0 : record.key().length)
            + (record.value() == null ? 0 : record.value().length);
    if (exception instanceof RecordTooLargeException && record.topic().equals(deadLetterTopic)) {
      long n = DEAD_LETTERS_REFUSED.incrementAndGet();
      log.error(
          "dead letter of input {} ({} bytes of key and value, reason {}) refused by topic {} as"
              + " too large; not written (dead letters refused so far: {}). Raise the topic's"
              + " max.message.bytes above the input topic's.",
          source(context, record),
          bytes,
          header(record, "infini.dlq.reason"),
          record.topic(),
          n,
          exception);
      return Response.resume();
    }
    log.error(
        "record to topic {} ({} bytes of key and value) from input {} refused: {}; failing so the"
            + " event is not lost",
        record.topic(),
        bytes,
        source(context, record),
        exception.toString());
    return Response.fail();
  }

  private static String source(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> r) {
    String fromHeader = header(r, "infini.dlq.source");
    if (fromHeader != null) {
      return fromHeader;
    }
    return context == null
        ? "?"
        : context.topic() + "/" + context.partition() + "/" + context.offset();
  }

  private static String header(ProducerRecord<byte[], byte[]> record, String name) {
    if (record.headers() == null) {
      return null;
    }
    Header h = record.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
