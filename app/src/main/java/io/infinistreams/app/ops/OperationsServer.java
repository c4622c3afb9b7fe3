package io.infinistreams.app.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.app.client.SessionLookup;
import io.infinistreams.app.client.SnapshotImport;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.KafkaClients;
import io.infinistreams.app.runtime.Topics;
import io.infinistreams.topology.Models;
import io.infinistreams.topology.SessionSnapshots;
import io.infinistreams.topology.TopologySettings;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StreamsMetadata;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations HTTP server of {@code run} (Javalin on Jetty): Prometheus metrics, health probes
 * and the session API. Started before Kafka Streams, so that its address can be Kafka Streams'
 * {@code application.server}; {@link #attach} hands it the streams instance once created.
 *
 * <ul>
 *   <li>{@code GET /metrics}: every metric of {@link InfiniMetrics}, Prometheus text format.
 *   <li>{@code GET /health/live}: 200 unless the streams instance failed or is shutting down.
 *   <li>{@code GET /health/ready}: 200 only while it is RUNNING, else 503.
 *   <li>{@code GET /sessions?limit=N&after=KEY}: keys of the streams this instance hosts.
 *   <li>{@code GET /sessions/{key}/snapshot}: the stream's whole state as a {@code SessionSnapshot}
 *       (Avro), to import under this or another key with an IMPORT event; routed as below.
 *   <li>{@code POST /sessions/{key}/snapshot?seq=N&pin=FINGERPRINT}: checks an exported snapshot
 *       (the body) and sends it to stream {@code key} as an IMPORT event on the input topic, as
 *       {@code infini snapshot import} does ({@link SnapshotImport}); 202 once the topic has it.
 *       The processor applies it like any event: its output event, or {@code GET /sessions/{key}},
 *       shows the result.
 *   <li>{@code GET /sessions/{key}}: one stream's stored state, from whichever instance owns the
 *       key: another instance's answer is fetched and relayed (proxied), never redirected.
 *   <li>{@code DELETE /sessions/{key}?seq=N&pin=FINGERPRINT}: sends stream {@code key} a DELETE
 *       event on the input topic (its next seq, or N if N is that); 202 once the topic has it.
 * </ul>
 *
 * <p>Every body is JSON except {@code /metrics}; errors are {@code {"error": "..."}} with a proper
 * status. With a bearer token ({@code http.auth.token} / {@code http.auth.token.file}) every
 * request but the health probes (and {@code /metrics} with {@code http.auth.metrics=false}) must
 * carry {@code Authorization: Bearer <token>}, else 401; a request relayed to the key's owner
 * carries it too.
 */
public final class OperationsServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OperationsServer.class);

  /** Request header naming the instance that forwarded a session request. */
  public static final String FORWARDED_HEADER = "X-Infini-Forwarded-By";

  /** Response header naming the instance whose stores answered a session request. */
  public static final String SERVED_BY_HEADER = "X-Infini-Served-By";

  /** Keys per page of {@code GET /sessions} without {@code limit}. */
  public static final int DEFAULT_PAGE = 100;

  /** Most keys per page of {@code GET /sessions}. */
  public static final int MAX_PAGE = 1000;

  private static final String SESSIONS_PREFIX = "/sessions/";
  private static final String SNAPSHOT_SUFFIX = "/snapshot";

  /** Media type of an exported {@code SessionSnapshot} (Avro single-object encoding). */
  public static final String SNAPSHOT_MEDIA_TYPE = "application/vnd.infini-streams.snapshot+avro";

  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  private static final Duration PROXY_TIMEOUT = Duration.ofSeconds(30);

  /** How long the seq lookup of an import asks again on 503 (a rebalance). */
  private static final Duration IMPORT_LOOKUP_RETRY = Duration.ofSeconds(15);

  private final Javalin javalin;
  private final AppConfig config;
  private final String token; // empty: no authentication
  private final byte[] tokenDigest; // SHA-256 of the token; null without one
  private final boolean authMetrics;
  private final InfiniMetrics metrics;
  private final TopologySettings settings;
  private final String applicationId;
  private final String fingerprint;
  private final Function<String, Models.Disposition> disposition;
  private final String scheme; // http, or https with a key store (http.tls.*)
  private final HttpClient client; // to the other instances
  private volatile HostInfo advertised;
  private volatile String url;
  private volatile KafkaStreams streams;
  private volatile SessionQueries queries;
  private volatile String bootstrapServers;
  private volatile String selfUrl;

  private OperationsServer(
      AppConfig appConfig,
      String token,
      InfiniMetrics metrics,
      TopologySettings settings,
      String applicationId,
      String fingerprint,
      Function<String, Models.Disposition> disposition,
      ObjectMapper json) {
    this.config = appConfig;
    this.token = token;
    this.tokenDigest = token.isEmpty() ? null : sha256(token);
    this.authMetrics = appConfig.httpAuthMetrics();
    this.metrics = metrics;
    this.settings = settings;
    this.applicationId = applicationId;
    this.fingerprint = fingerprint;
    this.disposition = disposition;
    this.scheme = Tls.scheme(appConfig);
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .sslContext(Tls.clientContext(appConfig))
            .build();
    Optional<SslContextFactory.Server> tls = Tls.serverFactory(appConfig);
    this.javalin =
        Javalin.create(
            config -> {
              tls.ifPresent(
                  factory ->
                      config.jetty.addConnector(
                          (server, http) -> {
                            HttpConfiguration https = new HttpConfiguration(http);
                            SecureRequestCustomizer secure = new SecureRequestCustomizer();
                            secure.setSniHostCheck(false); // an IP in the URL sends no SNI
                            https.addCustomizer(secure);
                            ServerConnector connector =
                                new ServerConnector(
                                    server,
                                    new SslConnectionFactory(factory, "http/1.1"),
                                    new HttpConnectionFactory(https));
                            connector.setHost(appConfig.httpBind());
                            connector.setPort(appConfig.httpPort());
                            Tls.reloader(appConfig, factory).ifPresent(server::addBean);
                            return connector;
                          }));
              config.startup.showJavalinBanner = false;
              config.startup.showOldJavalinVersionWarning = false;
              config.jsonMapper(new JavalinJackson(json, false));
              // an imported snapshot is at most an input event's size
              config.http.maxRequestSize =
                  Math.max(config.http.maxRequestSize, Topics.inputMaxMessageBytes(appConfig));
              // keys may hold '/', encoded as %2F: let such paths through to the handler, which
              // decodes the raw segment itself
              config.jetty.modifyHttpConfiguration(
                  http ->
                      http.setUriCompliance(
                          UriCompliance.DEFAULT.with(
                              "infini-keys",
                              UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR,
                              UriCompliance.Violation.AMBIGUOUS_PATH_ENCODING)));
              config.jetty.modifyServer(
                  server -> server.setErrorHandler(new JsonErrorHandler(json)));
              config.jetty.modifyServletContextHandler(
                  handler -> handler.getServletHandler().setDecodeAmbiguousURIs(true));
              config.routes.before(this::authenticate);
              config.routes.get("/metrics", this::metrics);
              config.routes.get("/health/live", this::live);
              config.routes.get("/health/ready", this::ready);
              config.routes.get("/sessions", this::listSessions);
              config.routes.get("/sessions/{key}", this::getSession);
              config.routes.get("/sessions/{key}" + SNAPSHOT_SUFFIX, this::getSnapshot);
              config.routes.post("/sessions/{key}" + SNAPSHOT_SUFFIX, this::postSnapshot);
              config.routes.delete("/sessions/{key}", this::deleteSession);
              config.routes.exception(
                  HttpResponseException.class,
                  (e, ctx) -> error(ctx, e.getStatus(), e.getMessage()));
              config.routes.exception(
                  Exception.class,
                  (e, ctx) -> {
                    log.warn("operations request {} failed", ctx.path(), e);
                    error(ctx, 500, "internal error: " + e);
                  });
            });
  }

  /**
   * Listens on {@code http.bind}:{@code http.port} (0: any free port) and works out the address
   * other instances reach it at ({@link #advertised()}).
   *
   * @throws CliException if the address cannot be bound (in use, not local)
   * @throws org.apache.kafka.common.config.ConfigException if the token file cannot be read
   */
  public static OperationsServer start(
      AppConfig config, InfiniMetrics metrics, TopologySettings settings, String fingerprint) {
    return start(
        config,
        metrics,
        settings,
        fingerprint,
        f -> f.equals(fingerprint) ? Models.Disposition.SERVING : Models.Disposition.DEAD_LETTER);
  }

  /**
   * As {@link #start(AppConfig, InfiniMetrics, TopologySettings, String)} for the loaded models.
   */
  public static OperationsServer start(
      AppConfig config, InfiniMetrics metrics, TopologySettings settings, Models models) {
    return start(config, metrics, settings, models.serving().fingerprint(), models::disposition);
  }

  private static OperationsServer start(
      AppConfig config,
      InfiniMetrics metrics,
      TopologySettings settings,
      String fingerprint,
      Function<String, Models.Disposition> disposition) {
    ObjectMapper json =
        new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    String token = config.httpAuthToken();
    OperationsServer server =
        new OperationsServer(
            config,
            token,
            metrics,
            settings,
            config.applicationId(),
            fingerprint,
            disposition,
            json);
    String bind = config.httpBind();
    try {
      server.javalin.start(bind, config.httpPort());
    } catch (RuntimeException e) {
      server.javalin.stop();
      throw new CliException(
          "cannot start the operations server on "
              + bind
              + ":"
              + config.httpPort()
              + " (http.bind, http.port): "
              + rootMessage(e)
              + "; choose another http.port (0 takes any free one) or set http.enabled=false",
          e);
    }
    int port = server.javalin.port();
    server.advertised = advertisedAddress(config, bind, port);
    String scheme = server.scheme;
    server.url =
        KeyRouting.baseUrl(
            scheme, new HostInfo(isWildcard(bind) ? server.advertised.host() : bind, port));
    // the server's own address for its own requests: loopback, unless TLS needs a name that its
    // certificate holds
    server.selfUrl =
        isWildcard(bind)
            ? KeyRouting.baseUrl(
                scheme,
                scheme.equals("https")
                    ? new HostInfo(server.advertised.host(), port)
                    : new HostInfo("127.0.0.1", port))
            : server.url;
    if (token.isEmpty() && !isLoopback(bind)) {
      log.warn(
          "the operations server listens on {} without authentication: anyone who reaches it can"
              + " read every stream's state, import snapshots and delete streams; set"
              + " http.auth.token.file",
          bind);
    }
    log.info(
        "operations server at {} (advertised to other instances as {})",
        server.url,
        server.applicationServer());
    return server;
  }

  /**
   * The address other instances use: {@code streams.application.server} if given, else {@code
   * http.advertised.address}, else the bind address (the host name for a wildcard bind) and the
   * port listened on.
   */
  public static HostInfo advertisedAddress(AppConfig config, String bind, int port) {
    String override = config.streamsOverrides().get("application.server");
    if (override != null && !override.isBlank()) {
      return KeyRouting.parseHostPort(override.trim());
    }
    if (!config.httpAdvertisedAddress().isEmpty()) {
      return KeyRouting.parseHostPort(config.httpAdvertisedAddress());
    }
    return new HostInfo(isWildcard(bind) ? hostName() : bind, port);
  }

  /** Whether {@code bind} answers this machine only. */
  static boolean isLoopback(String bind) {
    String b =
        bind.startsWith("[") && bind.endsWith("]") ? bind.substring(1, bind.length() - 1) : bind;
    return b.equals("localhost") || b.startsWith("127.") || b.equals("::1");
  }

  private static boolean isWildcard(String bind) {
    return bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("[::]");
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getCanonicalHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    if (t instanceof BindException) {
      return "address in use or not available (" + t.getMessage() + ")";
    }
    return t.toString();
  }

  /**
   * The streams instance to report on; before this, probes answer STARTING. Without {@link
   * #attach(KafkaStreams, String)}'s brokers, imports answer 503.
   */
  public void attach(KafkaStreams streams) {
    attach(streams, null);
  }

  /**
   * The streams instance to report on, and the brokers ({@code bootstrap.servers}) that imports are
   * produced to with the {@code kafka.*} settings.
   */
  public void attach(KafkaStreams streams, String bootstrapServers) {
    this.bootstrapServers = bootstrapServers;
    this.queries = new SessionQueries(streams, settings, applicationId);
    this.streams = streams;
  }

  /** The address other instances reach this server at: Kafka Streams' application.server. */
  public HostInfo advertised() {
    return advertised;
  }

  /** {@code host:port} of {@link #advertised()}, as Kafka Streams' application.server wants it. */
  public String applicationServer() {
    String h = advertised.host();
    return (h.contains(":") ? "[" + h + "]" : h) + ":" + advertised.port();
  }

  /** The base URL, e.g. {@code http://127.0.0.1:8480}. */
  public String url() {
    return url;
  }

  /** The port listened on. */
  public int port() {
    return javalin.port();
  }

  @Override
  public void close() {
    javalin.stop();
  }

  // ---- handlers ---------------------------------------------------------------------------------

  /** Requires the bearer token, if one is configured, on all but the exempt paths. */
  private void authenticate(Context ctx) {
    if (tokenDigest == null) {
      return;
    }
    String path = ctx.path();
    if (path.equals("/health/live")
        || path.equals("/health/ready")
        || (!authMetrics && path.equals("/metrics"))) {
      return;
    }
    String header = ctx.header("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new HttpResponseException(
          401, "this server requires Authorization: Bearer <token> (http.auth.token.file)");
    }
    // equal-length digests compared in constant time: neither the token nor its length leaks
    if (!MessageDigest.isEqual(sha256(header.substring(7).strip()), tokenDigest)) {
      throw new HttpResponseException(401, "wrong bearer token");
    }
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void metrics(Context ctx) {
    ctx.contentType(PROMETHEUS_TEXT).result(metrics.scrape());
  }

  /** Whether a process in this state should be restarted: it failed or is shutting down. */
  static boolean live(KafkaStreams.State state) {
    return state == null
        || !(state == KafkaStreams.State.ERROR
            || state == KafkaStreams.State.PENDING_ERROR
            || state == KafkaStreams.State.PENDING_SHUTDOWN
            || state == KafkaStreams.State.NOT_RUNNING);
  }

  private void live(Context ctx) {
    KafkaStreams s = streams;
    KafkaStreams.State state = s == null ? null : s.state();
    health(ctx, live(state), state);
  }

  private void ready(Context ctx) {
    KafkaStreams s = streams;
    KafkaStreams.State state = s == null ? null : s.state();
    health(ctx, state == KafkaStreams.State.RUNNING, state);
  }

  private static void health(Context ctx, boolean up, KafkaStreams.State state) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", up ? "UP" : "DOWN");
    body.put("state", state == null ? "STARTING" : state.name());
    ctx.status(up ? 200 : 503).json(body);
  }

  private void listSessions(Context ctx) {
    SessionQueries q = requireStreams();
    int limit = DEFAULT_PAGE;
    String limitParam = ctx.queryParam("limit");
    if (limitParam != null) {
      try {
        limit = Integer.parseInt(limitParam);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_PAGE) {
        throw new HttpResponseException(
            400, "limit must be an integer from 1 to " + MAX_PAGE + ", got '" + limitParam + "'");
      }
    }
    String after = ctx.queryParam("after");
    SessionQueries.Page page;
    try {
      page = q.list(after == null || after.isEmpty() ? null : after, limit);
    } catch (InvalidStateStoreException e) {
      throw unavailable("the local stores are not queryable right now (" + e.getMessage() + ")");
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("instance", applicationServer());
    body.put("partitions", page.partitions());
    body.put("count", page.keys().size());
    body.put("keys", page.keys());
    body.put("next", page.next());
    if (page.unreadable() > 0) {
      body.put("unreadable", page.unreadable());
    }
    body.put("otherInstances", otherInstances());
    ctx.json(body);
  }

  private List<String> otherInstances() {
    TreeSet<String> hosts = new TreeSet<>();
    try {
      for (StreamsMetadata m : streams.metadataForAllStreamsClients()) {
        HostInfo h = m.hostInfo();
        if (!h.equals(advertised) && !h.equals(HostInfo.unavailable())) {
          hosts.add(h.host() + ":" + h.port());
        }
      }
    } catch (RuntimeException e) {
      // metadata not available while starting: list none
    }
    return new ArrayList<>(hosts);
  }

  private void getSession(Context ctx) throws InterruptedException {
    SessionQueries q = requireStreams();
    routeKey(ctx, "", (key, partition) -> local(ctx, q, key, partition));
  }

  private void getSnapshot(Context ctx) throws InterruptedException {
    SessionQueries q = requireStreams();
    routeKey(ctx, SNAPSHOT_SUFFIX, (key, partition) -> localSnapshot(ctx, q, key, partition));
  }

  /** What answers a request for a key this instance owns. */
  private interface LocalAnswer {
    void answer(String key, int partition);
  }

  /**
   * Answers {@code GET /sessions/{key}<suffix>} here if this instance owns the key, else relays the
   * owner's answer.
   */
  private void routeKey(Context ctx, String suffix, LocalAnswer local) throws InterruptedException {
    String key = keyOf(ctx, suffix);
    String forwardedBy = ctx.header(FORWARDED_HEADER);
    KeyQueryMetadata metadata;
    try {
      metadata =
          streams.queryMetadataForKey(settings.sessionsStore(), key, Serdes.String().serializer());
    } catch (RuntimeException e) {
      throw unavailable("no metadata for the key yet (" + e.getMessage() + ")");
    }
    KeyRouting.Route route = KeyRouting.decide(metadata, advertised, forwardedBy != null);
    switch (route.kind()) {
      case LOCAL -> local.answer(key, route.partition());
      case REMOTE -> proxy(ctx, key, suffix, route.owner());
      case UNAVAILABLE ->
          throw unavailable("no instance owns the key's partition right now (rebalancing)");
      case MISROUTED ->
          throw unavailable(
              "forwarded by "
                  + forwardedBy
                  + ", but the key's owner is now "
                  + route.owner().host()
                  + ":"
                  + route.owner().port()
                  + "; ask again");
    }
  }

  /** The key of {@code /sessions/{key}<suffix>}, percent-decoded from the raw path. */
  private static String keyOf(Context ctx, String suffix) {
    String uri = ctx.req().getRequestURI();
    String raw = uri.startsWith(SESSIONS_PREFIX) ? uri.substring(SESSIONS_PREFIX.length()) : "";
    if (!suffix.isEmpty() && raw.endsWith(suffix)) {
      raw = raw.substring(0, raw.length() - suffix.length());
    }
    String key;
    try {
      key = KeyRouting.decodeKey(raw);
    } catch (IllegalArgumentException e) {
      throw new HttpResponseException(400, e.getMessage());
    }
    if (key.isEmpty()) {
      throw new HttpResponseException(400, "empty key");
    }
    return key;
  }

  /**
   * {@code POST /sessions/{key}/snapshot}: checks the snapshot in the body and sends it to stream
   * {@code key} as an IMPORT event ({@link SnapshotImport#send}), with the stream's next seq (asked
   * of this server, so of the key's owner) or the {@code seq} given, which must be that next seq.
   * 202 means the input topic has the event; the processor applies or refuses it later.
   */
  private void postSnapshot(Context ctx) throws InterruptedException {
    String bootstrap = requireSender("imports");
    String key = keyOf(ctx, SNAPSHOT_SUFFIX);
    byte[] body = ctx.bodyAsBytes();
    Long seq = seqParam(ctx);
    String pin = pinParam(ctx);
    if (body.length == 0) {
      throw new HttpResponseException(
          400, "empty body: send the bytes of an exported snapshot (GET /sessions/{key}/snapshot)");
    }
    SessionSnapshots.Decoded snapshot;
    try {
      snapshot = SnapshotImport.check(body, fingerprint, pin);
    } catch (IllegalArgumentException e) {
      throw new HttpResponseException(400, "not an importable snapshot: " + e.getMessage());
    }
    List<String> warnings = new ArrayList<>();
    SnapshotImport.Sent sent =
        sendEvent(
            ctx,
            bootstrap,
            key,
            seq,
            "IMPORT",
            "IMPORT of a snapshot of '" + snapshot.snapshot().getStreamId() + "'",
            warnings,
            (client, s) -> client.importSnapshot(s, body, pin));
    if (sent == null) {
      return;
    }
    Map<String, Object> answer = sentAnswer(key, sent);
    answer.put("snapshotOf", snapshot.snapshot().getStreamId());
    answer.put("snapshotLastSeq", snapshot.session().getLastSeq());
    answer.put("snapshotTokens", snapshot.session().getTokensAbsorbed());
    answer.put("modelFingerprint", snapshot.snapshot().getModelFingerprint());
    answer.put("warnings", warnings);
    ctx.status(202).json(answer);
  }

  /**
   * {@code DELETE /sessions/{key}}: sends stream {@code key} a DELETE event, with its next seq
   * (asked of this server, so of the key's owner) or the {@code seq} given, which must be that next
   * seq. The processor then removes the session and its memory, with tombstones in the changelogs,
   * exactly once and in order with the stream's other events. 202 means the input topic has the
   * event.
   */
  private void deleteSession(Context ctx) throws InterruptedException {
    String bootstrap = requireSender("deletes");
    String key = keyOf(ctx, "");
    Long seq = seqParam(ctx);
    String pin = pinParam(ctx);
    try {
      SnapshotImport.checkPin(pin, fingerprint);
    } catch (IllegalArgumentException e) {
      throw new HttpResponseException(400, e.getMessage());
    }
    List<String> warnings = new ArrayList<>();
    SnapshotImport.Sent sent =
        sendEvent(
            ctx, bootstrap, key, seq, "DELETE", "DELETE", warnings, (c, s) -> c.delete(s, pin));
    if (sent == null) {
      return;
    }
    Map<String, Object> answer = sentAnswer(key, sent);
    answer.put("warnings", warnings);
    ctx.status(202).json(answer);
  }

  /** The bootstrap servers to send events with; 503 when this server cannot send any. */
  private String requireSender(String what) {
    requireStreams();
    KafkaStreams.State state = streams.state();
    if (state != KafkaStreams.State.RUNNING && state != KafkaStreams.State.REBALANCING) {
      throw unavailable("the processor is " + state + ", not running");
    }
    if (bootstrapServers == null) {
      throw unavailable("this server has no Kafka connection to send " + what + " with");
    }
    return bootstrapServers;
  }

  /** The {@code seq} query parameter (a positive integer), or null without one. */
  private static Long seqParam(Context ctx) {
    String seqParam = ctx.queryParam("seq");
    if (seqParam == null || seqParam.isEmpty()) {
      return null;
    }
    long seq;
    try {
      seq = Long.parseLong(seqParam);
    } catch (NumberFormatException e) {
      seq = 0L;
    }
    if (seq < 1) {
      throw new HttpResponseException(
          400, "seq must be a positive integer, got '" + seqParam + "'");
    }
    return seq;
  }

  /** The {@code pin} query parameter, or null without one. */
  private static String pinParam(Context ctx) {
    String pin = ctx.queryParam("pin");
    return pin == null || pin.isEmpty() ? null : pin;
  }

  /** What sends one event of a stream with a given seq. */
  private interface EventSender {
    Future<RecordMetadata> send(StreamClient client, long seq);
  }

  /**
   * Sends one event to stream {@code key} through the input topic with the seq {@link
   * SnapshotImport#seq} gives (asking this server for the stream's last seq) and waits until the
   * broker has it, and logs it as {@code description}. Answers 409 itself (and returns null) when
   * {@code seq} is not the stream's next; 413 and 503 when the input topic does not take the event.
   */
  private SnapshotImport.Sent sendEvent(
      Context ctx,
      String bootstrap,
      String key,
      Long seq,
      String kind,
      String description,
      List<String> warnings,
      EventSender sender)
      throws InterruptedException {
    try (StreamClient client = StreamClient.connect(config, bootstrap, key)) {
      long s =
          SnapshotImport.seq(
              client,
              new SessionLookup(selfUrl, IMPORT_LOOKUP_RETRY, token, this.client),
              seq,
              true,
              warnings::add);
      RecordMetadata m = sender.send(client, s).get();
      log.info(
          "{} sent to stream '{}' as seq {} ({}-{} offset {})",
          description,
          key,
          s,
          m.topic(),
          m.partition(),
          m.offset());
      return new SnapshotImport.Sent(s, m.topic(), m.partition(), m.offset());
    } catch (SnapshotImport.SeqConflictException e) {
      Map<String, Object> conflict = new LinkedHashMap<>();
      conflict.put("error", e.getMessage());
      conflict.put("status", 409);
      conflict.put("expectedSeq", e.expected());
      ctx.status(409).json(conflict);
      return null;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RecordTooLargeException) {
        throw new HttpResponseException(
            413,
            "the " + kind + " does not fit the input topic: " + KafkaClients.oneLine(e.getCause()));
      }
      throw unavailable(
          "the input topic did not take the " + kind + ": " + KafkaClients.oneLine(e.getCause()));
    } catch (CliException | KafkaException | IllegalStateException e) {
      throw unavailable("cannot send the " + kind + ": " + KafkaClients.oneLine(e));
    }
  }

  private static Map<String, Object> sentAnswer(String key, SnapshotImport.Sent sent) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("key", key);
    answer.put("seq", sent.seq());
    answer.put("topic", sent.topic());
    answer.put("partition", sent.partition());
    answer.put("offset", sent.offset());
    return answer;
  }

  private void localSnapshot(Context ctx, SessionQueries q, String key, int partition) {
    byte[] snapshot;
    try {
      snapshot = q.snapshot(key, partition);
    } catch (InvalidStateStoreException e) {
      throw unavailable(
          "partition " + partition + " is not queryable right now (" + e.getMessage() + ")");
    }
    ctx.header(SERVED_BY_HEADER, applicationServer());
    if (snapshot == null) {
      throw new HttpResponseException(404, "no session with key '" + key + "'");
    }
    ctx.contentType(SNAPSHOT_MEDIA_TYPE);
    ctx.result(snapshot);
  }

  private void local(Context ctx, SessionQueries q, String key, int partition) {
    Map<String, Object> session;
    try {
      session = q.session(key, partition, fingerprint, disposition);
    } catch (InvalidStateStoreException e) {
      throw unavailable(
          "partition " + partition + " is not queryable right now (" + e.getMessage() + ")");
    }
    ctx.header(SERVED_BY_HEADER, applicationServer());
    if (session == null) {
      throw new HttpResponseException(404, "no session with key '" + key + "'");
    }
    session.put("servedBy", applicationServer());
    ctx.json(session);
  }

  /** Fetches the owner's answer and relays it: status, body, content type, served-by header. */
  private void proxy(Context ctx, String key, String suffix, HostInfo owner)
      throws InterruptedException {
    URI target =
        URI.create(
            KeyRouting.baseUrl(scheme, owner)
                + SESSIONS_PREFIX
                + KeyRouting.encodeKey(key)
                + suffix);
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(target)
            .timeout(PROXY_TIMEOUT)
            .header(FORWARDED_HEADER, applicationServer())
            .header("Accept", suffix.isEmpty() ? "application/json" : SNAPSHOT_MEDIA_TYPE);
    if (!token.isEmpty()) {
      builder.header("Authorization", "Bearer " + token); // every instance has the same token
    }
    HttpRequest request = builder.GET().build();
    HttpResponse<byte[]> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpTimeoutException e) {
      throw new HttpResponseException(
          504, "the key's owner " + hostPort(owner) + " did not answer in time");
    } catch (ConnectException e) {
      throw new HttpResponseException(
          502, "the key's owner " + hostPort(owner) + " is unreachable: " + e);
    } catch (IOException e) {
      throw new HttpResponseException(
          502, "the key's owner " + hostPort(owner) + " failed to answer: " + e);
    }
    ctx.status(response.statusCode());
    response.headers().firstValue(SERVED_BY_HEADER).ifPresent(v -> ctx.header(SERVED_BY_HEADER, v));
    ctx.contentType(response.headers().firstValue("Content-Type").orElse("application/json"));
    ctx.result(response.body());
  }

  private static String hostPort(HostInfo h) {
    return h.host() + ":" + h.port();
  }

  private SessionQueries requireStreams() {
    SessionQueries q = queries;
    if (q == null) {
      throw unavailable("starting");
    }
    return q;
  }

  private static HttpResponseException unavailable(String message) {
    return new HttpResponseException(503, message, Map.of());
  }

  private void error(Context ctx, int status, String message) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", message);
    body.put("status", status);
    if (status == 503) {
      ctx.header("Retry-After", "1");
    }
    if (status == 401) {
      ctx.header("WWW-Authenticate", "Bearer realm=\"infini-streams\"");
    }
    ctx.status(status).json(body);
  }
}
