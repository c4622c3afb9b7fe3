package io.infinistreams.app.bench;

import io.infinistreams.app.cli.CliException;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * This model and its PyTorch reference ({@link PyTorchReference}) absorbing the same text with the
 * same weights, in alternating rounds ({@code bench --pytorch}); the medians of the rounds and
 * their ratio go into the bench's markdown table.
 *
 * @param tokens the text's length
 * @param text what the text is, for the table
 * @param chunk tokens per absorb call
 * @param ours per round {tokens per CPU second, per wall-clock second} of this model
 * @param theirs per round, the PyTorch reference's timing
 */
record PyTorchComparison(
    int tokens, String text, int chunk, List<double[]> ours, List<PyTorchReference.Timing> theirs) {

  /**
   * Times this model and the reference alternately, {@code rounds} times each, this model first: a
   * fresh stream absorbs {@code tokens} in calls of {@code chunk} without scores, timed by the
   * calling thread's CPU time. The reference loads the same weights from a checkpoint saved into a
   * temporary folder (the fingerprint it reports must match) and reads the same tokens from a file
   * there; it warms up on one call's worth of tokens before its timed run (this model is expected
   * to be warm). The folder is deleted afterwards.
   */
  static PyTorchComparison run(
      InfiniModel model,
      PyTorchReference reference,
      int[] tokens,
      String text,
      int chunk,
      int rounds,
      String howMade) {
    Path work = null;
    try {
      work = Files.createTempDirectory("infini-bench-pytorch");
      Path checkpoint = work.resolve("checkpoint");
      model.save(checkpoint, howMade);
      byte[] bytes = new byte[tokens.length];
      for (int i = 0; i < tokens.length; i++) {
        bytes[i] = (byte) tokens[i];
      }
      Path textFile = Files.write(work.resolve("text.bin"), bytes);
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      List<double[]> ours = new ArrayList<>();
      List<PyTorchReference.Timing> theirs = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        StreamState state = model.newState();
        long t0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        for (int from = 0; from < tokens.length; from += chunk) {
          int[] piece = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + chunk));
          state = model.absorb(state, piece, false).state();
        }
        double cpu = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
        double wall = (System.nanoTime() - t0) / 1e9;
        ours.add(new double[] {tokens.length / cpu, tokens.length / wall});
        PyTorchReference.Timing t =
            reference.time(
                checkpoint, textFile, tokens.length, chunk, Math.min(chunk, tokens.length));
        if (!t.fingerprint().equals(model.fingerprint()) || t.tokens() != tokens.length) {
          throw new CliException(
              "the PyTorch reference ran another model or text (fingerprint "
                  + t.fingerprint()
                  + ", "
                  + t.tokens()
                  + " tokens)");
        }
        theirs.add(t);
      }
      return new PyTorchComparison(tokens.length, text, chunk, ours, theirs);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare the PyTorch comparison", e);
    } finally {
      deleteTree(work);
    }
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  /** This model's median: {@code which} 0 per CPU second, 1 per wall-clock second. */
  double ours(int which) {
    return median(ours.stream().mapToDouble(r -> r[which]).toArray());
  }

  /** The reference's median: {@code which} 0 per CPU second, 1 per wall-clock second. */
  double theirs(int which) {
    return median(
        theirs.stream()
            .mapToDouble(t -> which == 0 ? t.perCpuSecond() : t.perWallSecond())
            .toArray());
  }

  /** The rows of the bench's markdown table. */
  void print(PrintWriter out) {
    String what =
        String.format(
            "absorb of the %,d-token %s in calls of %,d, no scoring, 1 thread, median of %d"
                + " alternating rounds",
            tokens, text, chunk, ours.size());
    out.printf(
        "| this model: %s, per CPU second / wall clock | %,.0f / %,.0f tokens/s |%n",
        what, ours(0), ours(1));
    out.printf(
        "| PyTorch reference (infini_reference.py, eager, torch %s): the same, per CPU second /"
            + " wall clock | %,.0f / %,.0f tokens/s |%n",
        theirs.get(0).torch(), theirs(0), theirs(1));
    out.printf(
        "| **ratio this model / PyTorch reference**, by CPU time / wall clock | **%.2f** / %.2f"
            + " |%n",
        ours(0) / theirs(0), ours(1) / theirs(1));
    StringBuilder each = new StringBuilder();
    for (int r = 0; r < ours.size(); r++) {
      each.append(r == 0 ? "" : ", ")
          .append(String.format("%,.0f / %,.0f", ours.get(r)[0], theirs.get(r).perCpuSecond()));
    }
    out.printf(
        "| rounds, tokens per CPU second, this model / PyTorch (in the order run) | %s |%n", each);
  }

  private static void deleteTree(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // a temporary folder left behind is harmless
    }
  }
}
