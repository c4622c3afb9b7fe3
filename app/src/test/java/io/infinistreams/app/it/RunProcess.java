package io.infinistreams.app.it;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code infini run} in a child JVM with the test class path, as an operator starts it: its
 * standard output is watched for the lines {@code run} prints once the processor is RUNNING (the
 * embedded broker's address, the operations server's URL, {@code running: ...}); its standard error
 * goes to {@code dir/logs/NAME.stderr}.
 */
final class RunProcess {
  private static final Pattern BROKER =
      Pattern.compile("^embedded broker: (127\\.0\\.0\\.1:\\d+), data in");
  private static final Pattern OPERATIONS = Pattern.compile("^operations: (http://\\S+) ");

  final Process process;
  final Path stderrFile;
  private final CompletableFuture<String> broker = new CompletableFuture<>();
  private final CompletableFuture<String> operations = new CompletableFuture<>();
  private final CompletableFuture<Void> running = new CompletableFuture<>();
  volatile long runningAtNanos;

  private RunProcess(Process process, Path stderrFile) {
    this.process = process;
    this.stderrFile = stderrFile;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  Matcher b = BROKER.matcher(line);
                  if (b.find()) {
                    broker.complete(b.group(1));
                  }
                  Matcher o = OPERATIONS.matcher(line);
                  if (o.find()) {
                    operations.complete(o.group(1));
                  }
                  if (line.startsWith("running: ")) {
                    runningAtNanos = System.nanoTime();
                    broker.complete(null); // no embedded broker
                    operations.complete(null); // no operations server
                    running.complete(null);
                  }
                }
              } catch (IOException e) {
                running.completeExceptionally(e);
              }
              IllegalStateException ended = new IllegalStateException("run ended");
              broker.completeExceptionally(ended);
              operations.completeExceptionally(ended);
              running.completeExceptionally(ended);
            },
            "child-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts {@code infini run ARGS} (-Xmx1g, one libtorch thread, Kafka's client warnings off).
   *
   * @param name the name of its stderr file under {@code dir/logs}
   */
  static RunProcess start(Path dir, String name, List<String> args) throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path logs = dir.resolve("logs");
    Files.createDirectories(logs);
    Path err = logs.resolve(name + ".stderr");
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    cmd.add("-Xmx1g");
    cmd.add("-cp");
    cmd.add(classPath(dir));
    for (String p :
        List.of(
            "ai.djl.offline",
            "ai.djl.pytorch.num_threads",
            "ai.djl.pytorch.num_interop_threads",
            "ENGINE_CACHE_DIR",
            "DJL_CACHE_DIR")) {
      if (System.getProperty(p) != null) {
        cmd.add("-D" + p + "=" + System.getProperty(p));
      }
    }
    cmd.addAll(
        List.of(
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.log.io.infinistreams=info",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=error",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
            "io.infinistreams.app.Main",
            "run"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("MKL_NUM_THREADS", "1");
    return new RunProcess(pb.start(), err);
  }

  /**
   * The test class path with every jar copied under {@code dir/cp} once: the restarted JVMs must
   * not see a jar that a concurrent {@code mvn install} replaces in the local repository.
   */
  static synchronized String classPath(Path dir) throws IOException {
    Path copies = dir.resolve("cp");
    List<String> entries = new ArrayList<>();
    int i = 0;
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path source = Path.of(entry);
      if (Files.isRegularFile(source) && entry.endsWith(".jar")) {
        Path copy = copies.resolve((i++) + "-" + source.getFileName());
        if (Files.notExists(copy)) {
          Files.createDirectories(copies);
          Files.copy(source, copy);
        }
        entries.add(copy.toString());
      } else {
        entries.add(entry);
      }
    }
    return String.join(File.pathSeparator, entries);
  }

  /** Waits for the {@code running:} line; fails with the process's stderr if it does not come. */
  void awaitRunning(Duration timeout) throws Exception {
    get(running, timeout);
  }

  /** The embedded broker's address (null without one), once the processor is RUNNING. */
  String awaitBroker(Duration timeout) throws Exception {
    return get(broker, timeout);
  }

  /** The operations server's base URL (null without one), once the processor is RUNNING. */
  String awaitOperations(Duration timeout) throws Exception {
    return get(operations, timeout);
  }

  private <T> T get(CompletableFuture<T> line, Duration timeout) throws Exception {
    try {
      return line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("run did not start: " + stderr(), e);
    }
  }

  String stderr() {
    try {
      return Files.readString(stderrFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }

  /** SIGKILL, and waits until the process is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError("process did not die on SIGKILL");
    }
  }

  /** SIGTERM (a clean close), then SIGKILL if it does not end within a minute. */
  void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
