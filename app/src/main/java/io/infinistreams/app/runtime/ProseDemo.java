package io.infinistreams.app.runtime;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.prose.Corpora;
import io.infinistreams.tasks.prose.Phrasing;
import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.RetrievalDocument;
import io.infinistreams.tasks.prose.RetrievalTask;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The real-prose retrieval tasks of {@code infini demo}, built as the evaluation builds them: the
 * {@link Phrasing#EVAL} share of templates and values (phrasings training never saw), statements
 * hidden in a haystack of prose (the held-out corpora, or the user's own text), the reply graded by
 * {@link RetrievalDocument#correct} (its first word must be the value).
 *
 * @param task the task that makes the documents
 */
public record ProseDemo(RetrievalTask task) implements DemoTask {

  /** The prose tasks, as {@code --task} names them. */
  public static final List<String> TASKS = List.of("needle", "multikey", "facts");

  /** Tokens generated for the answer, as the evaluation generates them. */
  static final int MAX_NEW_TOKENS = 16;

  /**
   * The evaluation build of task {@code name} ({@link #TASKS}) on {@code prose} (loss weights play
   * no part here).
   */
  public static ProseDemo of(String name, ProseSource prose) {
    if (!TASKS.contains(name)) {
      throw new IllegalArgumentException(
          "no prose task " + name + " (tasks: " + String.join(", ", TASKS) + ")");
    }
    return new ProseDemo(RetrievalTask.evaluation(name, prose));
  }

  /** The haystack could not be found or read; the message is one line, for the user. */
  public static final class NoHaystack extends Exception {
    private static final long serialVersionUID = 1L;

    NoHaystack(String message) {
      super(message);
    }
  }

  /** Where the haystack came from and its prose. */
  public record Haystack(String description, ProseSource prose) {}

  /**
   * The haystack: the UTF-8 text {@code file} (paragraphs separated by blank lines) if it is not
   * null, else the held-out corpora of the prepared corpora folder {@code corpora} mixed by the
   * manifest's default weights, as the evaluation reads them.
   *
   * @throws NoHaystack if the file cannot be read, or there is no file and no held-out corpus
   */
  public static Haystack haystack(Path file, Path corpora) throws NoHaystack {
    if (file != null) {
      try {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        ProseSource prose = ProseSource.fromText(String.valueOf(file.getFileName()), text);
        return new Haystack(
            String.format(Locale.ROOT, "%s (%,d bytes)", file, prose.bytes()), prose);
      } catch (NoSuchFileException e) {
        throw new NoHaystack("--haystack: no file " + file);
      } catch (CharacterCodingException e) {
        throw new NoHaystack("--haystack: " + file + " is not UTF-8 text");
      } catch (IOException e) {
        throw new NoHaystack("--haystack: cannot read " + file + " (" + e.getMessage() + ")");
      } catch (IllegalArgumentException e) {
        throw new NoHaystack("--haystack: " + file + " holds no text");
      }
    }
    String missing =
        "no haystack: pass --haystack FILE (any UTF-8 text), or prepare the corpora "
            + "(training/corpora/prepare.sh) so that "
            + corpora
            + " holds held-out corpora (the folder is $INFINI_DATA, else "
            + "~/.cache/infini-streams/corpora)";
    if (!Files.isRegularFile(corpora.resolve(Corpora.MANIFEST))) {
      throw new NoHaystack(missing + "; it has no " + Corpora.MANIFEST);
    }
    try {
      Corpora c = Corpora.load(corpora);
      if (c.split(Corpora.HELD_OUT).isEmpty()) {
        throw new NoHaystack(missing + "; its " + Corpora.MANIFEST + " names none");
      }
      ProseSource prose = c.source(Corpora.HELD_OUT);
      StringBuilder shares = new StringBuilder("held-out corpora ");
      for (String name : prose.corpusNames()) {
        shares.append(String.format(Locale.ROOT, "%s %.0f%%, ", name, 100 * prose.share(name)));
      }
      return new Haystack(shares.append("in ").append(corpora).toString(), prose);
    } catch (IOException | IllegalArgumentException e) {
      throw new NoHaystack(
          missing + "; they cannot be read (" + e.getMessage().replace('\n', ' ') + ")");
    }
  }

  @Override
  public String name() {
    return task.name();
  }

  /**
   * The task's document of {@code lengthTokens + 1} tokens (BOS, haystack, question), drawn with
   * {@code new Random(seed)}: the stream already starts with BOS, so the demo sends {@code
   * lengthTokens}.
   */
  @Override
  public DemoDocument document(int lengthTokens, double depth, long seed) {
    return new Question(task.document(new Random(seed), lengthTokens + 1, depth));
  }

  @Override
  public int defaultMaxTokens() {
    return MAX_NEW_TOKENS;
  }

  /**
   * A retrieval document as the demo streams and grades it: the context after BOS, the prompt as
   * text.
   */
  record Question(RetrievalDocument doc, String context, String prompt) implements DemoDocument {

    Question(RetrievalDocument doc) {
      this(doc, ByteTokenizer.decode(afterBos(doc)), ByteTokenizer.decode(doc.prompt()));
    }

    private static int[] afterBos(RetrievalDocument d) {
      int[] context = d.context();
      if (context.length == 0 || context[0] != ByteTokenizer.BOS) {
        throw new IllegalArgumentException("a document starts with BOS: " + d);
      }
      return Arrays.copyOfRange(context, 1, context.length);
    }

    @Override
    public String expected() {
      return doc.expected();
    }

    @Override
    public int needleOffset() {
      return doc.answering().start() - 1;
    }

    @Override
    public String describe() {
      int n = doc.needles().size();
      return " of "
          + doc.corpus()
          + " prose, "
          + (n == 1 ? "1 statement" : n + " statements, the answering one");
    }

    @Override
    public boolean correct(String reply) {
      return doc.correct(reply);
    }

    @Override
    public String whyWrong(String reply) {
      String word = RetrievalDocument.firstWord(reply);
      for (RetrievalDocument.Needle n : doc.needles()) {
        if (!n.answers() && n.value().equals(word)) {
          return " (the value of another statement, about " + n.label() + ")";
        }
      }
      return "";
    }
  }
}
