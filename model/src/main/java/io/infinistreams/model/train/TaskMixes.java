package io.infinistreams.model.train;

import io.infinistreams.model.data.ChatRecallTask;
import io.infinistreams.model.data.PasskeyTask;
import io.infinistreams.model.data.RecallTask;
import io.infinistreams.model.data.SyntheticText;
import io.infinistreams.model.data.TaskMix;
import io.infinistreams.model.data.TextCorpus;
import io.infinistreams.model.data.TextTask;
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

  /** Parses {@code passkey=0.6,chat=0.2,text=0.2} into a mix. */
  public static TaskMix build(TrainConfig c) {
    List<TaskMix.Entry> entries = new ArrayList<>();
    for (String part : c.mix().split(",")) {
      String[] kv = part.trim().split("=");
      if (kv.length != 2) {
        throw new IllegalArgumentException("mix entry '" + part + "' is not task=weight");
      }
      double weight = Double.parseDouble(kv[1]);
      switch (kv[0]) {
        case "passkey" -> entries.add(new TaskMix.Entry(
            new PasskeyTask(c.localFraction(), c.answerWeight()), weight));
        case "chat" -> entries.add(new TaskMix.Entry(new ChatRecallTask(3, c.answerWeight()),
            weight));
        case "recall" -> entries.add(new TaskMix.Entry(new RecallTask(c.answerWeight()), weight));
        case "text" -> entries.add(new TaskMix.Entry(new TextTask(corpus(c.corpus())), weight));
        default -> throw new IllegalArgumentException("unknown task '" + kv[0]
            + "' (passkey, recall, chat, text)");
      }
    }
    return new TaskMix(entries);
  }
}
