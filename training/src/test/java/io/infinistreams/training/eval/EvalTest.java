package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.tasks.PasskeyDocument;
import io.infinistreams.training.TaskMixes;
import io.infinistreams.training.TrainCheckpoint;
import io.infinistreams.training.TrainConfig;
import io.infinistreams.training.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The evaluator on a tiny random model: exact prefix sharing, parsing, and the files it writes. */
class EvalTest {
  /**
   * The prose parts (RetrievalEvalTest covers them): skipped, so no run reads this machine's
   * corpora.
   */
  private static final String PROSE_PARTS =
      "surprise,needle,multikey,multikey-near,facts,chat-facts";

  @Test
  void localHeadsAreParsedAsLayerDotHead() {
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 3)) {
      io.infinistreams.model.Weights w = m.weights();
      String want =
          w.withGateLogit(1, 0, io.infinistreams.model.Weights.LOCAL_GATE_LOGIT)
              .withGateLogit(0, 1, io.infinistreams.model.Weights.LOCAL_GATE_LOGIT)
              .fingerprint();
      assertEquals(want, EvalCommand.withLocalHeads(w, List.of("1.0", " 0.1")).fingerprint());
      for (String bad : List.of("1", "a.b", "1.0.0", "2.0", "0.2", "-1.0")) {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> EvalCommand.withLocalHeads(w, List.of(bad)),
                bad);
        assertTrue(
            e.getMessage().contains(bad.trim()) || e.getMessage().contains("no head"),
            e.getMessage());
      }
    }
  }

  @Test
  void forkedPrefixGivesTheStateOfTheWholeDocument() {
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 3)) {
      int length = 700;
      PasskeyEval eval = new PasskeyEval(List.of(length), List.of(0.0, 0.5, 1.0), 2, 11, 1);
      StreamState base =
          m.absorb(m.newState(), ByteTokenizer.encode(PasskeyDocument.INTRO), false).state();
      int position = 0;
      List<PasskeyEval.Trial> plan = new java.util.ArrayList<>(eval.plan(length, 16));
      plan.sort(java.util.Comparator.comparingInt(PasskeyEval.Trial::fillerBefore));
      for (PasskeyEval.Trial t : plan) {
        base =
            m.absorb(
                    base,
                    ByteTokenizer.encode(
                        PasskeyDocument.filler(position, t.fillerBefore() - position)),
                    false)
                .state();
        position = t.fillerBefore();
        PasskeyDocument doc =
            PasskeyDocument.withFillerBefore(t.documentTokens(), t.fillerBefore(), t.key());
        String rest = doc.document().substring(doc.needleOffset());
        StreamState forked = m.absorb(base, ByteTokenizer.encode(rest), false).state();
        StreamState whole =
            m.absorb(m.newState(), ByteTokenizer.encode(doc.document()), false).state();
        assertEquals(whole, forked, "trial " + t);
      }
    }
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "overlap {0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {0, 5})
  void lockstepTrialsAndTheMemoryOffShortcutAnswerAsAbsorbingTheWholeDocumentDoes(int overlap)
      throws Exception {
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny().withOverlap(overlap), 3)) {
      InfiniModel off = InfiniModel.fromWeights(m.weights().withMemoryOff());
      assertTrue(!PasskeyEval.readsNoMemory(m) && PasskeyEval.readsNoMemory(off));
      for (InfiniModel view : List.of(m, off)) {
        int length = 900;
        PasskeyEval eval = new PasskeyEval(List.of(length), List.of(0.0, 0.5, 1.0), 3, 11, 2);
        List<PasskeyEval.Row> rows =
            eval.run(
                view, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), r -> {});
        assertEquals(9, rows.get(0).trials().size());
        for (PasskeyEval.Trial t : rows.get(0).trials()) {
          PasskeyDocument doc =
              PasskeyDocument.withFillerBefore(t.documentTokens(), t.fillerBefore(), t.key());
          StreamState whole =
              view.absorb(view.newState(), ByteTokenizer.encode(doc.document()), false).state();
          PasskeyEval.Trial alone = PasskeyEval.ask(view, whole, t);
          assertEquals(
              alone.generated(), t.generated(), (view == off ? "memory off " : "memory on ") + t);
          assertEquals(alone.pass(), t.pass());
          assertArrayEquals(alone.digitNll(), t.digitNll());
          // the digits' NLL is the score of the key's digits after the whole document + question
          float[] lp =
              view.absorb(
                      view.newState(),
                      ByteTokenizer.encode(doc.document() + doc.question() + doc.answer()),
                      true)
                  .logProbs();
          for (int i = 0; i < 5; i++) {
            assertEquals(-lp[lp.length - 5 + i], t.digitNll()[i], 1e-5, "digit " + i);
          }
        }
      }
    }
  }

  /**
   * Each trial's document is shorter than its row's length by 0..N-1 tokens, so the question ends
   * anywhere in its segment; openTokens is what the model has in local attention then.
   */
  @Test
  void theQuestionEndsAnywhereInItsSegment() {
    int n = 16;
    PasskeyEval eval = new PasskeyEval(List.of(1024), List.of(0.0, 0.5, 1.0), 40, 5, 1);
    java.util.Set<Integer> open = new java.util.HashSet<>();
    for (PasskeyEval.Trial t : eval.plan(1024, n)) {
      assertTrue(t.documentTokens() > 1024 - n && t.documentTokens() <= 1024, "" + t);
      PasskeyDocument doc =
          PasskeyDocument.withFillerBefore(t.documentTokens(), t.fillerBefore(), t.key());
      assertEquals(t.documentTokens(), doc.document().length() + doc.question().length());
      try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 3)) {
        if (open.add(t.openTokens())) { // what the state holds open after document + question
          StreamState s =
              m.absorb(m.newState(), ByteTokenizer.encode(doc.document() + doc.question()), false)
                  .state();
          assertEquals(t.openTokens(), s.openTokens().length, "" + t);
        }
      }
    }
    assertEquals(n, open.size(), "every position in the segment: " + open);
  }

  /**
   * Each trial's needle placement agrees with the token stream itself: the needle's text sits at
   * the tokens the placement was computed from, and the segment of its first and last token
   * relative to the open segment (the one holding the question's last token) is what it says. Every
   * placement occurs in a grid of this size. So does every cut of a needle into the open segment,
   * which the digits of its part before the open segment tell apart.
   */
  @Test
  void needlePlacementMatchesTheSegmentsOfTheStream() {
    int n = 128;
    PasskeyEval eval = new PasskeyEval(List.of(1024), List.of(0.0, 0.5, 0.9, 1.0), 25, 9, 1);
    java.util.EnumSet<PasskeyEval.NeedlePlacement> seen =
        java.util.EnumSet.noneOf(PasskeyEval.NeedlePlacement.class);
    java.util.EnumSet<PasskeyEval.IntoOpenCut> cuts =
        java.util.EnumSet.noneOf(PasskeyEval.IntoOpenCut.class);
    for (PasskeyEval.Trial t : eval.plan(1024, n)) {
      PasskeyDocument doc =
          PasskeyDocument.withFillerBefore(t.documentTokens(), t.fillerBefore(), t.key());
      int[] stream = ByteTokenizer.encode(doc.document() + doc.question());
      String text = "\u0000" + ByteTokenizer.decode(stream); // index 0 stands for BOS
      String needle = PasskeyDocument.needle(t.key());
      int first = text.indexOf(needle);
      int last = first + needle.length() - 1;
      int open = (text.length() - 1) / n; // segment of the question's last token
      int a = first / n;
      int b = last / n;
      PasskeyEval.NeedlePlacement expected =
          a == open
              ? PasskeyEval.NeedlePlacement.IN_OPEN_SEGMENT
              : b == open
                  ? PasskeyEval.NeedlePlacement.INTO_OPEN_SEGMENT
                  : a == b
                      ? PasskeyEval.NeedlePlacement.ONE_MEMORY_SEGMENT
                      : PasskeyEval.NeedlePlacement.ACROSS_MEMORY_SEGMENTS;
      assertEquals(expected, t.needle(), t.toString());
      seen.add(t.needle());
      // the cut of a needle into the open segment, counted in digits of the part in memory
      PasskeyEval.IntoOpenCut cut = PasskeyEval.IntoOpenCut.of(t, n);
      if (expected == PasskeyEval.NeedlePlacement.INTO_OPEN_SEGMENT) {
        long digits =
            needle.substring(0, open * n - first).chars().filter(Character::isDigit).count();
        PasskeyEval.IntoOpenCut want =
            digits == 0
                ? PasskeyEval.IntoOpenCut.HEAD
                : digits < 5
                    ? PasskeyEval.IntoOpenCut.FIRST_KEY
                    : digits == 5
                        ? PasskeyEval.IntoOpenCut.BETWEEN
                        : digits < 10
                            ? PasskeyEval.IntoOpenCut.SECOND_KEY
                            : PasskeyEval.IntoOpenCut.TAIL;
        assertEquals(want, cut, t.toString());
        cuts.add(cut);
      } else {
        assertEquals(null, cut, t.toString());
      }
    }
    assertEquals(java.util.EnumSet.allOf(PasskeyEval.NeedlePlacement.class), seen);
    assertEquals(java.util.EnumSet.allOf(PasskeyEval.IntoOpenCut.class), cuts);
  }

  @Test
  void firstNumberIsTheAnswer() {
    assertEquals(71432, PasskeyEval.firstNumber(" 71432. Remember"));
    assertEquals(12, PasskeyEval.firstNumber("abc 12 34"));
    assertEquals(-1, PasskeyEval.firstNumber(" no number"));
  }

  @Test
  void quickRunWritesTablesJsonAndPngs(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("model");
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 5)) {
      m.save(ckpt, "random tiny model for EvalTest");
    }
    Path out = dir.resolve("eval");
    int code =
        new CommandLine(new EvalCommand())
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--lengths",
                "300,600",
                "--depth-step",
                "0.5",
                "--trials",
                "1",
                "--chat-distances",
                "64",
                "--chat-trials",
                "1",
                "--lm-bytes",
                "256",
                "--corpus",
                "synthetic",
                "--skip",
                PROSE_PARTS);
    assertEquals(0, code);
    for (String f : List.of("summary.md", "results.json", "passkey.png", "passkey-baseline.png")) {
      assertTrue(Files.size(out.resolve(f)) > 100, f);
    }
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("| 600 |"), md);
    assertTrue(md.contains("Teacher-forced NLL of each answer digit"), md);
    assertTrue(md.contains("Teacher-forced NLL of the whole key"), md);
    assertTrue(md.contains("By where the needle lies"), md);
    assertTrue(md.contains("answer cut by a boundary"), md);
    assertTrue(md.contains("Chat recall"), md);
    assertTrue(md.contains("bits per byte"), md);
    assertTrue(md.contains("memory off (every output gate forced to the local branch)"), md);
    // one page per measurement, each with the summary's header and its own section only
    String header = md.substring(0, md.indexOf("Pages: "));
    String passkeyPage = Files.readString(out.resolve("passkey.md"));
    assertTrue(passkeyPage.startsWith(header), passkeyPage);
    assertTrue(passkeyPage.contains("| 600 |") && !passkeyPage.contains("Chat recall"));
    assertTrue(Files.readString(out.resolve("chat.md")).contains("Chat recall"));
    assertTrue(md.contains("[passkey](passkey.md)") && md.contains("[lm](lm.md)"), md);
    // the model and the output as given on the command line, nothing else of the machine's
    assertTrue(md.contains("Model: " + ckpt + ", fingerprint"), md);
    com.google.gson.JsonObject results = json(out.resolve("results.json"));
    assertEquals(ckpt.toString(), results.get("model").getAsString());
    try (InfiniModel m = InfiniModel.load(ckpt)) {
      assertEquals(m.fingerprint(), results.get("fingerprint").getAsString());
      assertEquals(
          m.weights().withMemoryOff().fingerprint(),
          results.get("memoryOffFingerprint").getAsString());
    }
  }

  /**
   * {@code --write-top-k} and {@code --read-eps} evaluate the same weights under another top-k
   * write and read eps: the configuration, the fingerprint and the header say so.
   */
  @Test
  void writeTopKAndReadEpsEvaluateTheWeightsUnderThatConfiguration(@TempDir Path dir)
      throws Exception {
    Path ckpt = dir.resolve("model");
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 5)) {
      m.save(ckpt, "random tiny model for EvalTest");
    }
    Path out = dir.resolve("eval");
    int code =
        new CommandLine(new EvalCommand())
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--write-top-k",
                "3",
                "--read-eps",
                "0.01",
                "--lm-bytes",
                "256",
                "--corpus",
                "synthetic",
                "--skip",
                "passkey,baseline,chat,writes," + PROSE_PARTS);
    assertEquals(0, code);
    com.google.gson.JsonObject results = json(out.resolve("results.json"));
    assertEquals(3, results.getAsJsonObject("config").get("writeTopK").getAsInt());
    assertEquals(0.01f, results.getAsJsonObject("config").get("readEps").getAsFloat());
    try (InfiniModel m = InfiniModel.load(ckpt)) {
      assertEquals(
          m.weights().withWriteTopK(3).withReadEps(0.01f).fingerprint(),
          results.get("fingerprint").getAsString());
      assertNotEquals(m.fingerprint(), results.get("fingerprint").getAsString());
    }
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("writing only a segment's 3 tokens"), md);
    assertTrue(md.contains("the read's eps set to 0.01"), md);
  }

  /**
   * {@code --write-threshold} and {@code --write-scale} evaluate the weights with every write logit
   * edited: the fingerprint is the edited weights', the summary and the header say so.
   */
  @Test
  void writeThresholdAndScaleEvaluateTheWeightsWithEditedWriteLogits(@TempDir Path dir)
      throws Exception {
    Path ckpt = dir.resolve("model");
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 5)) {
      m.save(ckpt, "random tiny model for EvalTest");
    }
    Path out = dir.resolve("eval");
    int code =
        new CommandLine(new EvalCommand())
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--write-threshold",
                "0.5",
                "--write-scale",
                "3",
                "--lm-bytes",
                "256",
                "--corpus",
                "synthetic",
                "--skip",
                "passkey,baseline,chat,writes," + PROSE_PARTS);
    assertEquals(0, code);
    com.google.gson.JsonObject results = json(out.resolve("results.json"));
    assertEquals(0.5f, results.get("writeThreshold").getAsFloat());
    assertEquals(3f, results.get("writeScale").getAsFloat());
    try (InfiniModel m = InfiniModel.load(ckpt)) {
      assertEquals(
          m.weights().withWriteLogits(3f, 0.5f).fingerprint(),
          results.get("fingerprint").getAsString());
      assertNotEquals(m.fingerprint(), results.get("fingerprint").getAsString());
    }
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("replaced by 3.0 (x - 0.5)"), md);
  }

  /**
   * The checkpoint folder of a running training stage evaluates as its weights: the results carry
   * the fingerprint of the trainer's weights at that step.
   */
  @Test
  void aRunningStagesCheckpointIsEvaluatedAsItsWeights(@TempDir Path dir) throws Exception {
    TrainConfig c = TrainConfig.tiny(5, 3);
    Path ckpt = dir.resolve("checkpoint");
    String fingerprint;
    try (Trainer t = Trainer.fresh(c, TaskMixes.build(c))) {
      t.step();
      TrainCheckpoint.save(t, ckpt, 1.0, "test", List.of());
      fingerprint = t.weights().fingerprint();
    }
    assertTrue(TrainCheckpoint.isTrainingCheckpoint(ckpt));
    Path out = dir.resolve("eval");
    int code =
        new CommandLine(new EvalCommand())
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--lm-bytes",
                "256",
                "--corpus",
                "synthetic",
                "--skip",
                "passkey,baseline,chat,writes," + PROSE_PARTS);
    assertEquals(0, code);
    assertEquals(fingerprint, json(out.resolve("results.json")).get("fingerprint").getAsString());
    String md = Files.readString(out.resolve("summary.md"));
    assertTrue(md.contains("(a training checkpoint, at step 1)"), md);
  }

  /**
   * An interrupted passkey run resumes from its cell journal: cells kept there are read back, not
   * run again (a cell edited in the journal shows up as edited), a last line cut short by a kill
   * runs again, and the result equals the uninterrupted run's. A journal of another grid is
   * refused.
   */
  @Test
  void anInterruptedRunResumesFromItsCellJournal(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("model");
    try (InfiniModel m = InfiniModel.create(ModelConfig.tiny(), 5)) {
      m.save(ckpt, "random tiny model for EvalTest");
    }
    Path out = dir.resolve("eval");
    List<String> args =
        List.of(
            "--model",
            ckpt.toString(),
            "--out",
            out.toString(),
            "--lengths",
            "300,600",
            "--depth-step",
            "0.5",
            "--trials",
            "2",
            "--threads",
            "2",
            "--skip",
            "baseline,chat,lm," + PROSE_PARTS);
    assertEquals(0, new CommandLine(new EvalCommand()).execute(args.toArray(String[]::new)));
    com.google.gson.JsonObject whole = json(out.resolve("results.json")).getAsJsonObject("passkey");
    Path journal = out.resolve("passkey.cells.jsonl");
    List<String> lines = Files.readAllLines(journal);
    assertEquals(1 + 2 * 3, lines.size(), "a header and one line per cell");

    // keep the header, two cells (the second edited) and half of the third: a kill mid-write
    String edited =
        lines.get(2).replaceAll("\"generated\":\"[^\"]*\"", "\"generated\":\"from the journal\"");
    assertTrue(!edited.equals(lines.get(2)), lines.get(2));
    Files.write(
        journal,
        List.of(
            lines.get(0),
            lines.get(1),
            edited,
            lines.get(3).substring(0, lines.get(3).length() / 2)));
    List<String> resumed = new java.util.ArrayList<>(args);
    resumed.add("--resume");
    assertEquals(0, new CommandLine(new EvalCommand()).execute(resumed.toArray(String[]::new)));
    com.google.gson.JsonObject again = json(out.resolve("results.json")).getAsJsonObject("passkey");
    String cellOfEdit =
        com.google.gson.JsonParser.parseString(lines.get(2))
            .getAsJsonObject()
            .get("length")
            .getAsString();
    int generatedFromJournal = 0;
    for (int r = 0; r < 2; r++) {
      var a = whole.getAsJsonArray("rows").get(r).getAsJsonObject().getAsJsonArray("trials");
      var b = again.getAsJsonArray("rows").get(r).getAsJsonObject().getAsJsonArray("trials");
      assertEquals(a.size(), b.size());
      for (int i = 0; i < a.size(); i++) {
        var x = a.get(i).getAsJsonObject().deepCopy();
        var y = b.get(i).getAsJsonObject();
        if (y.get("generated").getAsString().equals("from the journal")) {
          generatedFromJournal++;
          assertEquals(cellOfEdit, y.get("length").getAsString());
          x.addProperty("generated", "from the journal");
        }
        assertEquals(x, y, "row " + r + " trial " + i);
      }
    }
    assertEquals(2, generatedFromJournal, "the edited cell's two trials were read back");
    assertEquals(7, Files.readAllLines(journal).size(), "the cut cell ran again and was kept");

    List<String> otherSeed = new java.util.ArrayList<>(resumed);
    otherSeed.addAll(List.of("--seed", "8"));
    assertTrue(
        new CommandLine(new EvalCommand()).execute(otherSeed.toArray(String[]::new)) != 0,
        "a journal of another seed is refused");
  }

  private static com.google.gson.JsonObject json(Path file) throws java.io.IOException {
    return com.google.gson.JsonParser.parseString(Files.readString(file)).getAsJsonObject();
  }

  /**
   * A trial's answer is cut by a segment boundary when one of its five digits is predicted by the
   * first position of a segment: with openTokens o (the open tokens when the answer's space is
   * predicted), digit j is predicted at position o + j, so when o + 4 >= N.
   */
  @Test
  void answersCutByABoundaryAreThoseWithADigitAtASegmentsStart() {
    int n = 128;
    List<PasskeyEval.Trial> trials = new java.util.ArrayList<>();
    int[] open = {10, 123, 124, 126, 128};
    boolean[] pass = {true, true, false, true, false};
    for (int i = 0; i < open.length; i++) {
      trials.add(
          new PasskeyEval.Trial(
              1024,
              0,
              i,
              12345,
              0,
              " 12345",
              pass[i],
              new double[5],
              900,
              open[i],
              PasskeyEval.NeedlePlacement.ONE_MEMORY_SEGMENT));
    }
    PasskeyEval.Row row = new PasskeyEval.Row(1024, trials, 1.0);
    assertArrayEquals(new int[] {1, 3}, row.byAnswerCut(n)); // 124, 126, 128
    assertArrayEquals(
        new int[] {0, 0}, new PasskeyEval.Row(1024, trials.subList(0, 2), 1.0).byAnswerCut(n));
  }

  /** {@code --skip} names only parts that exist; an unknown one is refused before anything runs. */
  @Test
  void anUnknownPartIsRefused(@TempDir Path dir) {
    Path out = dir.resolve("eval");
    for (String part : List.of("gates", "growth", "write", "nosuch")) {
      assertEquals(
          2,
          new CommandLine(new EvalCommand())
              .execute("--out", out.toString(), "--skip", "chat," + part),
          part);
    }
    assertTrue(!Files.exists(out));
  }

  /** {@code --writes-task} names a retrieval task; another name is refused before anything runs. */
  @Test
  void anUnknownWritesTaskIsRefused(@TempDir Path dir) {
    Path out = dir.resolve("eval");
    for (String task : List.of("passkey", "fact", "")) {
      java.io.StringWriter err = new java.io.StringWriter();
      CommandLine cli = new CommandLine(new EvalCommand());
      cli.setErr(new java.io.PrintWriter(err));
      assertEquals(2, cli.execute("--out", out.toString(), "--writes-task", task), task);
      assertTrue(err.toString().contains("unknown --writes-task " + task), err.toString());
    }
    assertTrue(!Files.exists(out));
  }

  /**
   * A passkey length too short for a trial's document (up to N-1 tokens shorter than its row) is
   * refused with the least length that works, before any part runs or writes a result.
   */
  @Test
  void aTooShortPasskeyLengthIsRefusedBeforeAnythingRuns(@TempDir Path dir) throws Exception {
    Path ckpt = dir.resolve("model");
    ModelConfig c = ModelConfig.tiny().withSegmentLength(64);
    try (InfiniModel m = InfiniModel.create(c, 5)) {
      m.save(ckpt, "random tiny model for EvalTest");
    }
    int least = PasskeyDocument.minimumChars() + 63;
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> EvalCommand.checkLengths("--lengths", List.of(4096, least - 1), c));
    assertTrue(e.getMessage().contains("at least " + least), e.getMessage());
    EvalCommand.checkLengths("--lengths", List.of(least), c);
    Path out = dir.resolve("eval");
    assertNotEquals(
        0,
        new CommandLine(new EvalCommand())
            .execute(
                "--model",
                ckpt.toString(),
                "--out",
                out.toString(),
                "--skip",
                "chat,lm," + PROSE_PARTS,
                "--lengths",
                "300",
                "--trials",
                "1"));
    assertTrue(!Files.exists(out.resolve("results.json")));
  }

  /** The key's NLL is the sum of its digits' NLL, averaged per depth column; empty columns NaN. */
  @Test
  void keyNllIsTheDigitSumAveragedPerDepth() {
    List<PasskeyEval.Trial> trials =
        List.of(
            trial(0, 0.1, 0.0, 0.0, 0.0, 0.5),
            trial(0, 0.0, 0.0, 0.0, 0.0, 1.5),
            trial(2, 2.3, 2.3, 2.3, 2.3, 2.3));
    double[] nll = new PasskeyEval.Row(1024, trials, 1.0).meanKeyNllByDepth(3);
    assertEquals(1.05, nll[0], 1e-12); // (0.6 + 1.5) / 2
    assertTrue(Double.isNaN(nll[1]));
    assertEquals(11.5, nll[2], 1e-12);
  }

  private static PasskeyEval.Trial trial(int depthIndex, double... digitNll) {
    return new PasskeyEval.Trial(
        1024,
        depthIndex,
        0,
        12345,
        0,
        " 12345",
        true,
        digitNll,
        900,
        10,
        PasskeyEval.NeedlePlacement.ONE_MEMORY_SEGMENT);
  }
}
