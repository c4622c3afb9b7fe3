package io.infinistreams.app.config;

import static io.infinistreams.app.config.ConfigKeys.*;

import io.infinistreams.topology.Models;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * The application's effective configuration: every key of {@link ConfigKeys#DEFINITION} with its
 * parsed, validated value, plus the pass-through keys: {@code kafka.}-prefixed ones for every Kafka
 * client, {@code streams.}-prefixed ones for Kafka Streams only.
 *
 * <p>Sources, later overriding earlier: defaults &lt; properties file &lt; environment variables
 * ({@code INFINI_<KEY>}, dots as underscores) &lt; command-line overrides. A key that is neither
 * defined nor {@code kafka.}- or {@code streams.}-prefixed is rejected, as is an invalid value;
 * both errors name the key and where it came from. Immutable.
 */
public final class AppConfig {

  /** Environment variables with the {@code INFINI_} prefix that are not configuration keys. */
  public static final Set<String> RESERVED_ENV = Set.of("INFINI_JAVA_OPTS", "INFINI_JAR");

  private static final String STREAMS_ENV_PREFIX = envName(STREAMS_PREFIX);
  private static final String KAFKA_ENV_PREFIX = envName(KAFKA_PREFIX);

  /**
   * Client settings the application sets itself, rejected under {@code kafka.}: the brokers have
   * their own key, and the clients depend on the rest being what they set.
   */
  public static final Set<String> KAFKA_RESERVED =
      Set.of(
          "bootstrap.servers",
          "key.serializer",
          "value.serializer",
          "key.deserializer",
          "value.deserializer",
          "enable.idempotence",
          "isolation.level",
          "enable.auto.commit",
          "group.id",
          "transactional.id",
          "processing.guarantee",
          "application.id");

  private final Map<String, Object> values;
  private final Map<String, String> streamsOverrides;
  private final Map<String, String> kafkaClientProperties;
  private final Map<String, String> origins;

  private AppConfig(
      Map<String, Object> values,
      Map<String, String> streamsOverrides,
      Map<String, String> kafkaClientProperties,
      Map<String, String> origins) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    this.streamsOverrides = Collections.unmodifiableMap(new TreeMap<>(streamsOverrides));
    this.kafkaClientProperties = Collections.unmodifiableMap(new TreeMap<>(kafkaClientProperties));
    this.origins = Collections.unmodifiableMap(new LinkedHashMap<>(origins));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** All defaults. */
  public static AppConfig defaults() {
    return builder().build();
  }

  /** Collects the sources; {@link #build()} merges and validates them. */
  public static final class Builder {
    private Path file;
    private Map<String, String> environment = Map.of();
    private final Map<String, String> overrides = new LinkedHashMap<>();

    private Builder() {}

    /** A properties file (UTF-8); must exist. */
    public Builder file(Path propertiesFile) {
      this.file = Objects.requireNonNull(propertiesFile, "propertiesFile");
      return this;
    }

    /** The process environment (or a test's map); only {@code INFINI_} variables are read. */
    public Builder environment(Map<String, String> env) {
      this.environment = Map.copyOf(env);
      return this;
    }

