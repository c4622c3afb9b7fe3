package io.infinistreams.app.cli;

import io.infinistreams.app.client.DocumentFeeder;
import io.infinistreams.app.client.Progress;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.app.config.AppConfig;
import io.infinistreams.app.runtime.BrokerAddress;
import io.infinistreams.schemas.OutputEvent;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code infini feed KEY FILE}: a document into a stream's context, as APPEND events. */
@Command(
    name = "feed",
    mixinStandardHelpOptions = true,
    description = {
      "Append a document (UTF-8 text) to a stream's context: APPEND events of at "
          + "most event.max.text.bytes, cut between characters, with increasing sequence numbers. "
          + "Shows progress on stderr; prints a summary on stdout."
    })
public final class FeedCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin ConfigOptions configOptions;
  @Mixin OpsOptions opsOptions;

  @Parameters(index = "0", paramLabel = "KEY", description = "Stream id (the record key).")
  String key;

  @Parameters(index = "1", paramLabel = "FILE", description = "UTF-8 text file; '-' reads stdin.")
  String file;

  @Option(
      names = "--start-seq",
      paramLabel = "N",
      description =
          "Sequence number of the first event. Default: one after the last one the "
              + "stream has used, asked of the operations server (see --ops-url; 1 for a new "
              + "stream).")
  Long startSeq;

  @Option(
      names = "--chunk-bytes",
      paramLabel = "N",
      description = "Largest chunk in UTF-8 bytes. Default and maximum: event.max.text.bytes.")
  Integer chunkBytes;

  @Option(
      names = "--wait",
      description =
          "After sending, wait until the processor has "
              + "absorbed the last event, showing its progress in tokens.")
  boolean await;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "3600",
      description = "With --wait: how long to wait. Default: ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    AppConfig config = configOptions.load();
    int max = config.eventMaxTextBytes();
    int chunk = chunkBytes == null ? max : chunkBytes;
    if (chunk < 4 || chunk > max) {
      throw new CliException(
          "--chunk-bytes must be in [4, " + max + "] (event.max.text.bytes), got " + chunk);
    }
    boolean stdin = "-".equals(file);
    Path path = stdin ? null : Path.of(file);
    if (path != null && !Files.isRegularFile(path)) {
      throw new CliException("no such file: " + file);
    }
    long total = path == null ? 0 : Files.size(path);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (StreamClient client = StreamClient.connect(config, BrokerAddress.forClient(config), key);
        InputStream in = stdin ? System.in : new BufferedInputStream(Files.newInputStream(path))) {
      long first = startSeq != null ? startSeq : opsOptions.lastSeq(config, client, err) + 1;
      long t0 = System.nanoTime();
      DocumentFeeder.Fed fed;
      try (Progress bar = Progress.start("feed", total, Progress.Unit.BYTES, err)) {
        fed = DocumentFeeder.feed(client, in, chunk, first, bar::update);
      } catch (CharacterCodingException e) {
        throw new CliException(file + ": " + e.getMessage() + " (the events before it were sent)");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      out.printf(
          Locale.ROOT,
          "fed %,d bytes to stream '%s' as %,d APPEND events (seq %d..%d) in %.1f s%n",
          fed.bytes(),
          key,
          fed.events(),
          fed.firstSeq(),
          fed.lastSeq(),
          seconds);
      out.flush();
      if (await && fed.events() > 0) {
        long[] absorbed = {0};
        OutputEvent last;
        try (Progress absorbing =
            Progress.start("absorb", fed.bytes(), Progress.Unit.TOKENS, err)) {
          last =
              client.awaitOutput(
                  fed.lastSeq(),
                  Duration.ofSeconds(timeoutSeconds),
                  o -> {
                    if (o.getSeq() >= fed.firstSeq() && o.getSeq() <= fed.lastSeq()) {
                      absorbed[0] += o.getTokensThisEvent();
                      absorbing.update(absorbed[0]);
                    }
                  });
        } catch (TimeoutException e) {
          throw new CliException("stream '" + key + "': " + e.getMessage());
        } catch (StreamClient.RejectedException e) {
          long expected = e.expectedSeq();
          throw new CliException(
              "stream '"
                  + key
                  + "': "
                  + e.getMessage()
                  + (expected > 0
                      ? "; the stream expects seq "
                          + expected
                          + ": feed again with --start-seq "
                          + expected
                      : ""));
        }
        out.printf(
            Locale.ROOT,
            "absorbed: stream '%s' holds %,d tokens, %,d segments in memory%n",
            key,
            last.getTokensTotal(),
            last.getSegmentsTotal());
        out.flush();
      }
    }
    return 0;
  }
}
