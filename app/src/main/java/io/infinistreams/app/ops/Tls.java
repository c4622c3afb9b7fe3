package io.infinistreams.app.ops;

import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.config.ConfigKeys;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.common.config.ConfigException;
import org.eclipse.jetty.util.Scanner;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS of the operations server ({@code http.tls.*}): the server's key store, and the trust store of
 * every caller of an operations server in this process (the routing between instances, the client
 * commands). Stores are read when asked for, and a store that cannot be read fails with the key to
 * fix.
 */
public final class Tls {
  private static final Logger log = LoggerFactory.getLogger(Tls.class);

  private Tls() {}

  /** {@code https} with a key store, else {@code http}. */
  public static String scheme(AppConfig config) {
    return config.httpTlsKeystore().isPresent() ? "https" : "http";
  }

  /**
   * The server side: the key store, loaded now (so that a wrong path, type or password stops the
   * start with the key to fix), for Jetty; empty for plain HTTP.
   */
  static Optional<SslContextFactory.Server> serverFactory(AppConfig config) {
    Optional<AppConfig.Store> store = config.httpTlsKeystore();
    if (store.isEmpty()) {
      return Optional.empty();
    }
    load(store.get(), ConfigKeys.HTTP_TLS_KEYSTORE_PATH); // fails now, naming the key
    SslContextFactory.Server factory = new SslContextFactory.Server();
    // by path, so that it can be reloaded (see reloader)
    factory.setKeyStorePath(Path.of(store.get().path()).toAbsolutePath().toString());
    factory.setKeyStoreType(store.get().type());
    factory.setKeyStorePassword(new String(store.get().password()));
    factory.setIncludeProtocols("TLSv1.3", "TLSv1.2");
    // clients may reach an instance by an address its certificate does not name as SNI (an IP)
    factory.setSniRequired(false);
    return Optional.of(factory);
  }

  /**
   * A watcher of the key store file, every {@code http.tls.reload.seconds} (empty when that is 0),
   * that reloads {@code factory} when the file changed and has stayed the same for one check. The
   * file is read first: one that cannot be read (half written, a wrong password) is logged and the
   * server keeps the key it has; a removed file is logged and ignored. Runs as a bean of the Jetty
   * server, started and stopped with it.
   */
  static Optional<Scanner> reloader(AppConfig config, SslContextFactory.Server factory) {
    int seconds = config.httpTlsReloadSeconds();
    Optional<AppConfig.Store> store = config.httpTlsKeystore();
    if (seconds == 0 || store.isEmpty()) {
      return Optional.empty();
    }
    Path file = Path.of(store.get().path()).toAbsolutePath();
    Scanner scanner = new Scanner();
    scanner.addFile(file);
    scanner.setScanInterval(seconds);
    scanner.setReportDirs(false);
    scanner.setReportExistingFilesOnStartup(false);
    scanner.addListener(
        new Scanner.DiscreteListener() {
          @Override
          public void pathChanged(Path path) {
            reload(store.get(), factory);
          }

          @Override
          public void pathAdded(Path path) {
            reload(store.get(), factory);
          }

          @Override
          public void pathRemoved(Path path) {
            log.warn("{} was removed; the operations server keeps its key", path);
          }
        });
    return Optional.of(scanner);
  }

  private static void reload(AppConfig.Store store, SslContextFactory.Server factory) {
    try {
      load(store, ConfigKeys.HTTP_TLS_KEYSTORE_PATH);
    } catch (ConfigException e) {
      log.error("the operations server keeps its key: {}", e.getMessage());
      return;
    }
    try {
      factory.reload(f -> {});
      log.info("the operations server reloaded its key store {}", store.path());
    } catch (Exception e) {
      log.error("reloading the key store {} failed: {}", store.path(), e.toString());
    }
  }

  /**
   * The client side: an SSL context trusting {@code http.tls.truststore.*}, or the JVM's default
   * trust store when it is not set.
   *
   * @throws ConfigException naming the key if the trust store cannot be read
   */
  public static SSLContext clientContext(AppConfig config) {
    Optional<AppConfig.Store> store = config.httpTlsTruststore();
    try {
      if (store.isEmpty()) {
        return SSLContext.getDefault();
      }
      KeyStore trusted = load(store.get(), ConfigKeys.HTTP_TLS_TRUSTSTORE_PATH);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return context;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no TLS: " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new ConfigException(
          ConfigKeys.HTTP_TLS_TRUSTSTORE_PATH,
          store.map(AppConfig.Store::path).orElse(""),
          "cannot use it as a trust store (" + e.getMessage() + ")");
    }
  }

  private static KeyStore load(AppConfig.Store store, String key) {
    try (InputStream in = Files.newInputStream(Path.of(store.path()))) {
      KeyStore k = KeyStore.getInstance(store.type());
      k.load(in, store.password().length == 0 ? null : store.password());
      return k;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new ConfigException(
          key,
          store.path(),
          "cannot read it as a "
              + store.type()
              + " store with the password given ("
              + (e.getMessage() == null ? e.toString() : e.getMessage())
              + ")");
    }
  }
}
