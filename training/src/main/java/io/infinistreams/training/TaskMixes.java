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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds the {@link TaskMix} and the text corpus a {@link TrainConfig} names. */
public final class TaskMixes {
  /** Fraction of the corpus held out for evaluation (its tail). */
  public static final double HELD_OUT = 0.05;

  private TaskMixes() {}

  /** The corpus named by {@code spec}: kjv, synthetic, or a file path. */
  public static TextCorpus corpus(String spec) {
    try {
      return switch (spec) {
        case "synthetic" -> SyntheticText.corpus(1, 400_000, HELD_OUT);
        case "kjv" -> TextCorpus.kjv(HELD_OUT).orElseThrow(() -> new IllegalStateException(
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
   * {@code ;}, each after the first prefixed with the step it starts at:
   * {@code passkey=1;1500:passkey=0.6,chat=0.2,text=0.2}.
   */
  public static TaskMix build(TrainConfig c) {
    List<TaskMix.Phase> phases = new ArrayList<>();
    TextCorpus[] text = new TextCorpus[1]; // read once, shared by the phases
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
      phases.add(new TaskMix.Phase(from, entries(spec, c, text)));
    }
    return TaskMix.phased(phases);
  }

  private static List<TaskMix.Entry> entries(String mix, TrainConfig c, TextCorpus[] text) {
    List<TaskMix.Entry> entries = new ArrayList<>();
    for (String part : mix.split(",")) {
      String[] kv = part.trim().split("=");
      if (kv.length != 2) {
        throw new IllegalArgumentException("mix entry '" + part + "' is not task=weight");
      }
      double weight = Double.parseDouble(kv[1]);
      switch (kv[0]) {
        case "passkey" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(c.localFraction(), c.answerWeight()), weight));
        case "passkey-spread" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(c.localFraction(), c.answerWeight(), true), weight));
        case "passkey-uniform" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(0, c.answerWeight()), weight)); // depth uniform, never forced local
        case "passkey-straddle" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(0, c.answerWeight(), false, FarNeedle.ANY_BOUNDARY, false), weight));
        case "passkey-into-open" -> entries.add(new TaskMix.Entry( // memory into the open segment
            new PasskeyTask(0, c.answerWeight(), false, FarNeedle.OPEN_BOUNDARY, false), weight));
        case "passkey-into-open-head" -> entries.add(new TaskMix.Entry( // key wholly open
            new PasskeyTask(0, c.answerWeight(), false, FarNeedle.OPEN_HEAD, false), weight));
        case "passkey-cut-answer" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(0, c.answerWeight(), false, FarNeedle.ANYWHERE, true), weight));
        case "chat" -> entries.add(new TaskMix.Entry(new ChatRecallTask(3, c.answerWeight()),
            weight));
        case "recall" -> entries.add(new TaskMix.Entry(new RecallTask(c.answerWeight()), weight));
        case "copy" -> entries.add(new TaskMix.Entry(new CopyTask(c.answerWeight()), weight));
        case "text" -> {
          if (text[0] == null) {
            text[0] = corpus(c.corpus());
          }
          entries.add(new TaskMix.Entry(new TextTask(text[0]), weight));
        }
        default -> throw new IllegalArgumentException("unknown task '" + kv[0]
            + "' (passkey, passkey-spread, passkey-uniform, passkey-straddle, passkey-into-open,"
            + " passkey-into-open-head, passkey-cut-answer, copy, recall, chat, text)");
      }
    }
    return entries;
  }
}
