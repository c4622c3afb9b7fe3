package io.infinistreams.app.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppConfigTest {

  @TempDir Path dir;

  private Path file(String content) throws IOException {
    Path f = dir.resolve("infini.properties");
    Files.writeString(f, content);
    return f;
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    AppConfig c = AppConfig.defaults();
    assertEquals("", c.bootstrapServers());
    assertTrue(c.useEmbeddedBroker());
    assertEquals("infini-streams", c.applicationId());
    assertEquals(Path.of("data/state"), c.stateDir());
    assertEquals(Path.of("data/kafka"), c.embeddedBrokerDir());
    assertEquals("exactly_once_v2", c.processingGuarantee());
    assertEquals(1, c.numStreamThreads());
    assertEquals("", c.modelPath());
    assertEquals("default", c.origins().get(ConfigKeys.APPLICATION_ID));
    assertEquals(Map.of(), c.streamsOverrides());
  }

  @Test
  void laterSourcesOverrideEarlierOnes() throws IOException {
    Path f =
        file(
            """
        application.id=from-file
        num.stream.threads=2
        commit.interval.ms=500
        topic.partitions=6
        """);
    AppConfig c =
        AppConfig.builder()
            .file(f)
            .environment(
                Map.of(
                    "INFINI_NUM_STREAM_THREADS", "3",
                    "INFINI_COMMIT_INTERVAL_MS", "700",
                    "PATH", "/usr/bin"))
            .override("commit.interval.ms", "900")
            .build();
    assertEquals("from-file", c.applicationId()); // file only
    assertEquals(3, c.numStreamThreads()); // env over file
    assertEquals(900L, c.commitIntervalMs()); // flag over env and file
    assertEquals(6, c.topicPartitions());
    assertEquals(100L, AppConfig.defaults().commitIntervalMs()); // untouched default
    assertEquals("file " + f, c.origins().get("application.id"));
    assertEquals("env INFINI_NUM_STREAM_THREADS", c.origins().get("num.stream.threads"));
    assertEquals("command line", c.origins().get("commit.interval.ms"));
  }

  @Test
  void streamsPrefixedKeysPassThroughFromEverySource() throws IOException {
    AppConfig c =
        AppConfig.builder()
            .file(file("streams.cache.max.bytes.buffering=0\nstreams.poll.ms=50\n"))
            .environment(
                Map.of(
                    "INFINI_STREAMS_POLL_MS",
                    "60",
                    "INFINI_STREAMS_METRICS_RECORDING_LEVEL",
                    "DEBUG"))
            .override("streams.max.task.idle.ms", "5")
            .build();
    assertEquals(
        Map.of(
            "cache.max.bytes.buffering",
            "0",
            "poll.ms",
            "60",
            "metrics.recording.level",
            "DEBUG",
            "max.task.idle.ms",
            "5"),
        c.streamsOverrides());
  }

  @Test
  void unknownKeysAreRejectedWithTheirSource() throws IOException {
    Path f = file("bootstrap.server=localhost:9092\n");
    ConfigException fromFile =
        assertThrows(ConfigException.class, () -> AppConfig.builder().file(f).build());
    assertTrue(
        fromFile.getMessage().contains("unknown configuration key 'bootstrap.server'"),
        fromFile.getMessage());
    assertTrue(fromFile.getMessage().contains("file " + f), fromFile.getMessage());

    ConfigException fromFlag =
        assertThrows(
            ConfigException.class, () -> AppConfig.builder().override("num.threads", "2").build());
    assertTrue(
        fromFlag.getMessage().contains("'num.threads' (from command line)"), fromFlag.getMessage());

    ConfigException fromEnv =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().environment(Map.of("INFINI_BOOTSTRAP_SERVER", "x")).build());
    assertTrue(fromEnv.getMessage().contains("INFINI_BOOTSTRAP_SERVER"), fromEnv.getMessage());

    assertThrows(
        ConfigException.class, () -> AppConfig.builder().override("streams.", "x").build());
  }

  @Test
  void reservedEnvironmentVariablesAreNotKeys() {
    AppConfig c =
        AppConfig.builder()
            .environment(Map.of("INFINI_JAVA_OPTS", "-Xmx1g", "INFINI_JAR", "/x.jar"))
            .build();
    assertEquals("infini-streams", c.applicationId());
  }

  @Test
  void badValuesNameTheKeyAndSource() {
    ConfigException notANumber =
        assertThrows(
            ConfigException.class,
            () ->
                AppConfig.builder()
                    .environment(Map.of("INFINI_NUM_STREAM_THREADS", "two"))
                    .build());
    assertTrue(notANumber.getMessage().contains("'num.stream.threads'"), notANumber.getMessage());
    assertTrue(
        notANumber.getMessage().contains("env INFINI_NUM_STREAM_THREADS"), notANumber.getMessage());

    ConfigException outOfRange =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().override("num.stream.threads", "0").build());
    assertTrue(outOfRange.getMessage().contains("'num.stream.threads'"), outOfRange.getMessage());

    ConfigException badGuarantee =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().override("processing.guarantee", "exactly_once").build());
    assertTrue(
        badGuarantee.getMessage().contains("'processing.guarantee'"), badGuarantee.getMessage());
    ConfigException atLeastOnce =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().override("processing.guarantee", "at_least_once").build());
    assertTrue(
        atLeastOnce.getMessage().contains("'processing.guarantee'"), atLeastOnce.getMessage());

    assertEquals("", AppConfig.defaults().instanceId(), "empty: the host name");
    assertEquals(
        "node-1.a_b",
        AppConfig.builder().override("instance.id", "node-1.a_b").build().instanceId());
    ConfigException badInstance =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().override("instance.id", "has space").build());
    assertTrue(badInstance.getMessage().contains("'instance.id'"), badInstance.getMessage());
    assertThrows(
        ConfigException.class,
        () -> AppConfig.builder().override("instance.id", "x".repeat(65)).build());

    assertThrows(
        ConfigException.class, () -> AppConfig.builder().override("application.id", "").build());
    assertThrows(
        ConfigException.class, () -> AppConfig.builder().override("model.random", "huge").build());
    assertThrows(
        ConfigException.class,
        () -> AppConfig.builder().override("surprise.enabled", "maybe").build());
  }

  @Test
  void missingFileIsAClearError() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> AppConfig.builder().file(dir.resolve("nope.properties")).build());
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
  }

  @Test
  void envNamesAreUpperCaseWithUnderscores() {
    assertEquals("INFINI_BOOTSTRAP_SERVERS", ConfigKeys.envName("bootstrap.servers"));
    assertEquals("INFINI_TOPIC_DEAD_LETTER", ConfigKeys.envName("topic.dead.letter"));
    AppConfig c =
        AppConfig.builder().environment(Map.of("INFINI_BOOTSTRAP_SERVERS", "kafka:9092")).build();
    assertEquals("kafka:9092", c.bootstrapServers());
  }

  @Test
  void operationsServerKeys() {
    AppConfig d = AppConfig.defaults();
    assertTrue(d.httpEnabled());
    assertEquals("127.0.0.1", d.httpBind());
    assertEquals(8480, d.httpPort());
    assertEquals("", d.httpAdvertisedAddress());
    AppConfig c =
        AppConfig.builder()
            .override("http.port", "0")
            .override("http.bind", "0.0.0.0")
            .override("http.advertised.address", "[::1]:9000")
            .environment(Map.of("INFINI_HTTP_ENABLED", "false"))
            .build();
    assertFalse(c.httpEnabled());
    assertEquals(0, c.httpPort());
    assertEquals("0.0.0.0", c.httpBind());
    assertEquals("[::1]:9000", c.httpAdvertisedAddress());
    for (String bad : new String[] {"host", "host:", ":80", "host:0", "host:65536", "h:x"}) {
      ConfigException e =
          assertThrows(
              ConfigException.class,
              () -> AppConfig.builder().override("http.advertised.address", bad).build(),
              bad);
      assertTrue(e.getMessage().contains("http.advertised.address"), e.getMessage());
    }
    assertThrows(
        ConfigException.class, () -> AppConfig.builder().override("http.port", "70000").build());
  }

  @Test
  void aCommandCanSetAKey() {
    AppConfig c = AppConfig.defaults().with(ConfigKeys.HTTP_ENABLED, "false");
    assertFalse(c.httpEnabled());
    assertEquals("set by the command", c.origins().get(ConfigKeys.HTTP_ENABLED));
    assertTrue(AppConfig.defaults().httpEnabled(), "the original is unchanged");
    assertThrows(ConfigException.class, () -> c.with("no.such.key", "1"));
    assertThrows(ConfigException.class, () -> c.with(ConfigKeys.HTTP_PORT, "-1"));
  }

  @Test
  void theOperationsTokenComesFromTheFileOrTheKeyNeverBoth() throws IOException {
    assertEquals("", AppConfig.defaults().httpAuthToken());
    assertTrue(AppConfig.defaults().httpAuthMetrics());
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, "\n  s3cret \nsecond line ignored\n");
    AppConfig fromFile =
        AppConfig.builder().override(ConfigKeys.HTTP_AUTH_TOKEN_FILE, tokenFile.toString()).build();
    assertEquals("s3cret", fromFile.httpAuthToken());
    assertEquals(
        "plain",
        AppConfig.builder()
            .environment(Map.of("INFINI_HTTP_AUTH_TOKEN", "plain"))
            .build()
            .httpAuthToken());
    ConfigException both =
        assertThrows(
            ConfigException.class,
            () -> fromFile.with(ConfigKeys.HTTP_AUTH_TOKEN, "other").httpAuthToken());
    assertTrue(both.getMessage().contains("both set"), both.getMessage());
    Files.writeString(tokenFile, " \n");
    ConfigException empty = assertThrows(ConfigException.class, fromFile::httpAuthToken);
    assertTrue(empty.getMessage().contains("no token"), empty.getMessage());
    ConfigException missing =
        assertThrows(
            ConfigException.class,
            () ->
                fromFile
                    .with(ConfigKeys.HTTP_AUTH_TOKEN_FILE, dir.resolve("nope").toString())
                    .httpAuthToken());
    assertTrue(missing.getMessage().contains("http.auth.token.file"), missing.getMessage());
    // the token is a secret, the file's name is not
    assertTrue(ConfigKeys.isSecret(ConfigKeys.HTTP_AUTH_TOKEN));
    assertFalse(ConfigKeys.isSecret(ConfigKeys.HTTP_AUTH_TOKEN_FILE));
    assertFalse(
        AppConfig.builder()
            .override(ConfigKeys.HTTP_AUTH_TOKEN, "visible?")
            .build()
            .toString()
            .contains("visible?"));
  }
}
