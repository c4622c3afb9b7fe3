package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.tasks.prose.Phrasing;
import io.infinistreams.tasks.prose.ProseSource;
import io.infinistreams.tasks.prose.RetrievalDocument;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The prose retrieval grids on a tiny random model and prose written for the tests (no prepared
 * corpora needed): what a trial records, the memory-off baseline on the same documents, the cell
 * journals, the summary, {@code --skip} and the message when the corpora are missing.
 */
class RetrievalEvalTest {

  /** Plain paragraphs written for these tests. */
  static final String TEXT =
      String.join(
          "\n\n",
          "The morning train left the station on time. Most of the passengers were reading, and a"
              + " few were asleep before the first stop. Outside, the fields were still grey with"
              + " frost.",
          "A committee was formed to look at the budget of the town. It met every second week in"
              + " the library. Its first report asked for a new roof on the school and more money"
              + " for the roads.",
          "The river rose after three days of rain. Farmers moved their animals to higher ground,"
              + " and the bridge on the old road was closed until the water went down again.",
          "Members of the council spoke for and against the plan. Some wanted the market moved to"
              + " the square; others said the square was too small. In the end the vote was put off"
              + " to the spring.",
          "She opened the letter at the kitchen table. It was short and polite, and it said that the"
              + " shop would close at the end of the month. She read it twice and then put it in a"
              + " drawer.",
          "Trade between the two ports grew every year. Ships carried grain one way and cloth the"
              + " other, and the harbour was made deeper so that larger ships could come in at low"
              + " tide.",
          "The museum shows tools that were used on farms a hundred years ago. Children like the"
              + " big wooden plough best. There is also a room of old maps and a small garden behind"
              + " the building.",
          "We believe that every child should be able to read by the age of eight. To that end we"
              + " will train more teachers, open more libraries, and keep schools open in the"
              + " evening for parents who wish to learn.",
          "The storm reached the coast late at night. Roofs were damaged in several villages, but no"
              + " one was hurt. By noon the next day the sky was clear and the wind had dropped.",
          "He walked along the harbour wall every evening. The gulls knew him and followed him,"
              + " hoping for bread. When he was ill for a week, a neighbour took his place.");

