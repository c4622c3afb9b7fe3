package io.infinistreams.app.config;

import io.infinistreams.topology.Models;
import io.infinistreams.topology.TopologySettings;
import java.util.List;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigException;

/**
 * Every configuration key of the application, defined once: name, type, default, validation and
 * doc. {@link AppConfig} parses against {@link #DEFINITION}; {@link ConfigDocs} writes the table in
 * {@code docs/configuration.md} from it.
 *
 * <p>Keys under {@link #STREAMS_PREFIX} and {@link #KAFKA_PREFIX} are not defined here: they pass
 * through with the prefix removed, {@code streams.*} to Kafka Streams only (e.g. {@code
 * streams.cache.max.bytes.buffering}), {@code kafka.*} to every Kafka client the application
 * creates (e.g. {@code kafka.security.protocol}).
 */
public final class ConfigKeys {

  /** Prefix of keys passed through to Kafka Streams (prefix removed). */
  public static final String STREAMS_PREFIX = "streams.";

  /**
   * Prefix of keys passed to every Kafka client the application creates (prefix removed): Kafka
   * Streams and its clients, the admin client that creates topics, and the producers, consumers and
   * admin clients of the client commands. For security settings ({@code kafka.security.protocol},
   * {@code kafka.sasl.*}, {@code kafka.ssl.*}) and other connection settings.
   */
  public static final String KAFKA_PREFIX = "kafka.";

  /** Prefix of the environment variables that override keys. */
  public static final String ENV_PREFIX = "INFINI_";

  // Kafka
  public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
  public static final String APPLICATION_ID = "application.id";
  public static final String STATE_DIR = "state.dir";
  public static final String EMBEDDED_BROKER_DIR = "embedded.broker.dir";
  public static final String PROCESSING_GUARANTEE = "processing.guarantee";
  public static final String NUM_STREAM_THREADS = "num.stream.threads";
  public static final String COMMIT_INTERVAL_MS = "commit.interval.ms";
  public static final String INSTANCE_ID = "instance.id";

  // Topics
  public static final String TOPIC_INPUT = "topic.input";
  public static final String TOPIC_OUTPUT = "topic.output";
  public static final String TOPIC_DEAD_LETTER = "topic.dead.letter";
  public static final String TOPIC_PARTITIONS = "topic.partitions";
  public static final String TOPIC_REPLICATION_FACTOR = "topic.replication.factor";
  public static final String TOPIC_RETENTION_MS = "topic.retention.ms";
  public static final String TOPIC_DEAD_LETTER_RETENTION_MS = "topic.dead.letter.retention.ms";
  public static final String TOPIC_ALTER_LIMITS = "topic.alter.limits";
  public static final String INPUT_REPARTITION = "input.repartition";

  // Model
  public static final String MODEL_PATH = "model.path";
  public static final String MODEL_PREVIOUS = "model.previous";
  public static final String MODEL_UPGRADE_POLICY = "model.upgrade.policy";
  public static final String MODEL_RANDOM = "model.random";
  public static final String MODEL_SEED = "model.seed";

  // Events
  public static final String EVENT_MAX_TEXT_BYTES = "event.max.text.bytes";
  public static final String SURPRISE_ENABLED = "surprise.enabled";
  public static final String SURPRISE_CACHE_BYTES = "surprise.cache.bytes";
  public static final String GENERATE_MAX_TOKENS_DEFAULT = "generate.max.tokens.default";
  public static final String GENERATE_MAX_TOKENS_LIMIT = "generate.max.tokens.limit";
  public static final String ABSORB_CHUNK_TOKENS = "absorb.chunk.tokens";
  public static final String STREAM_ID_MAX_BYTES = "stream.id.max.bytes";
  public static final String SESSION_TTL_MS = "session.ttl.ms";
  public static final String EVENT_MAX_CRASHES = "event.max.crashes";

