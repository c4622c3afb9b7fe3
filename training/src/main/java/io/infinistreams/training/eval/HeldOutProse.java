package io.infinistreams.training.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.prose.Corpora;
import io.infinistreams.tasks.prose.ProseSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The prose an evaluation reads: the held-out split of the prepared corpora (written by {@value
 * #PREPARE}; training never reads it), or one corpus of it. The retrieval tasks hide their
 * statements in {@link #source()}; the language-modelling rows score a fixed draw of each corpus
 * ({@link #lmTokens}).
 *
 * @param selection what {@code --heldout} asked for: a held-out corpus's name or {@value #ALL}
 * @param names the held-out corpora read, in manifest order
 * @param source their mix (by the manifest's default weights) or the one corpus
 * @param corpora each corpus alone, as {@code names}
 */
record HeldOutProse(
    String selection, List<String> names, ProseSource source, List<ProseSource> corpora) {

  /** The script that prepares the corpora, relative to the repository. */
  static final String PREPARE = "training/corpora/prepare.sh";

  /** {@code --heldout} for every held-out corpus. */
  static final String ALL = "all";

  /** Bytes of prose drawn to estimate bytes per word ({@link #bytesPerWord}). */
  private static final int WORD_SAMPLE = 1 << 18;

  /** The prepared corpora are missing or unreadable; the message is one line. */
  static final class Missing extends Exception {
    Missing(String message) {
      super(message);
    }
  }

  /**
   * The held-out prose of the corpora folder {@code dir} ({@code shownAs} names it in messages,
   * null for the default folder).
   *
   * @throws Missing if the folder has no usable prepared corpora
   * @throws IllegalArgumentException if {@code selection} is neither {@value #ALL} nor a held-out
   *     corpus of the manifest
   */
  static HeldOutProse load(Path dir, String shownAs, String selection) throws Missing {
    String where = shownAs == null ? "the default corpora folder" : shownAs;
    String run = "run " + PREPARE + (shownAs == null ? "" : " " + shownAs);
    if (!Files.isRegularFile(dir.resolve(Corpora.MANIFEST))) {
      throw new Missing(
          "no prepared corpora in " + where + " (no " + Corpora.MANIFEST + "): " + run + " first");
    }
    try {
      Corpora c = Corpora.load(dir);
      List<Corpora.Entry> held = c.split(Corpora.HELD_OUT);
      if (held.isEmpty()) {
        throw new Missing("the corpora in " + where + " have no held-out corpus: " + run);
      }
      List<String> all = held.stream().map(Corpora.Entry::name).toList();
      List<String> names = selection.equals(ALL) ? all : List.of(selection);
      if (!all.containsAll(names)) {
        throw new IllegalArgumentException(
            "--heldout: no held-out corpus '"
                + selection
                + "' (held-out corpora: "
                + String.join(", ", all)
                + "; or "
                + ALL
                + ")");
      }
      List<ProseSource> corpora = new ArrayList<>();
      for (String name : names) {
        corpora.add(c.read(name));
      }
      ProseSource source = selection.equals(ALL) ? c.source(Corpora.HELD_OUT) : corpora.get(0);
      return new HeldOutProse(selection, names, source, corpora);
    } catch (IOException e) {
      throw new Missing(
          "the prepared corpora in "
              + where
              + " cannot be read ("
              + e.getMessage().replace('\n', ' ')
              + "): "
              + run
              + " again");
    }
  }

  /** The corpora and their shares of the documents: "sotu 77%, europarl 23%". */
  String shares() {
    List<String> out = new ArrayList<>();
    for (String name : source.corpusNames()) {
      out.add(name + String.format(Locale.ROOT, " %.0f%%", 100 * source.share(name)));
    }
    return String.join(", ", out);
  }

  /**
   * {@code bytes} tokens of corpus {@code i}: a span from the start of a paragraph drawn with the
   * fixed seed {@link #lmSeed}, so every model is scored on the same text.
   */
  int[] lmTokens(int i, int bytes) {
    return ByteTokenizer.encode(corpora.get(i).text(new Random(lmSeed(names.get(i))), bytes));
  }

  /** The seed of corpus {@code name}'s language-modelling draw. */
  static long lmSeed(String name) {
    return name.hashCode();
  }

  /**
   * UTF-8 bytes per whitespace-separated word (the space after it included) of a fixed draw of
   * {@link #source()}: at about 0.75 English words per GPT-2 token, a GPT-2 token is about 0.75
   * times this many bytes.
   */
  double bytesPerWord() {
    String text = source.text(new Random(1), WORD_SAMPLE);
    long words = text.strip().split("\\s+").length;
    return WORD_SAMPLE / (double) Math.max(1, words);
  }
}
