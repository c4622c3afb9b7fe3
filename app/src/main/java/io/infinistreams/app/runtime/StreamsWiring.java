package io.infinistreams.app.runtime;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.topology.InfiniTopology;
import io.infinistreams.topology.StreamsProps;
import io.infinistreams.topology.TopologySettings;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

/**
 * The seam between the application's configuration and the topology core: maps {@link AppConfig}
 * onto {@link TopologySettings} and Kafka Streams properties, and builds the topology.
 */
public final class StreamsWiring {
  private StreamsWiring() {}

  public static TopologySettings topologySettings(AppConfig config) {
    TopologySettings d = TopologySettings.defaults();
    return new TopologySettings(
        config.inputTopic(),
        config.outputTopic(),
        config.deadLetterTopic(),
        d.sessionsStore(),
        d.memoryStore(),
        config.eventMaxTextBytes(),
        config.absorbChunkTokens(),
        config.generateMaxTokensLimit(),
        config.streamIdMaxBytes(),
        config.surpriseEnabled(),
        d.stopAtEos());
  }

  public static Topology topology(TopologySettings settings, InfiniModel model) {
    return InfiniTopology.build(settings, model);
  }

  /**
   * Kafka Streams properties, later entries winning: what the topology derives from the model
   * ({@link StreamsProps#forModel}), then the configuration's keys, then {@code streams.*}
   * overrides.
   */
  public static Properties streamsProperties(
      AppConfig config, ModelConfig model, String bootstrapServers, Path stateDir) {
    Properties p = StreamsProps.forModel(model, topologySettings(config));
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, config.processingGuarantee());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.numStreamThreads());
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.topicReplicationFactor());
    // There is no global store; enabling the handler there only silences a start-up warning.
    p.put("processing.exception.handler.global.enabled", true);
    p.putAll(config.streamsOverrides());
    return p;
  }
}