  // Operations HTTP server
  public static final String HTTP_ENABLED = "http.enabled";
  public static final String HTTP_BIND = "http.bind";
  public static final String HTTP_PORT = "http.port";
  public static final String HTTP_ADVERTISED_ADDRESS = "http.advertised.address";
  public static final String HTTP_AUTH_TOKEN = "http.auth.token";
  public static final String HTTP_AUTH_TOKEN_FILE = "http.auth.token.file";
  public static final String HTTP_AUTH_METRICS = "http.auth.metrics";
  public static final String HTTP_TLS_KEYSTORE_PATH = "http.tls.keystore.path";
  public static final String HTTP_TLS_KEYSTORE_PASSWORD = "http.tls.keystore.password";
  public static final String HTTP_TLS_KEYSTORE_TYPE = "http.tls.keystore.type";
  public static final String HTTP_TLS_TRUSTSTORE_PATH = "http.tls.truststore.path";
  public static final String HTTP_TLS_TRUSTSTORE_PASSWORD = "http.tls.truststore.password";
  public static final String HTTP_TLS_TRUSTSTORE_TYPE = "http.tls.truststore.type";
  public static final String HTTP_TLS_RELOAD_SECONDS = "http.tls.reload.seconds";

  /** The topology's own defaults, so each default below has one source. */
  private static final TopologySettings TOPOLOGY = TopologySettings.defaults();

