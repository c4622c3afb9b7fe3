package io.infinistreams.app.cli;

import io.infinistreams.app.client.SessionLookup;
import io.infinistreams.app.client.SnapshotImport;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.app.runtime.KafkaClients;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredSession;
import io.infinistreams.topology.SessionSnapshots;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code infini snapshot export|import|fork|show}: a stream's whole state out of the application
 * (through the operations server) and back in (an IMPORT event through the input topic, applied
 * exactly once like any event).
 */
@Command(
    name = "snapshot",
    mixinStandardHelpOptions = true,
    description = {
      "Export a stream's whole state to a file, import one under a key (the same key: rewind; "
          + "another: fork), or fork a stream in one step. Exports are read through the "
          + "operations server (any instance answers for every key); imports are IMPORT events "
          + "on the input topic. An imported state is bit for bit the exported one."
    },
    subcommands = {
      SnapshotCommand.Export.class,
      SnapshotCommand.Import.class,
      SnapshotCommand.Fork.class,
      SnapshotCommand.Show.class
    })
public final class SnapshotCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  static byte[] export(AppConfig config, OpsOptions ops, String key) throws InterruptedException {
    SessionLookup lookup = ops.lookup(config);
    byte[] bytes;
    try {
      bytes = lookup.snapshot(key);
    } catch (SessionLookup.UnavailableException e) {
      throw new CliException("cannot export '" + key + "': " + e.getMessage());
    }
    if (bytes == null) {
      throw new CliException("no stream with key '" + key + "'");
    }
    return bytes;
  }

  /** Sends the snapshot as an IMPORT to {@code key} and waits for its output. */
  static OutputEvent importTo(
      AppConfig config,
      OpsOptions ops,
      String key,
      byte[] snapshot,
      Long seq,
      String pin,
      long timeoutSeconds,
      PrintWriter err)
      throws Exception {
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key)) {
      long s;
      try {
        s =
            SnapshotImport.send(
                    client, ops.lookup(config), snapshot, seq, false, pin, OpsOptions.warnings(err))
                .seq();
      } catch (ExecutionException e) {
        throw new CliException(
            "cannot send the IMPORT of stream '"
                + key
                + "' to Kafka: "
                + KafkaClients.oneLine(e.getCause()));
      }
      try {
        OutputEvent out = client.awaitOutput(s, Duration.ofSeconds(timeoutSeconds));
        err.printf(
            Locale.ROOT,
            "[stream '%s' seq %d: imported, %,d tokens in context, %,d segments in memory]%n",
            key,
            s,
            out.getTokensTotal(),
            out.getSegmentsTotal());
        err.flush();
        return out;
      } catch (TimeoutException e) {
        throw new CliException(e.getMessage() + " (is `infini run` running?)");
      } catch (StreamClient.RejectedException e) {
        throw new CliException("stream '" + key + "': " + e.getMessage());
      }
    }
  }

  @Command(
      name = "export",
      mixinStandardHelpOptions = true,
      description = "Write the state of stream KEY to FILE (a SessionSnapshot, Avro).")
  static final class Export implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ConfigOptions configOptions;
    @Mixin OpsOptions opsOptions;

    @Parameters(index = "0", paramLabel = "KEY", description = "Stream id.")
    String key;

    @Parameters(index = "1", paramLabel = "FILE", description = "Where to write the snapshot.")
    Path file;

    @Override
    public Integer call() throws Exception {
      AppConfig config = configOptions.load();
      byte[] bytes = export(config, opsOptions, key);
      Files.write(file, bytes);
      PrintWriter err = spec.commandLine().getErr();
      err.printf(Locale.ROOT, "wrote %s (%,d bytes)%n", file, bytes.length);
      err.flush();
      return 0;
    }
  }

  @Command(
      name = "import",
      mixinStandardHelpOptions = true,
      description =
          "Replace the state of stream KEY by the snapshot in FILE: an IMPORT event, applied "
              + "exactly once with the next seq of KEY (the stream's own lastSeq goes on).")
  static final class Import implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ConfigOptions configOptions;
    @Mixin OpsOptions opsOptions;

    @Parameters(index = "0", paramLabel = "KEY", description = "Stream id to import into.")
    String key;

    @Parameters(index = "1", paramLabel = "FILE", description = "A file written by export.")
    Path file;

    @Option(
        names = "--seq",
        paramLabel = "N",
        description = "Sequence number of the IMPORT. Default: one after KEY's last.")
    Long seq;

    @Option(
        names = "--pin",
        paramLabel = "FINGERPRINT",
        description =
            "Pin the IMPORT to this model (a fingerprint prefix of at least 12 hex digits): "
                + "needed to import over a stream another model wrote.")
    String pin;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "120",
        description = "How long to wait for the import to be applied. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
      AppConfig config = configOptions.load();
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new CliException("cannot read " + file + ": " + e.getMessage());
      }
      try {
        SnapshotImport.check(bytes, null, pin); // a clear error here rather than a dead letter
      } catch (IllegalArgumentException e) {
        throw new CliException(file + ": " + e.getMessage());
      }
      importTo(
          config, opsOptions, key, bytes, seq, pin, timeoutSeconds, spec.commandLine().getErr());
      return 0;
    }
  }

  @Command(
      name = "fork",
      mixinStandardHelpOptions = true,
      description =
          "Copy the state of stream SOURCE to stream TARGET (export, then import): TARGET goes "
              + "on from SOURCE's context, SOURCE is unchanged.")
  static final class Fork implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ConfigOptions configOptions;
    @Mixin OpsOptions opsOptions;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "Stream to copy.")
    String source;

    @Parameters(index = "1", paramLabel = "TARGET", description = "Stream to write.")
    String target;

    @Option(
        names = "--timeout",
        paramLabel = "SECONDS",
        defaultValue = "120",
        description = "How long to wait for the import to be applied. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
      AppConfig config = configOptions.load();
      byte[] bytes = export(config, opsOptions, source);
      importTo(
          config,
          opsOptions,
          target,
          bytes,
          null,
          null,
          timeoutSeconds,
          spec.commandLine().getErr());
      return 0;
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Check a snapshot file (format, checksum) and print what it holds.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "A file written by export.")
    Path file;

    @Override
    public Integer call() {
      SessionSnapshots.Decoded d;
      try {
        d = SessionSnapshots.decode(Files.readAllBytes(file));
      } catch (IOException e) {
        throw new CliException("cannot read " + file + ": " + e.getMessage());
      } catch (IllegalArgumentException e) {
        throw new CliException(file + ": " + e.getMessage());
      }
      SessionSnapshot s = d.snapshot();
      StoredSession session = d.session();
      PrintWriter out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "stream         %s%n", s.getStreamId());
      out.printf(Locale.ROOT, "exported at    %s%n", s.getExportedAt());
      out.printf(Locale.ROOT, "model          %s%n", s.getModelFingerprint());
      out.printf(Locale.ROOT, "last seq       %d%n", session.getLastSeq());
      out.printf(Locale.ROOT, "tokens         %,d%n", session.getTokensAbsorbed());
      out.printf(Locale.ROOT, "segments       %,d%n", session.getSegmentsAbsorbed());
      out.printf(Locale.ROOT, "open segment   %d tokens%n", session.getOpenTokens().size());
      out.printf(Locale.ROOT, "head memories  %d%n", d.memories().size());
      out.printf(
          Locale.ROOT,
          "sha256         %s%n",
          HexFormat.of().formatHex(SessionSnapshots.bytes(s.getSha256())));
      out.flush();
      return 0;
    }
  }
}
