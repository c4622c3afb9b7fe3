package io.infinistreams.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class StreamsPropsTest {
  private static final String FINGERPRINT = "f".repeat(64);

  @Test
  void exactlyOnceV2AndRequestSizeCoverTheLargestRecord() {
    ModelConfig config = ModelConfig.defaults();
    Properties props = StreamsProps.forModel(config);
    assertEquals("exactly_once_v2", props.get("processing.guarantee"));
    int max = (int) props.get("producer.max.request.size");
    assertEquals(StreamsProps.maxRequestBytes(config, TopologySettings.defaults()), max);
    assertTrue(max >= StreamsProps.maxMessageBytes(config, TopologySettings.defaults()));
    assertTrue(max >= 1_048_588);
  }

  @Test
  void theRepartitionTopicAndTheProducerTakeAnyRecordTheDefaultInputTakes() {
    ModelConfig config = ModelConfig.tiny();
    Properties on = StreamsProps.forModel(config, TopologySettings.defaults());
    int input = 1_048_588; // Kafka's default max.message.bytes of the input topic
    assertTrue((int) on.get("topic.max.message.bytes") > input);
    assertTrue(
        (int) on.get("producer.max.request.size") >= (int) on.get("topic.max.message.bytes"));
    Properties off =
        StreamsProps.forModel(config, TopologySettings.defaults().withRepartitionInput(false));
    assertFalse(off.containsKey("topic.max.message.bytes"));
    assertEquals(
        StreamsProps.maxMessageBytes(config, TopologySettings.defaults()),
        off.get("producer.max.request.size"));
  }

  @Test
  void boundsHoldForActualEncodedRecords() {
    for (ModelConfig config :
        List.of(
            ModelConfig.tiny(),
            ModelConfig.defaults(),
            ModelConfig.defaults().withOverlap(ModelConfig.defaults().segmentLength()),
            new ModelConfig(
                264,
                512,
                2,
                2,
                512,
                512,
                64,
                1024,
                ModelConfig.tiny().updateRule(),
                ModelConfig.tiny().memoryRead(),
                10000f,
                0))) {
      HeadMemory head = HeadMemory.zero(config.dKey(), config.dValue());
      int headBytes =
          InfiniTopology.HEAD_MEMORY_SERDE.serialize(
                  "t", StateCodec.toStored(Integer.MAX_VALUE, Integer.MAX_VALUE, head, FINGERPRINT))
              .length;
      assertTrue(
          headBytes <= StreamsProps.headRecordBytes(config),
          headBytes + " > " + StreamsProps.headRecordBytes(config));

      List<HeadMemory> memories =
          new ArrayList<>(Collections.nCopies(config.layers() * config.heads(), head));
      int[] open = new int[config.segmentLength()]; // a full open segment is allowed
      java.util.Arrays.fill(open, config.vocabSize() - 1);
      int[] context = new int[config.overlap()]; // at most a segment
      java.util.Arrays.fill(context, config.vocabSize() - 1);
      StreamState state =
          StreamState.of(config, memories, context, open, Long.MAX_VALUE / 2, Long.MAX_VALUE / 2);
      int sessionBytes =
          InfiniTopology.SESSION_SERDE.serialize(
                  "t", StateCodec.toSession(state, Long.MAX_VALUE, FINGERPRINT))
              .length;
      assertTrue(
          sessionBytes <= StreamsProps.sessionRecordBytes(config),
          sessionBytes + " > " + StreamsProps.sessionRecordBytes(config));
    }
  }

  @Test
  void largeHeadsRaiseTheLimitAboveKafkasDefault() {
    ModelConfig big =
        new ModelConfig(
            264,
            512,
            2,
            2,
            512,
            512,
            64,
            1024,
            ModelConfig.tiny().updateRule(),
            ModelConfig.tiny().memoryRead(),
            10000f,
            0);
    int max = StreamsProps.maxMessageBytes(big, TopologySettings.defaults());
    assertTrue(max > 4 * 512 * 512, "limit " + max + " must hold a 1 MiB head");
  }
}