    /** One command-line override; later calls for the same key win. */
    public Builder override(String key, String value) {
      overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public Builder overrides(Map<String, String> keyValues) {
      keyValues.forEach(this::override);
      return this;
    }

    /**
     * Merges the sources and validates every value.
     *
     * @throws ConfigException naming the key and its source, for an unknown key or a bad value
     * @throws java.io.UncheckedIOException if the file cannot be read
     */
    public AppConfig build() {
      Map<String, String> raw = new LinkedHashMap<>();
      Map<String, String> origins = new LinkedHashMap<>();
      for (String key : DEFINITION.names()) {
        origins.put(key, "default");
      }
      if (file != null) {
        String origin = "file " + file;
        readFile(file).forEach((k, v) -> put(raw, origins, k, v, origin));
      }
      new TreeMap<>(environment)
          .forEach(
              (name, value) -> {
                if (name.startsWith(ENV_PREFIX) && !RESERVED_ENV.contains(name)) {
                  put(raw, origins, keyOfEnv(name), value, "env " + name);
                }
              });
      overrides.forEach((k, v) -> put(raw, origins, k, v, "command line"));

      Map<String, String> defined = new LinkedHashMap<>();
      Map<String, String> streams = new LinkedHashMap<>();
      Map<String, String> kafka = new LinkedHashMap<>();
      raw.forEach(
          (k, v) -> {
            if (k.startsWith(STREAMS_PREFIX)) {
              streams.put(k.substring(STREAMS_PREFIX.length()), v);
            } else if (k.startsWith(KAFKA_PREFIX)) {
              String name = k.substring(KAFKA_PREFIX.length());
              if (KAFKA_RESERVED.contains(name)) {
                throw new ConfigException(
                    "'"
                        + k
                        + "' (from "
                        + origins.get(k)
                        + ") cannot be set: "
                        + (name.equals("bootstrap.servers")
                            ? "use the key bootstrap.servers (or --bootstrap-servers)"
                            : "the application sets " + name + " itself"));
              }
              kafka.put(name, v);
            } else {
              defined.put(k, v);
            }
          });
      Map<String, Object> parsed = new LinkedHashMap<>();
      for (ConfigDef.ConfigKey key : DEFINITION.configKeys().values()) {
        String value = defined.get(key.name);
        try {
          Object v =
              value == null ? key.defaultValue : ConfigDef.parseType(key.name, value, key.type);
          if (key.validator != null) {
            key.validator.ensureValid(key.name, v);
          }
          parsed.put(key.name, v);
        } catch (ConfigException e) {
          throw new ConfigException(
              "bad value for '"
                  + key.name
                  + "' (from "
                  + origins.get(key.name)
                  + "): "
                  + e.getMessage());
        }
      }
      return new AppConfig(parsed, streams, kafka, origins);
    }

    private static void put(
        Map<String, String> raw,
        Map<String, String> origins,
        String key,
        String value,
        String origin) {
      if (!DEFINITION.names().contains(key) && !isStreamsKey(key) && !isKafkaKey(key)) {
        throw new ConfigException(
            "unknown configuration key '"
                + key
                + "' (from "
                + origin
                + "). Known keys: "
                + String.join(", ", new TreeMap<>(DEFINITION.configKeys()).keySet())
                + "; Kafka client settings (every client) pass through with the prefix '"
                + KAFKA_PREFIX
                + "', Kafka Streams settings with the prefix '"
                + STREAMS_PREFIX
                + "'.");
      }
      raw.put(key, value);
      origins.put(key, origin);
    }

    private static boolean isStreamsKey(String key) {
      return key.startsWith(STREAMS_PREFIX) && key.length() > STREAMS_PREFIX.length();
    }

    private static boolean isKafkaKey(String key) {
      return key.startsWith(KAFKA_PREFIX) && key.length() > KAFKA_PREFIX.length();
    }

    /**
     * Defined keys map by {@link ConfigKeys#envName}; {@code INFINI_STREAMS_A_B} maps to {@code
     * streams.a.b}, {@code INFINI_KAFKA_A_B} to {@code kafka.a.b}.
     */
    private static String keyOfEnv(String name) {
      for (String key : DEFINITION.names()) {
        if (envName(key).equals(name)) {
          return key;
        }
      }
      if (name.startsWith(STREAMS_ENV_PREFIX) && name.length() > STREAMS_ENV_PREFIX.length()) {
        return STREAMS_PREFIX
            + name.substring(STREAMS_ENV_PREFIX.length())
                .toLowerCase(Locale.ROOT)
                .replace('_', '.');
      }
      if (name.startsWith(KAFKA_ENV_PREFIX) && name.length() > KAFKA_ENV_PREFIX.length()) {
        return KAFKA_PREFIX
            + name.substring(KAFKA_ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
      }
      return "<env " + name + ">"; // rejected as unknown by put()
    }

    private static Map<String, String> readFile(Path path) {
      Properties props = new Properties();
      try (Reader in = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
        props.load(in);
      } catch (NoSuchFileException e) {
        throw new ConfigException("configuration file not found: " + path);
      } catch (IOException e) {
        throw new ConfigException("cannot read configuration file " + path + ": " + e);
      }
      Map<String, String> out = new TreeMap<>();
      props.stringPropertyNames().forEach(k -> out.put(k.trim(), props.getProperty(k).trim()));
      return out;
    }
  }

  // ---- typed accessors ------------------------------------------------------------------------

  /** Empty when the embedded broker is wanted. */
  public String bootstrapServers() {
    return string(BOOTSTRAP_SERVERS).trim();
  }

  public boolean useEmbeddedBroker() {
    return bootstrapServers().isEmpty();
  }

  public String applicationId() {
    return string(APPLICATION_ID);
  }

  /** {@code state.dir}, normalised (relative paths stay relative to the working directory). */
  public Path stateDir() {
    return Path.of(string(STATE_DIR)).normalize();
  }

  /** {@code embedded.broker.dir}, normalised. */
  public Path embeddedBrokerDir() {
    return Path.of(string(EMBEDDED_BROKER_DIR)).normalize();
  }

  public String processingGuarantee() {
    return string(PROCESSING_GUARANTEE);
  }

  /** {@code instance.id}; empty means the host name. */
  public String instanceId() {
    return string(INSTANCE_ID);
  }

  public int numStreamThreads() {
    return (Integer) values.get(NUM_STREAM_THREADS);
  }

  public long commitIntervalMs() {
    return (Long) values.get(COMMIT_INTERVAL_MS);
  }

  public String inputTopic() {
    return string(TOPIC_INPUT);
  }

  public String outputTopic() {
    return string(TOPIC_OUTPUT);
  }

  public String deadLetterTopic() {
    return string(TOPIC_DEAD_LETTER);
  }

  public int topicPartitions() {
    return (Integer) values.get(TOPIC_PARTITIONS);
  }

  public short topicReplicationFactor() {
    return (Short) values.get(TOPIC_REPLICATION_FACTOR);
  }

  /** {@code retention.ms} of the input and output topics {@code run} creates; -1: forever. */
  public long topicRetentionMs() {
    return (Long) values.get(TOPIC_RETENTION_MS);
  }

  /** {@code retention.ms} of the dead-letter topic {@code run} creates; -1: forever. */
  public long topicDeadLetterRetentionMs() {
    return (Long) values.get(TOPIC_DEAD_LETTER_RETENTION_MS);
  }

  /** Whether {@code run} may raise the {@code max.message.bytes} of existing topics. */
  public boolean topicAlterLimits() {
    return (Boolean) values.get(TOPIC_ALTER_LIMITS);
  }

  /** Whether input events go through the repartition topic by stream id before the processor. */
  public boolean inputRepartition() {
    return (Boolean) values.get(INPUT_REPARTITION);
  }

  /** Empty: the shipped model (or random default weights when none ships). */
  public String modelPath() {
    return string(MODEL_PATH).trim();
  }

  /**
   * The entries of {@code model.previous}: checkpoint folders, or folders of checkpoint folders;
   * empty: none.
   */
  public List<String> modelPrevious() {
    @SuppressWarnings("unchecked")
    List<String> entries = (List<String>) values.get(MODEL_PREVIOUS);
    return entries.stream().map(String::trim).filter(e -> !e.isEmpty()).toList();
  }

  /** What happens to a stream another model than the serving one wrote. */
  public Models.UpgradePolicy modelUpgradePolicy() {
    return Models.UpgradePolicy.parse(string(MODEL_UPGRADE_POLICY));
  }

  /** {@code ""}, {@code "default"} or {@code "tiny"}. */
  public String modelRandom() {
    return string(MODEL_RANDOM);
  }

  public long modelSeed() {
    return (Long) values.get(MODEL_SEED);
  }

  public int eventMaxTextBytes() {
    return (Integer) values.get(EVENT_MAX_TEXT_BYTES);
  }

  public boolean surpriseEnabled() {
    return (Boolean) values.get(SURPRISE_ENABLED);
  }

  public long surpriseCacheBytes() {
    return (Long) values.get(SURPRISE_CACHE_BYTES);
  }

  public long sessionTtlMs() {
    return (Long) values.get(SESSION_TTL_MS);
  }

  public int eventMaxCrashes() {
    return (Integer) values.get(EVENT_MAX_CRASHES);
  }

  public int generateMaxTokensDefault() {
    return (Integer) values.get(GENERATE_MAX_TOKENS_DEFAULT);
  }

  public int generateMaxTokensLimit() {
    return (Integer) values.get(GENERATE_MAX_TOKENS_LIMIT);
  }

  public int absorbChunkTokens() {
    return (Integer) values.get(ABSORB_CHUNK_TOKENS);
  }

  public int streamIdMaxBytes() {
    return (Integer) values.get(STREAM_ID_MAX_BYTES);
  }

  /** {@code http.enabled}: whether {@code run} starts the operations server. */
  public boolean httpEnabled() {
    return (Boolean) values.get(HTTP_ENABLED);
  }

  /** {@code http.bind}, trimmed. */
  public String httpBind() {
    return string(HTTP_BIND).trim();
  }

  /** {@code http.port}; 0 means any free port. */
  public int httpPort() {
    return (Integer) values.get(HTTP_PORT);
  }

  /** {@code http.advertised.address} ({@code host:port}), or empty to derive it. */
  public String httpAdvertisedAddress() {
    return string(HTTP_ADVERTISED_ADDRESS).trim();
  }

  /**
   * The operations server's bearer token: {@code http.auth.token}, or the first line of the file
   * {@code http.auth.token.file} (surrounding whitespace stripped), read on every call; empty when
   * neither is set (no authentication).
   *
   * @throws ConfigException naming the key if both are set, or the file cannot be read or holds no
   *     token
   */
  public String httpAuthToken() {
    String token = string(HTTP_AUTH_TOKEN).strip();
    String file = string(HTTP_AUTH_TOKEN_FILE).strip();
    if (file.isEmpty()) {
      return token;
    }
    if (!token.isEmpty()) {
      throw new ConfigException(
          HTTP_AUTH_TOKEN + " and " + HTTP_AUTH_TOKEN_FILE + " are both set: set one of them");
    }
    String text;
    try {
      text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException(
          HTTP_AUTH_TOKEN_FILE, file, "cannot read the file (" + e.getMessage() + ")");
    }
    String first = text.strip().lines().findFirst().orElse("").strip();
    if (first.isEmpty()) {
      throw new ConfigException(HTTP_AUTH_TOKEN_FILE, file, "the file holds no token");
    }
    return first;
  }

  /** {@code http.auth.metrics}: whether {@code /metrics} requires the token when one is set. */
  public boolean httpAuthMetrics() {
    return (Boolean) values.get(HTTP_AUTH_METRICS);
  }

  /** {@code http.tls.reload.seconds}: how often the key store is checked for changes; 0 never. */
  public int httpTlsReloadSeconds() {
    return (Integer) values.get(HTTP_TLS_RELOAD_SECONDS);
  }

  /** A key or trust store: its file, password and type. */
  public record Store(String path, char[] password, String type) {}

  /** {@code http.tls.keystore.*}; empty when the operations server speaks plain HTTP. */
  public java.util.Optional<Store> httpTlsKeystore() {
    return store(HTTP_TLS_KEYSTORE_PATH, HTTP_TLS_KEYSTORE_PASSWORD, HTTP_TLS_KEYSTORE_TYPE);
  }

  /** {@code http.tls.truststore.*}; empty for the JVM's default trust store. */
  public java.util.Optional<Store> httpTlsTruststore() {
    return store(HTTP_TLS_TRUSTSTORE_PATH, HTTP_TLS_TRUSTSTORE_PASSWORD, HTTP_TLS_TRUSTSTORE_TYPE);
  }

  private java.util.Optional<Store> store(String pathKey, String passwordKey, String typeKey) {
    String path = string(pathKey).strip();
    if (path.isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        new Store(path, string(passwordKey).toCharArray(), string(typeKey).strip()));
  }

  /**
   * This configuration with {@code key} set to {@code value} by a command (origin {@code "set by
   * the command"}), validated like any other source.
   *
   * @throws ConfigException for an unknown key or a bad value
   */
  public AppConfig with(String key, String value) {
    ConfigDef.ConfigKey def = DEFINITION.configKeys().get(key);
    if (def == null) {
      throw new ConfigException("not a defined key: " + key);
    }
    Object v = ConfigDef.parseType(key, value, def.type);
    if (def.validator != null) {
      def.validator.ensureValid(key, v);
    }
    Map<String, Object> newValues = new LinkedHashMap<>(values);
    newValues.put(key, v);
    Map<String, String> newOrigins = new LinkedHashMap<>(origins);
    newOrigins.put(key, "set by the command");
    return new AppConfig(newValues, streamsOverrides, kafkaClientProperties, newOrigins);
  }

  /** Kafka Streams settings given as {@code streams.*} keys, prefix removed. */
  public Map<String, String> streamsOverrides() {
    return streamsOverrides;
  }

  /**
   * Kafka client settings given as {@code kafka.*} keys, prefix removed: applied to every Kafka
   * client the application creates (Kafka Streams' {@code streams.*} overrides win over them
   * there).
   */
  public Map<String, String> kafkaClientProperties() {
    return kafkaClientProperties;
  }

  /** Where each key's value came from ("default", "file …", "env …", "command line"). */
  public Map<String, String> origins() {
    return origins;
  }

  /** The parsed value of a defined key. */
  public Object get(String key) {
    if (!values.containsKey(key)) {
      throw new IllegalArgumentException("not a defined key: " + key);
    }
    return values.get(key);
  }

  private String string(String key) {
    return (String) values.get(key);
  }

  @Override
  public String toString() {
    Map<String, Object> all = new LinkedHashMap<>();
    values.forEach((k, v) -> all.put(k, v instanceof String text ? maskIfSecret(k, text) : v));
    kafkaClientProperties.forEach(
        (k, v) -> all.put(KAFKA_PREFIX + k, maskIfSecret(KAFKA_PREFIX + k, v)));
    streamsOverrides.forEach(
        (k, v) -> all.put(STREAMS_PREFIX + k, maskIfSecret(STREAMS_PREFIX + k, v)));
    return "AppConfig" + all;
  }
}