  /** The definitions, in the order the docs list them. */
  public static final ConfigDef DEFINITION =
      new ConfigDef()
          .define(
              BOOTSTRAP_SERVERS,
              Type.STRING,
              "",
              Importance.HIGH,
              "Kafka brokers, host:port[,host:port...]. Empty: `run` and `demo` start an embedded "
                  + "single-node KRaft broker in the same JVM with its data under "
                  + "`embedded.broker.dir`, and the client commands (`feed`, `ask`, `chat`) connect "
                  + "to the embedded broker of a `run` on this machine (it publishes its address in "
                  + "`<embedded.broker.dir>/bootstrap.servers`).")
          .define(
              APPLICATION_ID,
              Type.STRING,
              "infini-streams",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Kafka Streams application id: consumer group, prefix of the changelog topics and "
                  + "name of the local state folder. Changing it starts every stream from empty memory.")
          .define(
              STATE_DIR,
              Type.STRING,
              "./data/state",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Folder of the local RocksDB stores (the per-key memory). Persistent: never a temp dir "
                  + "and never wiped on start; if deleted, the stores are restored from the changelogs.")
          .define(
              EMBEDDED_BROKER_DIR,
              Type.STRING,
              "./data/kafka",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Folder of the embedded broker's data (used only when `bootstrap.servers` is empty): "
                  + "formatted on first use and reopened later, so topics, offsets and changelogs "
                  + "survive a restart. One broker per folder at a time.")
          .define(
              PROCESSING_GUARANTEE,
              Type.STRING,
              "exactly_once_v2",
              ValidString.in("exactly_once_v2"),
              Importance.MEDIUM,
              "Kafka Streams processing guarantee; `exactly_once_v2` is the only accepted value: "
                  + "the memory, the output event and the input offset commit together. One event "
                  + "writes a session record and up to layers x heads memory records, so under "
                  + "`at_least_once` a crash could leave a stream's heads and session disagreeing "
                  + "(see docs/reliability.md). A `streams.processing.guarantee` override is "
                  + "rejected as well.")
          .define(
              NUM_STREAM_THREADS,
              Type.INT,
              1,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Stream threads of this instance; each runs the model on one core for its partitions.")
          .define(
              INSTANCE_ID,
              Type.STRING,
              "",
              ConfigDef.LambdaValidator.with(
                  (name, value) -> {
                    String v = (String) value;
                    if (v == null || !v.matches("[A-Za-z0-9._-]{0,64}")) {
                      throw new ConfigException(
                          name, value, "must be at most 64 of A-Z a-z 0-9 . _ -, or empty");
                    }
                  },
                  () -> "(empty) or up to 64 of [A-Za-z0-9._-]"),
              Importance.MEDIUM,
              "Name of this instance, stable across restarts; empty: the host name. With "
                  + "`application.id` and the absolute `state.dir` it makes the static consumer "
                  + "group membership (`group.instance.id`), so an instance restarted after a crash "
                  + "takes its partitions back at once instead of waiting out the dead member's "
                  + "session timeout. Two instances of one application must not share a value "
                  + "with the same state folder path (the second is fenced).")
          .define(
              COMMIT_INTERVAL_MS,
              Type.LONG,
              100L,
              Range.atLeast(1),
              Importance.LOW,
              "How often Kafka Streams commits (and, under exactly-once, how long an output waits "
                  + "before consumers with read_committed see it).")
          .define(
              TOPIC_INPUT,
              Type.STRING,
              TOPOLOGY.inputTopic(),
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of the input events (APPEND, GENERATE, RESET), keyed by stream id.")
          .define(
              TOPIC_OUTPUT,
              Type.STRING,
              TOPOLOGY.outputTopic(),
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of the output events, one per applied input event, keyed by stream id.")
          .define(
              TOPIC_DEAD_LETTER,
              Type.STRING,
              TOPOLOGY.deadLetterTopic(),
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Topic of rejected input events, unchanged, with the reason in a header.")
          .define(
              TOPIC_PARTITIONS,
              Type.INT,
              3,
              Range.atLeast(1),
              Importance.LOW,
              "Partitions of the input, output and dead-letter topics when `run` creates them "
                  + "(existing topics are left as they are). Bounds how many threads and instances share the work.")
          .define(
              TOPIC_REPLICATION_FACTOR,
              Type.SHORT,
              (short) 1,
              Range.atLeast(1),
              Importance.LOW,
              "Replication factor of the topics `run` creates, and of the changelog topics.")
          .define(
              TOPIC_RETENTION_MS,
              Type.LONG,
              7L * 24 * 60 * 60 * 1000,
              Range.atLeast(-1),
              Importance.MEDIUM,
              "`retention.ms` of the input and output topics when `run` creates them (7 days, "
                  + "Kafka's default; -1: keep forever). Existing topics keep theirs. A stream's "
                  + "memory lives in the changelogs, which are compacted, so it outlives the "
                  + "input records.")
          .define(
              TOPIC_DEAD_LETTER_RETENTION_MS,
              Type.LONG,
              30L * 24 * 60 * 60 * 1000,
              Range.atLeast(-1),
              Importance.LOW,
              "`retention.ms` of the dead-letter topic when `run` creates it (30 days, longer "
                  + "than the input's so rejected events can be inspected; -1: keep forever). An "
                  + "existing topic keeps its own.")
          .define(
              TOPIC_ALTER_LIMITS,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              "Whether `run` may raise (never lower) the `max.message.bytes` of existing input, "
                  + "output and dead-letter topics that are too small for `event.max.text.bytes` "
                  + "(needs the AlterConfigs permission on them). `false`: `run` stops at start-up "
                  + "with an error naming the topic and the limit it needs.")
          .define(
              INPUT_REPARTITION,
              Type.BOOLEAN,
              TOPOLOGY.repartitionInput(),
              Importance.MEDIUM,
              "Route every input event through the internal topic "
                  + "`<application.id>-infini-input-by-key-repartition` (Kafka Streams creates it "
                  + "with the input's partition count), partitioned by murmur2 of the stream id, "
                  + "before the processor: a stream's state is then in one place whatever "
                  + "partitioner its producers use (a Java client's murmur2, librdkafka's CRC32 "
                  + "`consistent_random`, ...). `false`: the processor reads the input topic "
                  + "directly, saving one topic hop per event, and every producer must partition by "
                  + "murmur2 of the key bytes (a Java client's default partitioner); a stream "
                  + "written with another partitioner is then split into separate states. Before "
                  + "switching from `true` to `false`, stop the producers and let the processor "
                  + "catch up: events still in the repartition topic would not be read "
                  + "(docs/streaming.md).")
          .define(
              MODEL_PATH,
              Type.STRING,
              "",
              Importance.HIGH,
              "Checkpoint folder of the serving model (`model.safetensors` + `manifest.json`): the "
                  + "model of every new stream, and of a stream after its RESET. Empty: the "
                  + "checkpoint shipped on the classpath (`InfiniModel.loadDefault()`), which falls "
                  + "back to random untrained weights of the default shape while none ships.")
          .define(
              MODEL_PREVIOUS,
              Type.LIST,
              "",
              Importance.MEDIUM,
              "Previous models kept loaded to continue the streams they wrote, comma-separated; "
                  + "only with `model.upgrade.policy=serve`. Each entry is a checkpoint folder, or "
                  + "a folder of checkpoint folders (every sub-folder holding a `manifest.json` is "
                  + "loaded, but the one `model.path` names). `run` stops at start with one line "
                  + "if a checkpoint does not load or two loaded models (the serving one included) "
                  + "have the same fingerprint. Empty: none (docs/operations.md, \"Upgrading a "
                  + "model\").")
          .define(
              MODEL_UPGRADE_POLICY,
              Type.STRING,
              Models.UpgradePolicy.DEAD_LETTER.configName(),
              ValidString.in(
                  Models.UpgradePolicy.DEAD_LETTER.configName(),
                  Models.UpgradePolicy.SERVE.configName(),
                  Models.UpgradePolicy.RESET.configName()),
              Importance.MEDIUM,
              "What happens to a stream whose stored state another model than the serving one "
                  + "wrote. `dead-letter`: its events are refused (`FINGERPRINT_MISMATCH`) until a "
                  + "RESET or IMPORT pinned to the serving model. `serve`: the model that wrote it "
                  + "continues it if it is loaded (`model.previous`), else as `dead-letter`. "
                  + "`reset`: its next applicable event drops the old state (tombstones, as a "
                  + "RESET) and is applied to a fresh stream under the serving model; the output "
                  + "carries the header `infini.context-reset-from` (the old model's fingerprint). "
                  + "New streams always get the serving model.")
          .define(
              MODEL_RANDOM,
              Type.STRING,
              "",
              ConfigDef.LambdaValidator.with(
                  (name, value) -> {
                    if (!List.of("", "default", "tiny").contains(value)) {
                      throw new ConfigException(name, value, "must be empty, default or tiny");
                    }
                  },
                  () -> "(empty), default, tiny"),
              Importance.LOW,
              "Use randomly initialised weights of this shape (`default` or `tiny`) drawn from "
                  + "`model.seed` instead of a checkpoint; for tests and benchmarks. Empty: off.")
          .define(
              MODEL_SEED,
              Type.LONG,
              42L,
              Importance.LOW,
              "Seed of the random weights of `model.random`.")
          .define(
              EVENT_MAX_TEXT_BYTES,
              Type.INT,
              TOPOLOGY.maxEventTextBytes(),
              Range.between(16, 1 << 20),
              Importance.MEDIUM,
              "Largest text (UTF-8 bytes) of one input event; larger events go to the dead-letter "
                  + "topic. `feed` and `demo` cut documents into chunks of at most this size. "
                  + "Sets the topics' `max.message.bytes` when `run` creates them: the input's and "
                  + "output's the larger of Kafka's default (1 MiB + 12) and this plus 64 KiB and "
                  + "`stream.id.max.bytes` (the Avro envelope, key and headers), the dead-letter "
                  + "topic's 64 KiB more; the client commands' producers get a matching "
                  + "`max.request.size`.")
          .define(
              SURPRISE_ENABLED,
              Type.BOOLEAN,
              TOPOLOGY.computeSurprise(),
              Importance.LOW,
              "Compute the per-event surprise (bits per byte of appended text). Costs a forward "
                  + "pass over the event's tokens (over its stream's whole open segment as well "
                  + "when that is not in `surprise.cache.bytes`).")
          .define(
              SURPRISE_CACHE_BYTES,
              Type.LONG,
              TOPOLOGY.openCacheBytes(),
              Range.atLeast(0),
              Importance.LOW,
              "Native memory per instance that keeps recently active streams' open segments "
                  + "computed between events (least recently used go first), so that scoring an "
                  + "APPEND costs its own tokens. A stream holds up to 4 bytes x layers x "
                  + "(C+N) x heads x (dKey+dValue), about 0.5 MB for a model of 3 layers, 4 heads, "
                  + "K = V = 32, C+N = 160. Losing an entry costs time, never a result. 0 turns "
                  + "it off.")
          .define(
              SESSION_TTL_MS,
              Type.LONG,
              TOPOLOGY.sessionTtlMillis(),
              Range.atLeast(0),
              Importance.MEDIUM,
              "Remove a stream to which no event was applied for this many milliseconds of wall "
                  + "clock: its session and memories are deleted (tombstones in the changelogs) "
                  + "and a later event for its key starts a new stream at seq 1. Swept in the "
                  + "background, 10,000 sessions per task every tenth of the time-to-live (1 s to "
                  + "1 min). 0 keeps every stream forever.")
          .define(
              EVENT_MAX_CRASHES,
              Type.INT,
              TOPOLOGY.maxCrashesPerEvent(),
              Range.atLeast(0),
              Importance.MEDIUM,
              "An input record that was being applied when the process died or its stream "
                  + "thread failed (a native crash, an out-of-memory error, kill -9) this many "
                  + "times is dead-lettered (`CRASH_LOOP`) the next time it is read, instead of "
                  + "stopping the instance again; its stream's seq stays expected. Counted per "
                  + "instance in a file under `state.dir`. 0 retries such a record on every "
                  + "restart.")
          .define(
              GENERATE_MAX_TOKENS_DEFAULT,
              Type.INT,
              64,
              Range.atLeast(0),
              Importance.LOW,
              "Most new tokens `ask` and `chat` request when `--max-tokens` is not given.")
          .define(
              GENERATE_MAX_TOKENS_LIMIT,
              Type.INT,
              TOPOLOGY.maxNewTokensLimit(),
              Range.atLeast(0),
              Importance.LOW,
              "Largest `maxNewTokens` a GENERATE event may ask for; above it the event goes to "
                  + "the dead-letter topic.")
          .define(
              ABSORB_CHUNK_TOKENS,
              Type.INT,
              TOPOLOGY.absorbChunkTokens(),
              Range.atLeast(1),
              Importance.LOW,
              "Tokens per model call when absorbing an event's text. Bounds native memory and the "
                  + "length of one call; the resulting memory does not depend on it.")
          .define(
              STREAM_ID_MAX_BYTES,
              Type.INT,
              TOPOLOGY.maxStreamIdBytes(),
              Range.atLeast(1),
              Importance.LOW,
              "Longest stream id (record key) in UTF-8 bytes; events with longer keys go to the "
                  + "dead-letter topic.")
          .define(
              HTTP_ENABLED,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Start the operations HTTP server with `run`: Prometheus metrics (`/metrics`), health "
                  + "probes (`/health/live`, `/health/ready`) and the session API (`/sessions`); see "
                  + "docs/operations.md. `demo` and `bench-e2e` never start it.")
          .define(
              HTTP_BIND,
              Type.STRING,
              "127.0.0.1",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Address the operations server listens on. The default answers this machine only; "
                  + "`0.0.0.0` (or `::`) listens on every interface, for scrapers and other "
                  + "instances on other hosts. Anything but loopback should go with a token "
                  + "(`http.auth.token.file`): `run` warns at start otherwise.")
          .define(
              HTTP_PORT,
              Type.INT,
              8480,
              Range.between(0, 65535),
              Importance.MEDIUM,
              "Port of the operations server; 0 takes any free port (`run` prints the URL).")
          .define(
              HTTP_ADVERTISED_ADDRESS,
              Type.STRING,
              "",
              ConfigDef.LambdaValidator.with(
                  (name, value) -> {
                    String v = (String) value;
                    if (v == null || !(v.isEmpty() || validHostPort(v))) {
                      throw new ConfigException(name, value, "must be empty or host:port");
                    }
                  },
                  () -> "(empty) or host:port"),
              Importance.LOW,
              "host:port at which the other instances of the application reach this instance's "
                  + "operations server; Kafka Streams' `application.server`, which routes a "
                  + "session request to the instance that owns the key. Empty: `http.bind` and the "
                  + "port listened on, or the host name when `http.bind` listens on every "
                  + "interface.")
          .define(
              HTTP_AUTH_TOKEN_FILE,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "File holding the operations server's bearer token (its first line; surrounding "
                  + "whitespace ignored). Set (or `http.auth.token`): every endpoint but "
                  + "`/health/live` and `/health/ready` (and `/metrics` with "
                  + "`http.auth.metrics=false`) requires `Authorization: Bearer <token>`, "
                  + "instances pass it along when they route a request to the key's owner, and "
                  + "the client commands send it to `--ops-url`. Every instance needs the same "
                  + "token. Empty: no authentication.")
          .define(
              HTTP_AUTH_TOKEN,
              Type.STRING,
              "",
              Importance.LOW,
              "The bearer token itself, as `http.auth.token.file` (not both); hidden by "
                  + "`config show`. Prefer the file or the environment variable: a command line "
                  + "is visible to every user of the machine.")
          .define(
              HTTP_AUTH_METRICS,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              "With a token: whether `/metrics` requires it too (Prometheus sends it with "
                  + "`authorization: {credentials_file: ...}` in the scrape config). `false` leaves "
                  + "`/metrics` open. No effect without a token.")
          .define(
              HTTP_TLS_KEYSTORE_PATH,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Key store (`http.tls.keystore.type`) holding the operations server's private key "
                  + "and certificate chain. Set: the server speaks HTTPS only (TLS 1.2 and 1.3), "
                  + "instances route requests to each other over HTTPS, and the client commands' "
                  + "default `--ops-url` is `https://`. The certificate must name the address "
                  + "the other instances and the clients use (`http.advertised.address`, "
                  + "`--ops-url`). Every instance needs TLS on or off alike. Empty: plain HTTP.")
          .define(
              HTTP_TLS_KEYSTORE_PASSWORD,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Password of `http.tls.keystore.path` and of the key in it; hidden by `config "
                  + "show`.")
          .define(
              HTTP_TLS_KEYSTORE_TYPE,
              Type.STRING,
              "PKCS12",
              Importance.LOW,
              "Type of `http.tls.keystore.path`: `PKCS12` or `JKS`.")
          .define(
              HTTP_TLS_TRUSTSTORE_PATH,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Trust store (`http.tls.truststore.type`) of the certificates this process trusts "
                  + "when it calls an operations server over HTTPS: the other instances (routing "
                  + "a request to the key's owner) and, for the client commands, `--ops-url`. "
                  + "Empty: the JVM's default trust store (public certificate authorities).")
          .define(
              HTTP_TLS_TRUSTSTORE_PASSWORD,
              Type.STRING,
              "",
              Importance.LOW,
              "Password of `http.tls.truststore.path` (empty: none); hidden by `config show`.")
          .define(
              HTTP_TLS_TRUSTSTORE_TYPE,
              Type.STRING,
              "PKCS12",
              Importance.LOW,
              "Type of `http.tls.truststore.path`: `PKCS12` or `JKS`.")
          .define(
              HTTP_TLS_RELOAD_SECONDS,
              Type.INT,
              60,
              Range.between(0, 86400),
              Importance.LOW,
              "How often the operations server checks `http.tls.keystore.path` for a new key and "
                  + "certificate (a renewed certificate written over the file), which new "
                  + "connections then get without a restart, once the file has stayed the same "
                  + "for one check; 0: never (read at start only). A file that cannot be read, or "
                  + "is removed, leaves the previous key served and is logged.");

  private ConfigKeys() {}

  /** {@code host:port} with a non-empty host and a port in 1..65535 ({@code [v6]:port} too). */
  static boolean validHostPort(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      return false;
    }
    String port = value.substring(colon + 1);
    if (!port.chars().allMatch(c -> c >= '0' && c <= '9') || port.length() > 5) {
      return false;
    }
    int p = Integer.parseInt(port);
    return p >= 1 && p <= 65535 && !value.substring(0, colon).isBlank();
  }

  /**
   * Whether the value of {@code key} is a secret that logs and {@code config show} must not print:
   * a key naming a password, a JAAS configuration, a secret, a credential, a token (not a token
   * file), or private key material.
   */
  public static boolean isSecret(String key) {
    String k = key.toLowerCase(java.util.Locale.ROOT);
    return k.contains("password")
        || k.contains("jaas.config")
        || k.contains("secret")
        || k.contains("credential")
        || (k.endsWith("token") && !k.endsWith(".file"))
        || k.endsWith(".key")
        || k.contains("keystore.key")
        || k.contains("private.key");
  }

  /**
   * {@code value}, or {@code [hidden]} if {@code key} {@linkplain #isSecret is secret} and the
   * value is not empty.
   */
  public static String maskIfSecret(String key, String value) {
    return isSecret(key) && value != null && !value.isEmpty() ? "[hidden]" : value;
  }

  /**
   * The environment variable that overrides {@code key}: {@code INFINI_} + upper case, dots to
   * underscores.
   */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
  }
}
