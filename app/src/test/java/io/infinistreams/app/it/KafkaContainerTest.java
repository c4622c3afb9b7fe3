package io.infinistreams.app.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.topology.TopologySettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The topology against the official {@code apache/kafka} image (a broker in its own process, same
 * version as the clients), exactly-once v2. Skipped where no Docker engine runs.
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerTest {
  private static final String KEY = "container-stream";

  @Container
  static final KafkaContainer KAFKA =
      new KafkaContainer(DockerImageName.parse("apache/kafka:4.3.1"));

  @TempDir Path stateDir;

  @Test
  void appendsThroughTheOfficialImageEqualOneCall() throws Exception {
    TopologySettings settings = TopologySettings.defaults();
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 3)) {
      Pipeline pipeline =
          new Pipeline(KAFKA.getBootstrapServers(), settings, model, "infini-container");
      pipeline.createTopics(1);
      StringBuilder document = new StringBuilder();
      List<InputEvent> events = new ArrayList<>();
      for (int i = 1; i <= 50; i++) {
        String piece = "piece " + i + " of a document streamed through a container. ";
        document.append(piece);
        events.add(Pipeline.append(i, piece));
      }
      KafkaStreams streams = pipeline.start(stateDir, new AtomicLong(), new CountDownLatch(1));
      try {
        pipeline.produce(KEY, events);
        List<OutputEvent> out =
            pipeline.awaitOutput(KEY, events.size(), Duration.ofMinutes(3), "check");
        assertEquals(events.size(), out.size());
        StreamState reference =
            model
                .absorb(model.newState(), ByteTokenizer.encode(document.toString()), false)
                .state();
        pipeline.assertMemoryEquals(streams, KEY, reference.memories());
      } finally {
        Pipeline.stop(streams);
      }
    }
  }
}
