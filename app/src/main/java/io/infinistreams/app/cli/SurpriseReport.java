package io.infinistreams.app.cli;

import io.infinistreams.app.runtime.SurpriseRun;
import io.infinistreams.app.runtime.SurpriseStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What {@code infini demo --task surprise} prints and writes of its runs. */
final class SurpriseReport {

  private SurpriseReport() {}

  /** A run: its stream, one line per event (from 1), and the {@link #summary} line. */
  static void print(PrintWriter out, SurpriseRun.Result r) {
    SurpriseStream s = r.stream();
    out.printf(
        Locale.ROOT,
        "run:        %s at event %d of %d, %,d bytes of %s prose, seed %d, stream '%s' (%.1f s)%n",
        s.inject().option(),
        s.injectedAt() + 1,
        s.events().size(),
        s.totalBytes(),
        s.corpus(),
        r.seed(),
        r.streamId(),
        r.seconds());
    out.println("  event  bytes  bits/byte");
    for (int i = 0; i < s.events().size(); i++) {
      out.printf(
          Locale.ROOT,
          "  %5d  %5d  %9.3f%s%n",
          i + 1,
          s.bytes(i),
          r.bitsPerByte()[i],
          i == s.injectedAt() ? "  <- injected: " + injected(s) : "");
    }
    out.println(summary(r));
    out.flush();
  }

  /** What replaced the injected event, e.g. {@code "repeat of event 2 (5,210 bytes back)"}. */
  private static String injected(SurpriseStream s) {
    return s.inject() == SurpriseStream.Inject.REPEAT
        ? String.format(
            Locale.ROOT, "repeat of event %d (%,d bytes back)", s.copyOf() + 1, s.repeatDistance())
        : s.inject().option();
  }

  /**
   * The injected event's surprise against the mean of its two neighbours on each side, and whether
   * it is above all four (below, for repeat).
   */
  static String summary(SurpriseRun.Result r) {
    SurpriseStream s = r.stream();
    SurpriseStream.Comparison c = r.comparison();
    int e = s.injectedAt() + 1;
    String side = s.inject() == SurpriseStream.Inject.REPEAT ? "below" : "above";
    return String.format(
        Locale.ROOT,
        "summary:    %s: event %d %.3f bits/byte vs %.3f (mean of events %d, %d, %d, %d): %s",
        s.inject().option(),
        e,
        c.injected(),
        c.neighbours(),
        e - 2,
        e - 1,
        e + 1,
        e + 2,
        (c.apart() ? "" : "not ") + side + " all four");
  }

  /** After several runs: each run's summary again, and how many were apart. */
  static void printTally(PrintWriter out, List<SurpriseRun.Result> results) {
    long apart = results.stream().filter(r -> r.comparison().apart()).count();
    for (SurpriseRun.Result r : results) {
      out.println(summary(r) + "  [" + r.streamId() + "]");
    }
    out.printf(
        Locale.ROOT,
        "apart:      %d/%d runs (injected event above all four neighbours; below, for repeat)%n",
        apart,
        results.size());
    out.flush();
  }

  /** The runs as JSON, one object per run with one per event. */
  static String json(List<SurpriseRun.Result> results, String fingerprint) {
    List<String> runs = new ArrayList<>();
    for (SurpriseRun.Result r : results) {
      SurpriseStream s = r.stream();
      List<String> events = new ArrayList<>();
      for (int i = 0; i < s.events().size(); i++) {
        events.add(
            String.format(
                Locale.ROOT,
                "{\"index\": %d, \"bytes\": %d, \"surpriseBitsPerByte\": %.4f, \"injected\": %b}",
                i + 1,
                s.bytes(i),
                r.bitsPerByte()[i],
                i == s.injectedAt()));
      }
      runs.add(
          String.format(
              Locale.ROOT,
              "{\"task\": \"%s\", \"stream\": %s, \"seed\": %d, \"inject\": \"%s\", "
                  + "\"injectedIndex\": %d, \"copyOf\": %s, \"corpus\": %s, \"seconds\": %.3f, "
                  + "\"injectedBitsPerByte\": %.4f, \"neighboursBitsPerByte\": %.4f, "
                  + "\"apart\": %b,\n     \"events\": [\n      %s]}",
              DemoCommand.SURPRISE,
              DemoCommand.quote(r.streamId()),
              r.seed(),
              s.inject().option(),
              s.injectedAt() + 1,
              s.copyOf() < 0 ? "null" : String.valueOf(s.copyOf() + 1),
              DemoCommand.quote(s.corpus()),
              r.seconds(),
              r.comparison().injected(),
              r.comparison().neighbours(),
              r.comparison().apart(),
              String.join(",\n      ", events)));
    }
    return DemoCommand.jsonRuns(fingerprint, runs);
  }
}
