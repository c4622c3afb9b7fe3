package io.infinistreams.app.bench;

import io.infinistreams.app.cli.CliException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch reference of the model ({@code model/reference/infini_reference.py}) run as a
 * subprocess: its {@code time} command absorbs a text with one thread in eager mode and prints one
 * line {@code infini-reference-time key=value ...}, which {@link #parse} reads. Every way the run
 * can fail (no interpreter, no PyTorch, no script, a crash, a timeout, no result line) ends in a
 * {@link CliException} that says which and how to fix it.
 */
final class PyTorchReference {

  /** The script, relative to the repository root. */
  static final String SCRIPT = "model/reference/infini_reference.py";

  /** Prefix of the script's result line. */
  static final String RESULT_PREFIX = "infini-reference-time ";

  /** The script's exit code when {@code import torch} fails. */
  static final int EXIT_NO_TORCH = 3;

  /** How to install what the script needs, for error messages. */
  static final String HOW_TO_INSTALL =
      "the script needs Python 3 with PyTorch (pip install torch; offline: pip install"
          + " --no-index --no-deps torch-*.whl), see model/reference/README.md";

  /**
   * One timed run of the script.
   *
   * @param tokens tokens absorbed in the timed part
   * @param cpuSeconds the process's CPU time over the timed part
   * @param wallSeconds its wall-clock time
   * @param torch the PyTorch version
   * @param fingerprint the fingerprint of the model it loaded
   */
  record Timing(
      long tokens, double cpuSeconds, double wallSeconds, String torch, String fingerprint) {
    double perCpuSecond() {
      return tokens / cpuSeconds;
    }

    double perWallSecond() {
      return tokens / wallSeconds;
    }
  }

  private final String python;
  private final Path script;

  /**
   * @param python the interpreter, a path or a command on the PATH
   * @param script the script, which must exist
   */
  PyTorchReference(String python, Path script) {
    this.python = python;
    this.script = script;
  }

  /**
   * The script: {@code given} if not null, else {@link #SCRIPT} under the working directory or
   * under a folder that holds the application's jar.
   */
  static Path findScript(Path given) {
    if (given != null) {
      if (!Files.isRegularFile(given)) {
        throw new CliException("no reference script at " + given);
      }
      return given;
    }
    List<Path> tried = new ArrayList<>();
    tried.add(Path.of(SCRIPT).toAbsolutePath());
    try {
      Path jar =
          Path.of(
              PyTorchReference.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (Path dir = jar.getParent(); dir != null; dir = dir.getParent()) {
        tried.add(dir.resolve(SCRIPT));
      }
    } catch (URISyntaxException | RuntimeException e) {
      // no code source: the working directory is the only candidate
    }
    for (Path p : tried) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new CliException(
        "cannot find " + SCRIPT + " (run from the repository root, or give --reference-script)");
  }

  /**
   * Runs {@code time} on a checkpoint and a text file (its bytes are the tokens) and returns its
   * result; {@code warmupTokens} are absorbed on a fresh stream first, untimed.
   */
  Timing time(Path checkpoint, Path text, int tokens, int chunk, int warmupTokens) {
    List<String> command =
        List.of(
            python,
            script.toString(),
            "time",
            "--checkpoint",
            checkpoint.toString(),
            "--text",
            text.toString(),
            "--tokens",
            Integer.toString(tokens),
            "--chunk",
            Integer.toString(chunk),
            "--warmup-tokens",
            Integer.toString(warmupTokens));
    // generous: the script runs at thousands of tokens per second; loading takes seconds
    long timeoutSeconds = 600 + tokens / 100;
    return parse(run(command, timeoutSeconds), String.join(" ", command));
  }

  /** Runs {@code command} with one math thread; its stdout, or a {@link CliException}. */
  String run(List<String> command, long timeoutSeconds) {
    Path out = null;
    Path err = null;
    Process process = null;
    try {
      out = Files.createTempFile("infini-reference", ".stdout");
      err = Files.createTempFile("infini-reference", ".stderr");
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().put("OMP_NUM_THREADS", "1");
      pb.environment().put("MKL_NUM_THREADS", "1");
      pb.redirectOutput(out.toFile());
      pb.redirectError(err.toFile());
      try {
        process = pb.start();
      } catch (IOException e) {
        throw new CliException(
            "cannot run the PyTorch reference with '"
                + python
                + "' ("
                + e.getMessage()
                + "); "
                + HOW_TO_INSTALL);
      }
      process.getOutputStream().close(); // no input
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        throw new CliException(
            "the PyTorch reference did not finish within " + timeoutSeconds + " s: " + command);
      }
      int exit = process.exitValue();
      String stderr = tail(Files.readString(err, StandardCharsets.UTF_8));
      if (exit == EXIT_NO_TORCH) {
        throw new CliException(
            "PyTorch is not available to '"
                + python
                + "': "
                + stderr
                + " (model/reference/README.md)");
      }
      if (exit != 0) {
        throw new CliException(
            "the PyTorch reference failed (exit "
                + exit
                + ") running "
                + String.join(" ", command)
                + (stderr.isEmpty() ? "" : ": " + stderr));
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CliException("cannot run the PyTorch reference: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted while the PyTorch reference ran", e);
    } finally {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
      }
      for (Path p : new Path[] {out, err}) {
        try {
          if (p != null) {
            Files.deleteIfExists(p);
          }
        } catch (IOException e) {
          // a temporary file left behind is harmless
        }
      }
    }
  }

  /** The result line of the script's output; {@code what} names the run in an error. */
  static Timing parse(String stdout, String what) {
    for (String line : stdout.split("\\R")) {
      if (line.startsWith(RESULT_PREFIX)) {
        Map<String, String> kv = new HashMap<>();
        for (String field : line.substring(RESULT_PREFIX.length()).trim().split("\\s+")) {
          int eq = field.indexOf('=');
          if (eq > 0) {
            kv.put(field.substring(0, eq), field.substring(eq + 1));
          }
        }
        try {
          Timing t =
              new Timing(
                  Long.parseLong(kv.get("tokens")),
                  Double.parseDouble(kv.get("cpu_seconds")),
                  Double.parseDouble(kv.get("wall_seconds")),
                  kv.getOrDefault("torch", "?"),
                  kv.getOrDefault("fingerprint", "?"));
          if (t.tokens() <= 0 || !(t.cpuSeconds() > 0) || !(t.wallSeconds() > 0)) {
            throw new NumberFormatException("non-positive count or time");
          }
          return t;
        } catch (NullPointerException | NumberFormatException e) {
          throw new CliException("unreadable result line from the PyTorch reference: " + line);
        }
      }
    }
    throw new CliException(
        "no '" + RESULT_PREFIX.trim() + "' line in the output of " + what + ": " + tail(stdout));
  }

  /** The last few lines of a process's output, on one line. */
  private static String tail(String s) {
    String[] lines = s.strip().split("\\R");
    int from = Math.max(0, lines.length - 5);
    return String.join(" | ", java.util.Arrays.copyOfRange(lines, from, lines.length)).strip();
  }
}
