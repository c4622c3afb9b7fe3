package io.infinistreams.training;

import io.infinistreams.tasks.ChatRecallTask;
import io.infinistreams.tasks.CopyTask;
import io.infinistreams.tasks.PasskeyTask;
import io.infinistreams.tasks.PasskeyTask.FarNeedle;
import io.infinistreams.tasks.RecallTask;
import io.infinistreams.tasks.SyntheticText;
import io.infinistreams.tasks.TaskMix;
import io.infinistreams.tasks.TextCorpus;
import io.infinistreams.tasks.TextTask;
import io.infinistreams.tasks.prose.ChatFactTask;
import io.infinistreams.tasks.prose.Corpora;
import io.infinistreams.tasks.prose.FactTrackingTask;
import io.infinistreams.tasks.prose.MultiKeyTask;
import io.infinistreams.tasks.prose.NeedleTask;
import io.infinistreams.tasks.prose.Phrasing;
import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.ProseTextTask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds the {@link TaskMix} and the text corpus a {@link TrainConfig} names. */
public final class TaskMixes {
  /** Fraction of the corpus held out for evaluation (its tail). */
  public static final double HELD_OUT = 0.05;

  private TaskMixes() {}

  /** Every task name a mix may use. */
  public static final List<String> TASK_NAMES =
      List.of(
          "text",
          "needle",
          "multikey",
          "multikey-near",
          "facts",
          "chat-facts",
          "passkey",
          "passkey-spread",
          "passkey-uniform",
          "passkey-straddle",
          "passkey-into-open",
          "passkey-into-open-head",
          "passkey-cut-answer",
          "copy",
          "copy-recent",
          "recall",
          "chat");

  /** The task names of a mix (every phase), as written. */
  public static List<String> taskNames(String mix) {
    List<String> names = new ArrayList<>();
    for (String phase : mix.split(";")) {
      String spec = phase.substring(phase.indexOf(':') + 1);
      for (String part : spec.split(",")) {
        names.add(part.trim().split("=")[0].trim());
      }
    }
    return names;
  }

  /** The corpus spec of the prepared real-text corpora (training split). */
  public static final String PROSE = "prose";

