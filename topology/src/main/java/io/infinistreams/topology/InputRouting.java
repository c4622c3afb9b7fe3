package io.infinistreams.topology;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The steps between the input topic and the repartition topic when {@link
 * TopologySettings#repartitionInput()} is on. They keep the key, the value, the timestamp and the
 * headers of every record as they are, and add one header:
 *
 * <ul>
 *   <li>{@link OriginStamp} writes where the record was read ({@code topic/partition/offset} of the
 *       input topic) into the {@link DeadLetterReason#SOURCE_HEADER} header, replacing any header
 *       of that name, so a dead letter names the input record and not its copy in the repartition
 *       topic;
 *   <li>{@link NullKeyDeadLetters} dead-letters records without a key ({@code NULL_KEY}) before the
 *       repartition step, which would drop them: they belong to no stream, so where they are
 *       processed does not matter, and their dead letter is the one the processor writes.
 * </ul>
 */
final class InputRouting {
  private InputRouting() {}

  /** Stamps the input record's position into {@link DeadLetterReason#SOURCE_HEADER}. */
  static final class OriginStamp implements FixedKeyProcessor<byte[], byte[], byte[]> {
    private FixedKeyProcessorContext<byte[], byte[]> context;

    @Override
    public void init(FixedKeyProcessorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<byte[], byte[]> record) {
      String origin = context.recordMetadata().map(InfiniProcessor::describe).orElse("unknown");
      Headers headers = new RecordHeaders(record.headers().toArray());
      headers.remove(DeadLetterReason.SOURCE_HEADER);
      headers.add(DeadLetterReason.SOURCE_HEADER, origin.getBytes(StandardCharsets.UTF_8));
      context.forward(record.withHeaders(headers));
    }
  }

  /** Dead-letters every record it gets as {@code NULL_KEY} (it gets only records without a key). */
  static final class NullKeyDeadLetters implements Processor<byte[], byte[], Object, Object> {
    private final ProcessorMetrics metrics;
    private final DeadLetterLog deadLetterLog =
        new DeadLetterLog(InfiniProcessor.LOG_FIRST_PER_REASON, InfiniProcessor.LOG_WINDOW_MILLIS);
    private ProcessorContext<Object, Object> context;

    NullKeyDeadLetters(ProcessorMetrics metrics) {
      this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      Rejected rejected =
          new Rejected(DeadLetterReason.NULL_KEY, "record has no key", Map.of(), null);
      String source = InfiniProcessor.source(context, record, false);
      context.forward(InfiniProcessor.deadLetterRecord(record, rejected, source, deadLetterLog));
      metrics.deadLettered(DeadLetterReason.NULL_KEY);
    }
  }
}