  static final ProseSource PROSE = ProseSource.fromText("fixture", TEXT);

  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  /**
   * Every trial records its document (expected value, corpus, distance) and what the model
   * generated after the prompt from the absorbed context, scored by the document's own {@code
   * correct}; the memory-off outcome is what the memory-off model generates on the same document
   * absorbed in full (the grid takes the open-segment shortcut), and the memory-on one what
   * absorbing the whole context alone gives (the grid absorbs in lockstep).
   */
  @Test
  void trialsScoreTheGeneratedTextOnTheSameDocumentsWithAndWithoutMemory() throws Exception {
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 3)) {
      InfiniModel off = InfiniModel.fromWeights(m.weights().withMemoryOff());
      for (String name : RetrievalEval.TASKS) {
        RetrievalEval eval =
            new RetrievalEval(
                RetrievalEval.task(name, PROSE),
                List.of(300, 500),
                List.of(0.0, 0.5, 1.0),
                2,
                5,
                2);
        assertEquals(Phrasing.EVAL, eval.task().phrasing());
        List<RetrievalEval.Row> rows = eval.run(m, off, QUIET, null, r -> {});
        assertEquals(2, rows.size(), name);
        for (RetrievalEval.Row row : rows) {
          assertEquals(6, row.trials().size(), name);
          for (RetrievalEval.Trial t : row.trials()) {
            RetrievalDocument d = eval.document(row.length(), t.depthIndex(), t.index());
            assertEquals(row.length(), d.tokens().length);
            assertEquals(d.expected(), t.expected());
            assertEquals(d.corpus(), t.corpus());
            assertEquals(d.distance(), t.distance());
            assertEquals(d.needles().size(), t.statements());
            int[] context = RetrievalEval.afterBos(d);
            StreamState with = m.absorb(m.newState(), context, false).state();
            StreamState without = off.absorb(off.newState(), context, false).state();
            assertEquals(RetrievalEval.ask(m, with, d), t.memory(), name + " " + t);
            assertEquals(RetrievalEval.ask(off, without, d), t.memoryOff(), name + " " + t);
            assertEquals(d.correct(t.memory().generated()), t.memory().correct());
            assertEquals(d.correct(t.memoryOff().generated()), t.memoryOff().correct());
          }
        }
      }
    }
  }

  /**
   * A trial's documents of a row are the same prose with the answering statement moved: every
   * task's fork state is what absorbing the shared prefix alone gives; for the needle and multi-key
   * tasks each shallower document forks after most of the prose before its statement, and the row
   * absorbs well under its documents' tokens.
   */
  @Test
  void theDepthsOfATrialShareTheirProseAndForkExactly() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 4)) {
      for (String name : RetrievalEval.TASKS) {
        boolean moved = !List.of("needle", "multikey", "multikey-near").contains(name);
        RetrievalEval eval =
            new RetrievalEval(
                RetrievalEval.task(name, PROSE), List.of(4000), List.of(0.3, 0.6, 1.0), 3, 5, 2);
        RetrievalEval.Fork[][] forks = eval.forks(m, pool, 4000, List.of(2, 0, 1));
        for (int i = 0; i < 3; i++) {
          RetrievalEval.Fork[] f = forks[i];
          for (int j = 0; j < 3; j++) {
            int[] text = RetrievalEval.afterBos(eval.document(4000, j, i));
            assertEquals(text.length, f[j].tokens(), name);
            assertEquals(
                m.absorb(m.newState(), Arrays.copyOf(text, f[j].shared()), false).state(),
                f[j].state(),
                name + " trial " + i + " depth " + j);
          }
          assertEquals(f[2].tokens(), f[2].shared(), name);
          if (moved) {
            continue; // statements other than the answer move with the depth: any share is exact
          }
          assertTrue(f[0].shared() > 0.15 * f[0].tokens(), name + " " + f[0].shared());
          assertTrue(f[1].shared() > 0.45 * f[1].tokens(), name + " " + f[1].shared());
          assertTrue(f[0].shared() <= f[1].shared(), name);
        }
        if (moved) {
          continue;
        }
        long work = RetrievalEval.work(forks);
        long documents = RetrievalEval.documentTokens(forks);
        assertTrue(work < 0.8 * documents, name + ": " + work + " of " + documents);
        assertTrue(work >= documents / 3, name + ": " + work + " of " + documents);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * A trial is correct when the first word generated is the value, whatever follows it; a wrong
   * answer that is another statement's value is counted as a distractor.
   */
  @Test
  void theFirstWordIsScoredAndDistractorsAreSpotted() {
    RetrievalEval eval =
        new RetrievalEval(
            RetrievalEval.task("multikey-near", PROSE), List.of(2000), List.of(0.5), 1, 9, 1);
    RetrievalDocument d = eval.document(2000, 0, 0);
    String other = d.needles().stream().filter(n -> !n.answers()).findFirst().orElseThrow().value();
    assertNotEquals(d.expected(), other);
    assertEquals(
        new RetrievalEval.Outcome(" " + d.expected() + ". And more", true, false),
        RetrievalEval.outcome(d, " " + d.expected() + ". And more"));
    assertEquals(
        new RetrievalEval.Outcome(" " + other + ".", false, true),
        RetrievalEval.outcome(d, " " + other + "."));
    assertEquals(new RetrievalEval.Outcome(" ...", false, false), RetrievalEval.outcome(d, " ..."));
    assertEquals(
        new RetrievalEval.Outcome("x" + d.expected(), false, false),
        RetrievalEval.outcome(d, "x" + d.expected()));
  }

  /** A length too short for some document is refused before anything runs, naming the task. */
  @Test
  void aTooShortLengthIsRefused() {
    RetrievalEval eval =
        new RetrievalEval(
            RetrievalEval.task("facts", PROSE), List.of(1000, 60), List.of(0.0, 1.0), 2, 5, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, eval::check);
    assertTrue(e.getMessage().startsWith("facts: 60 tokens is too short"), e.getMessage());
    new RetrievalEval(RetrievalEval.task("facts", PROSE), List.of(1000), List.of(0.0, 1.0), 2, 5, 1)
        .check();
  }

  /**
   * A run of every part writes, per prose task, a table with memory and one without, two heatmaps,
   * a cell journal and its rows in results.json (both outcomes per trial, documents from the
   * held-out corpora only), and the held-out prose rows of the LM part.
   */
  @Test
  void everyProseTaskGetsItsTablesHeatmapsAndResults(@TempDir Path dir) throws Exception {
    Path ckpt = checkpoint(dir);
    Path corpora = corpora(dir);
    Path out = dir.resolve("eval");
    String[] args = {
      "--model",
      ckpt.toString(),
      "--out",
      out.toString(),
      "--prose",
      corpora.toString(),
      "--lengths",
      "300,600",
      "--depth-step",
      "0.5",
      "--trials",
      "1",
      "--skip",
      "passkey,baseline,chat",
      "--corpus",
      "synthetic",
      "--lm-bytes",
      "256",
      "--lm-prose-bytes",
      "300",
      "--surprise-trials",
      "1",
      "--threads",
      "2"
    };
    assertEquals(0, new CommandLine(quiet(new EvalCommand())).execute(args));
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(
        md.startsWith("# Evaluation results\n\nCommand: `eval " + String.join(" ", args) + "`"),
        md);
    assertTrue(md.contains("## Retrieval from held-out prose"), md);
    assertTrue(md.contains("about 4 bytes per GPT-2 token"), md);
    assertTrue(md.contains("## Surprise: another kind of text among held-out prose"), md);
    assertTrue(md.contains("| a copy of an earlier event |"), md);
    JsonObject results = json(out.resolve("results.json"));
    for (String task : RetrievalEval.TASKS) {
      String page = Files.readString(out.resolve(task + ".md"));
      assertTrue(page.contains("## Retrieval from held-out prose") && page.contains("### " + task));
      assertEquals(1, page.split("\n### ", -1).length - 1, "one task per page: " + task);
      String section = md.substring(md.indexOf("### " + task + "\n"));
      assertTrue(
          section.contains(
              "Memory on, accuracy (%):\n\n| length | GPT-2 | 0% | 50% | 100%"
                  + " | mean | seconds |"),
          task + "\n" + section);
      assertTrue(
          section.contains(
              "Memory off, accuracy (%):\n\n| length | GPT-2 | 0% | 50% |" + " 100% | mean |"),
          task + "\n" + section);
      assertTrue(section.contains("| 600 | 150 |"), section);
      for (String f : List.of(task + ".png", task + "-baseline.png")) {
        assertTrue(Files.size(out.resolve(f)) > 100, f);
      }
      assertEquals(1 + 2 * 3, Files.readAllLines(out.resolve(task + ".cells.jsonl")).size());
      JsonObject r = results.getAsJsonObject(task);
      assertEquals("EVAL", r.get("phrasing").getAsString());
      assertEquals("sotu+europarl", r.get("prose").getAsString());
      JsonArray rows = r.getAsJsonArray("rows");
      assertEquals(2, rows.size());
      for (var row : rows) {
        JsonArray trials = row.getAsJsonObject().getAsJsonArray("trials");
        assertEquals(3, trials.size());
        for (var t : trials) {
          JsonObject o = t.getAsJsonObject();
          assertTrue(
              Set.of("sotu", "europarl", "sotu+europarl").contains(o.get("corpus").getAsString()),
              o.toString());
          for (String key : List.of("expected", "distance", "memory", "memoryOff")) {
            assertTrue(o.has(key), key + " in " + o);
          }
          assertTrue(o.getAsJsonObject("memoryOff").has("generated"), o.toString());
        }
      }
    }
    JsonArray lm = results.getAsJsonArray("lmProse");
    assertEquals(
        List.of("sotu", "europarl"),
        List.of(
            lm.get(0).getAsJsonObject().get("corpus").getAsString(),
            lm.get(1).getAsJsonObject().get("corpus").getAsString()));
    assertEquals(
        300, lm.get(0).getAsJsonObject().getAsJsonObject("memory").get("bytes").getAsInt());
    assertTrue(md.contains("| sotu | 300 |") && md.contains("| europarl | 300 |"), md);
    assertTrue(md.contains("Corpus: synthetic"), md);
  }

  /**
   * An interrupted prose grid resumes from its cell journal: cells kept there are read back, not
   * run again (an edited cell shows up as edited), a last line cut short runs again, and the rest
   * equals the uninterrupted run. A journal of another seed or phrasing share is refused; a fresh
   * run with {@code --phrasing TRAIN} records its share and draws other trials. Parts named by
   * {@code --skip} leave no trace.
   */
  @Test
  void anInterruptedProseGridResumesFromItsJournalAndSkippedPartsLeaveNoTrace(@TempDir Path dir)
      throws Exception {
    Path ckpt = checkpoint(dir);
    Path corpora = corpora(dir);
    Path out = dir.resolve("eval");
    List<String> args =
        List.of(
            "--model",
            ckpt.toString(),
            "--out",
            out.toString(),
            "--prose",
            corpora.toString(),
            "--lengths",
            "300,500",
            "--depth-step",
            "0.5",
            "--trials",
            "2",
            "--skip",
            "passkey,baseline,chat,lm,surprise,multikey,facts,chat-facts",
            "--heldout",
            "sotu");
    assertEquals(0, new CommandLine(quiet(new EvalCommand())).execute(args.toArray(String[]::new)));
    String md = Files.readString(out.resolve("summary.md"));
    for (String skipped : List.of("multikey", "facts", "chat-facts")) {
      assertFalse(md.contains("### " + skipped + "\n"), skipped);
      assertFalse(Files.exists(out.resolve(skipped + ".cells.jsonl")), skipped);
      assertFalse(Files.exists(out.resolve(skipped + ".png")), skipped);
    }
    assertTrue(md.contains("### needle\n") && md.contains("### multikey-near\n"), md);
    assertFalse(
        md.contains("Passkey") || md.contains("Chat recall") || md.contains("language modelling"),
        md);
    JsonObject whole = json(out.resolve("results.json")).getAsJsonObject("needle");
    Path journal = out.resolve("needle.cells.jsonl");
    List<String> lines = Files.readAllLines(journal);
    assertEquals(1 + 2 * 3, lines.size(), "a header and one line per cell");

    String edited =
        lines
            .get(2)
            .replaceFirst(
                "\"generated\":\"(\\\\.|[^\"\\\\])*\"", "\"generated\":\"from the journal\"");
    assertNotEquals(lines.get(2), edited);
    Files.write(
        journal,
        List.of(
            lines.get(0),
            lines.get(1),
            edited,
            lines.get(3).substring(0, lines.get(3).length() / 2)));
    List<String> resumed = new ArrayList<>(args);
    resumed.add("--resume");
    assertEquals(
        0, new CommandLine(quiet(new EvalCommand())).execute(resumed.toArray(String[]::new)));
    List<JsonObject> before = trials(whole);
    List<JsonObject> after = trials(json(out.resolve("results.json")).getAsJsonObject("needle"));
    assertEquals(12, after.size());
    for (JsonObject t : after) {
      assertEquals("sotu", t.get("corpus").getAsString(), "--heldout sotu: " + t);
    }
    int fromJournal = 0;
    for (int i = 0; i < before.size(); i++) {
      JsonObject want = before.get(i).deepCopy();
      JsonObject memory = after.get(i).getAsJsonObject("memory");
      if (memory.get("generated").getAsString().equals("from the journal")) {
        fromJournal++;
        want.getAsJsonObject("memory").addProperty("generated", "from the journal");
      }
      assertEquals(want, after.get(i), "trial " + i);
    }
    assertEquals(1, fromJournal, "the edited trial was read back, not run again");
    assertEquals(7, Files.readAllLines(journal).size(), "the cut cell ran again and was kept");

    List<String> otherSeed = new ArrayList<>(resumed);
    otherSeed.addAll(List.of("--seed", "8"));
    assertNotEquals(
        0,
        new CommandLine(quiet(new EvalCommand())).execute(otherSeed.toArray(String[]::new)),
        "a journal of another seed is refused");

    List<String> otherPhrasing = new ArrayList<>(resumed);
    otherPhrasing.addAll(List.of("--phrasing", "TRAIN"));
    assertNotEquals(
        0,
        new CommandLine(quiet(new EvalCommand())).execute(otherPhrasing.toArray(String[]::new)),
        "a journal of the other phrasing share is refused");
    otherPhrasing.remove("--resume");
    assertEquals(
        0, new CommandLine(quiet(new EvalCommand())).execute(otherPhrasing.toArray(String[]::new)));
    JsonObject train = json(out.resolve("results.json")).getAsJsonObject("needle");
    assertEquals("TRAIN", train.get("phrasing").getAsString());
    String trainMd = Files.readString(out.resolve("summary.md"));
    assertTrue(trainMd.contains("values of the training share"), trainMd);
    assertFalse(trainMd.contains("which training never uses"), trainMd);
    assertNotEquals(before, trials(train), "the training share draws other trials");
  }

  /**
   * Without prepared corpora: asked for with {@code --prose}, eval stops before anything runs with
   * one line that says how to prepare them; from the default folder, it skips the prose parts with
   * a note (kept in the summary) and runs the rest. A {@code --heldout} that is not a held-out
   * corpus is refused.
   */
  @Test
  void missingCorporaStopWithOneLineWhenAskedForAndAreSkippedWithANoteOtherwise(@TempDir Path dir)
      throws Exception {
    Path ckpt = checkpoint(dir);
    Path empty = Files.createDirectories(dir.resolve("no-corpora"));
    Path out = dir.resolve("eval");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    EvalCommand asked = new EvalCommand();
    asked.err = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertEquals(
        2,
        new CommandLine(asked)
            .execute(
                "--model", ckpt.toString(), "--out", out.toString(), "--prose", empty.toString()));
    List<String> said = err.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(1, said.size(), said.toString());
    assertTrue(
        said.get(0).contains("no prepared corpora in " + empty)
            && said.get(0).contains("run training/corpora/prepare.sh " + empty),
        said.get(0));
    assertFalse(Files.exists(out), "nothing ran");

    err.reset();
    EvalCommand byDefault = new EvalCommand();
    byDefault.err = new PrintStream(err, true, StandardCharsets.UTF_8);
    byDefault.defaultProse = empty;
    assertEquals(
        0,
        new CommandLine(byDefault)
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--skip",
                "passkey,baseline,chat",
                "--corpus",
                "synthetic",
                "--lm-bytes",
                "256"));
    String note =
        "note: skipping needle, multikey, multikey-near, facts, chat-facts, surprise, writes and"
            + " the held-out prose rows of lm: no prepared corpora in the default corpora folder";
    assertTrue(err.toString(StandardCharsets.UTF_8).contains(note), err.toString());
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(
        md.contains(
            "Not run (needle, multikey, multikey-near, facts, chat-facts): no"
                + " prepared corpora in the default corpora folder"),
        md);
    assertTrue(md.contains("run training/corpora/prepare.sh first"), md);
    assertTrue(md.contains("Corpus: synthetic"), md);

    Path corpora = corpora(dir);
    for (String bad : List.of("kjv", "nosuch")) {
      assertEquals(
          2,
          new CommandLine(quiet(new EvalCommand()))
              .execute(
                  "--model",
                  ckpt.toString(),
                  "--out",
                  dir.resolve("bad").toString(),
                  "--prose",
                  corpora.toString(),
                  "--heldout",
                  bad),
          bad);
    }
    assertFalse(Files.exists(dir.resolve("bad")));
  }

  /** The held-out prose rows of lm draw the same text of a corpus in every run. */
  @Test
  void theLmDrawOfACorpusIsFixed(@TempDir Path dir) throws Exception {
    Path corpora = corpora(dir);
    HeldOutProse a = HeldOutProse.load(corpora, null, HeldOutProse.ALL);
    HeldOutProse b = HeldOutProse.load(corpora, null, "europarl");
    assertEquals(List.of("sotu", "europarl"), a.names());
    assertEquals(List.of("europarl"), b.names());
    assertArrayEquals(a.lmTokens(1, 500), b.lmTokens(0, 500));
    assertArrayEquals(a.lmTokens(0, 500), a.lmTokens(0, 500));
    assertEquals(500, a.lmTokens(0, 500).length);
    assertFalse(Arrays.equals(a.lmTokens(0, 500), a.lmTokens(1, 500)), "each its own text");
    assertTrue(a.bytesPerWord() > 3 && a.bytesPerWord() < 8, "" + a.bytesPerWord());
  }

  /** The trials of a grid's results, row after row. */
  private static List<JsonObject> trials(JsonObject grid) {
    List<JsonObject> out = new ArrayList<>();
    for (var row : grid.getAsJsonArray("rows")) {
      for (var t : row.getAsJsonObject().getAsJsonArray("trials")) {
        out.add(t.getAsJsonObject());
      }
    }
    return out;
  }

  private static EvalCommand quiet(EvalCommand c) {
    c.err = QUIET;
    return c;
  }

  private static Path checkpoint(Path dir) {
    Path ckpt = dir.resolve("model");
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 5)) {
      m.save(ckpt, "random tiny model for RetrievalEvalTest");
    }
    return ckpt;
  }

  /**
   * A corpora folder as prepare.sh writes it, from the test's prose: two held-out corpora (the
   * paragraphs in two halves) and a training one that eval must not read.
   */
  static Path corpora(Path dir) throws IOException {
    Path c = Files.createDirectories(dir.resolve("corpora"));
    String[] paragraphs = TEXT.split("\n\n");
    int half = paragraphs.length / 2;
    Files.writeString(
        c.resolve("sotu.txt"), String.join("\n\n", List.of(paragraphs).subList(0, half)) + "\n");
    Files.writeString(
        c.resolve("europarl.txt"),
        String.join("\n\n", List.of(paragraphs).subList(half, paragraphs.length)) + "\n");
    Files.writeString(c.resolve("kjv.txt"), "In the beginning.\n");
    Files.writeString(
        c.resolve("corpora.json"),
        "{\"corpora\": ["
            + "{\"name\": \"kjv\", \"split\": \"train\"},"
            + "{\"name\": \"sotu\", \"split\": \"heldout\"},"
            + "{\"name\": \"europarl\", \"split\": \"heldout\"}]}");
    return c;
  }

  private static JsonObject json(Path file) throws IOException {
    return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
  }
}