  /**
   * The prose that the retrieval tasks hide their needles in, for the corpus {@code spec}: the
   * training split of the prepared corpora ({@link #PROSE}, see training/corpora), or the training
   * part of any other corpus {@link #corpus} reads, its paragraphs split at blank lines.
   */
  public static ProseSource prose(String spec) {
    try {
      if (PROSE.equals(spec)) {
        return Corpora.load(Corpora.defaultDirectory()).source(Corpora.TRAIN);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("the prepared corpora (run training/corpora/prepare.sh)", e);
    }
    TextCorpus c = corpus(spec);
    String train = new String(c.bytes(), 0, c.trainBytes(), StandardCharsets.UTF_8);
    return ProseSource.fromText(c.name(), train);
  }

  /** The corpus named by {@code spec}: kjv, synthetic, or a file path. */
  public static TextCorpus corpus(String spec) {
    try {
      return switch (spec) {
        case "synthetic" -> SyntheticText.corpus(1, 400_000, HELD_OUT);
        case "kjv" ->
            TextCorpus.kjv(HELD_OUT)
                .orElseThrow(
                    () ->
                        new IllegalStateException(
                            "corpus 'kjv' needs Debian's bible-kjv-text and bible-kjv: apt-get install"
                                + " bible-kjv-text bible-kjv (or pass --corpus synthetic or a text file)"));
        default -> TextCorpus.fromFile(Path.of(spec), HELD_OUT);
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Parses a mix: {@code passkey=0.6,chat=0.2,text=0.2}, or a curriculum of phases separated by
   * {@code ;}, each after the first prefixed with the step it starts at: {@code
   * passkey=1;1500:passkey=0.6,chat=0.2,text=0.2}.
   */
  public static TaskMix build(TrainConfig c) {
    List<TaskMix.Phase> phases = new ArrayList<>();
    TextCorpus[] text = new TextCorpus[1]; // read once, shared by the phases
    ProseSource[] prose = new ProseSource[1];
    String[] parts = c.mix().split(";");
    for (int i = 0; i < parts.length; i++) {
      String spec = parts[i].trim();
      long from = 0;
      int colon = spec.indexOf(':');
      if (colon >= 0) {
        try {
          from = Long.parseLong(spec.substring(0, colon).trim());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("phase '" + spec + "' must start with STEP:", e);
        }
        spec = spec.substring(colon + 1);
      } else if (i > 0) {
        throw new IllegalArgumentException("phase '" + spec + "' needs a start step (STEP:mix)");
      }
      phases.add(new TaskMix.Phase(from, entries(spec, c, text, prose)));
    }
    return TaskMix.phased(phases);
  }

  private static List<TaskMix.Entry> entries(
      String mix, TrainConfig c, TextCorpus[] text, ProseSource[] prose) {
    List<TaskMix.Entry> entries = new ArrayList<>();
    for (String part : mix.split(",")) {
      String[] kv = part.trim().split("=");
      if (kv.length != 2) {
        throw new IllegalArgumentException("mix entry '" + part + "' is not task=weight");
      }
      double weight = Double.parseDouble(kv[1]);
      switch (kv[0]) {
        case "passkey" ->
            entries.add(
                new TaskMix.Entry(new PasskeyTask(c.localFraction(), c.answerWeight()), weight));
        case "passkey-spread" ->
            entries.add(
                new TaskMix.Entry(
                    new PasskeyTask(c.localFraction(), c.answerWeight(), true), weight));
        case "passkey-uniform" ->
            entries.add(
                new TaskMix.Entry(
                    new PasskeyTask(0, c.answerWeight()),
                    weight)); // depth uniform, never forced local
        case "passkey-straddle" ->
            entries.add(
                new TaskMix.Entry(
                    new PasskeyTask(0, c.answerWeight(), false, FarNeedle.ANY_BOUNDARY, false),
                    weight));
        case "passkey-into-open" ->
            entries.add(
                new TaskMix.Entry( // memory into the open segment
                    new PasskeyTask(0, c.answerWeight(), false, FarNeedle.OPEN_BOUNDARY, false),
                    weight));
        case "passkey-into-open-head" ->
            entries.add(
                new TaskMix.Entry( // key wholly open
                    new PasskeyTask(0, c.answerWeight(), false, FarNeedle.OPEN_HEAD, false),
                    weight));
        case "passkey-cut-answer" ->
            entries.add(
                new TaskMix.Entry(
                    new PasskeyTask(0, c.answerWeight(), false, FarNeedle.ANYWHERE, true), weight));
        case "chat" ->
            entries.add(new TaskMix.Entry(new ChatRecallTask(3, c.answerWeight()), weight));
        case "recall" -> entries.add(new TaskMix.Entry(new RecallTask(c.answerWeight()), weight));
        case "copy" -> entries.add(new TaskMix.Entry(new CopyTask(c.answerWeight()), weight));
        case "copy-recent" ->
            entries.add(new TaskMix.Entry(new CopyTask(c.answerWeight(), 0.5), weight));
        case "text" -> {
          if (PROSE.equals(c.corpus())) {
            entries.add(new TaskMix.Entry(new ProseTextTask(prose(prose, c)), weight));
          } else {
            if (text[0] == null) {
              text[0] = corpus(c.corpus());
            }
            entries.add(new TaskMix.Entry(new TextTask(text[0]), weight));
          }
        }
        case "needle" ->
            entries.add(
                new TaskMix.Entry(
                    new NeedleTask(
                        prose(prose, c), Phrasing.TRAIN, c.answerWeight(), c.localFraction()),
                    weight));
        case "multikey" ->
            entries.add(
                new TaskMix.Entry(
                    new MultiKeyTask(
                        prose(prose, c),
                        Phrasing.TRAIN,
                        c.answerWeight(),
                        false,
                        c.localFraction()),
                    weight));
        case "multikey-near" ->
            entries.add(
                new TaskMix.Entry(
                    new MultiKeyTask(
                        prose(prose, c), Phrasing.TRAIN, c.answerWeight(), true, c.localFraction()),
                    weight));
        case "facts" ->
            entries.add(
                new TaskMix.Entry(
                    new FactTrackingTask(
                        prose(prose, c), Phrasing.TRAIN, c.answerWeight(), c.localFraction()),
                    weight));
        case "chat-facts" ->
            entries.add(
                new TaskMix.Entry(
                    new ChatFactTask(prose(prose, c), Phrasing.TRAIN, c.answerWeight()), weight));
        default ->
            throw new IllegalArgumentException(
                "unknown task '" + kv[0] + "' (" + String.join(", ", TASK_NAMES) + ")");
      }
    }
    return entries;
  }

  /** The config's prose, read once per mix. */
  private static ProseSource prose(ProseSource[] cache, TrainConfig c) {
    if (cache[0] == null) {
      cache[0] = prose(c.corpus());
    }
    return cache[0];
  }
}
