package io.infinistreams.tasks.prose;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.tasks.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ProseTasksTest {
  private static final int N = 128;
  private static final ProseSource PROSE = Fixture.PROSE;

  private static List<RetrievalTask> tasks(Phrasing p) {
    return List.of(
        new NeedleTask(PROSE, p, 10f),
        new MultiKeyTask(PROSE, p, 10f, false),
        new MultiKeyTask(PROSE, p, 10f, true),
        new FactTrackingTask(PROSE, p, 10f),
        new ChatFactTask(PROSE, p, 10f));
  }

  private static List<RetrievalTask> allTasks() {
    List<RetrievalTask> all = new ArrayList<>(tasks(Phrasing.TRAIN));
    all.addAll(tasks(Phrasing.EVAL));
    return all;
  }

  private static String text(int[] tokens, int from, int to) {
    return ByteTokenizer.decode(Arrays.copyOfRange(tokens, from, to));
  }

  @Test
  void samplesFillExactlyStartWithBosAndKeepUtf8Whole() {
    for (RetrievalTask t : allTasks()) {
      for (int s = 2; s <= 8; s++) {
        for (int i = 0; i < 15; i++) {
          Sample x = t.sample(new Random(i * 31L + s), s, N);
          assertEquals(s * N + 1, x.tokens().length, t.name());
          assertEquals(s * N, x.weights().length);
          assertEquals(ByteTokenizer.BOS, x.tokens()[0], t.name());
          for (int tok : x.tokens()) {
            assertTrue(tok >= 0 && tok < ByteTokenizer.MIN_VOCAB && tok != ByteTokenizer.PAD);
          }
          assertTrue(Fixture.validRuns(x.tokens()), t.name() + " cut a UTF-8 character");
          assertEquals(1, Arrays.stream(x.tokens()).filter(v -> v == ByteTokenizer.BOS).count());
        }
      }
    }
  }

  @Test
  void documentsHaveTheAskedLengthAndStatementsWhereReported() {
    for (RetrievalTask t : allTasks()) {
      for (int len : new int[] {400, 1000, 3000}) {
        for (int i = 0; i < 10; i++) {
          RetrievalDocument d = t.document(new Random(i), len, i / 9.0);
          int[] tok = d.tokens();
          assertEquals(len, tok.length, t.name());
          assertEquals(ByteTokenizer.BOS, tok[0]);
          assertTrue(Fixture.validRuns(tok));
          assertEquals(1, d.needles().stream().filter(RetrievalDocument.Needle::answers).count());
          int prev = 0;
          for (RetrievalDocument.Needle n : d.needles()) {
            assertTrue(n.start() >= prev && n.start() + n.length() <= d.promptStart(), t.name());
            prev = n.start() + n.length();
            assertEquals(
                n.value(),
                text(tok, n.valueStart(), n.valueStart() + Utf8.length(n.value())),
                t.name() + " value not where reported");
          }
          assertEquals(d.expected(), d.answering().value());
          assertTrue(d.correct(d.answer()), d.answer() + " vs " + d.expected());
          assertFalse(d.correct(" 0" + d.answer()));
          String prompt = ByteTokenizer.decode(d.prompt());
          if (t instanceof ChatFactTask) {
            assertEquals(ByteTokenizer.USER, tok[d.promptStart()]);
            assertEquals(ByteTokenizer.ASSISTANT, tok[tok.length - 1]);
            assertEquals(d.expected() + ".", d.answer());
          } else {
            assertTrue(prompt.startsWith("\n\nQuestion: "), prompt);
            // the answer opens with what is asked for: the label (or the person) and "is"
            String opening = prompt.substring(prompt.indexOf("\nAnswer: ") + 9);
            assertTrue(
                opening.endsWith(" is") || opening.endsWith(" is in the"),
                t.name() + ": " + prompt);
            String asked = opening.replaceFirst(" is( in the)?$", "");
            String question = prompt.substring(0, prompt.indexOf("\nAnswer: "));
            assertTrue(
                question
                    .toLowerCase(java.util.Locale.ROOT)
                    .contains(asked.toLowerCase(java.util.Locale.ROOT)),
                t.name() + ": " + prompt);
            assertEquals(" " + d.expected() + ".", d.answer());
            // statements start a sentence, a line or a word, and are followed by a space
            for (RetrievalDocument.Needle n : d.needles()) {
              int before = tok[n.start() - 1];
              assertTrue(
                  before == ByteTokenizer.BOS || before == ' ' || before == '\n',
                  t.name() + ": statement glued to '" + (char) before + "'");
              assertEquals(' ', tok[n.start() + n.length()]);
            }
          }
        }
      }
    }
  }

  @Test
  void depthPlacesTheAnsweringStatement() {
    for (RetrievalTask t : allTasks()) {
      int len = 4000;
      int last = -1;
      for (double depth : new double[] {0, 0.25, 0.5, 0.75, 1}) {
        RetrievalDocument d = t.document(new Random(7), len, depth);
        double at = (d.answering().start() - 1) / (double) d.promptStart();
        assertEquals(depth, d.depth(), 1e-9);
        assertEquals(depth, at, 0.2, t.name() + " at depth " + depth);
        assertTrue(d.answering().start() > last, t.name());
        last = d.answering().start();
      }
    }
  }

  @Test
  void sameSeedSameSampleAndDocument() {
    for (RetrievalTask t : allTasks()) {
      Sample a = t.sample(new Random(42), 6, N);
      Sample b = t.sample(new Random(42), 6, N);
      assertArrayEquals(a.tokens(), b.tokens(), t.name());
      assertArrayEquals(a.weights(), b.weights(), t.name());
      Sample c = t.sample(new Random(43), 6, N);
      assertFalse(Arrays.equals(a.tokens(), c.tokens()), t.name());
      RetrievalDocument x = t.document(new Random(5), 2000, 0.3);
      RetrievalDocument y = t.document(new Random(5), 2000, 0.3);
      assertArrayEquals(x.tokens(), y.tokens());
      assertEquals(x.needles(), y.needles());
    }
  }

  @Test
  void proseSamplesWeightTheAnswerAfterThePromptAndStateItEarlier() {
    for (RetrievalTask t : tasks(Phrasing.TRAIN)) {
      if (t instanceof ChatFactTask) {
        continue;
      }
      for (int seed = 0; seed < 40; seed++) {
        Sample x = t.sample(new Random(seed), 8, N);
        int[] tok = x.tokens();
        String all = ByteTokenizer.decode(tok);
        StringBuilder answer = new StringBuilder();
        int first = -1;
        for (int i = 0; i < x.weights().length; i++) {
          if (x.weights()[i] != 1f) {
            assertEquals(10f, x.weights()[i]);
            first = first < 0 ? i + 1 : first;
            answer.append((char) tok[i + 1]);
          }
        }
        assertTrue(first > 0, "no weighted answer");
        String before = text(tok, 0, first);
        assertTrue(before.endsWith(" is ") || before.endsWith(" the "), before);
        assertTrue(before.substring(before.lastIndexOf("\nAnswer: ")).length() > 12, before);
        String a = answer.toString();
        assertTrue(a.endsWith("."), a);
        String value = a.substring(0, a.length() - 1);
        int q = all.lastIndexOf("\n\nQuestion: ");
        assertTrue(all.substring(0, q).contains(value), "value " + value + " never stated");
      }
    }
  }

  @Test
  void chatSamplesAnswerWithTheLatestValueAndWeightIt() {
    for (Phrasing p : Phrasing.values()) {
      ChatFactTask task = new ChatFactTask(PROSE, p, 5f);
      for (int seed = 0; seed < 40; seed++) {
        Sample x = task.sample(new Random(seed), 16, N);
        int[] tok = x.tokens();
        int weighted = 0;
        for (int i = 0; i < x.weights().length; i++) {
          if (x.weights()[i] != 1f) {
            weighted++;
            // weighted spans follow ASSISTANT and end with EOS
            if (x.weights()[i - 1] == 1f) {
              assertEquals(ByteTokenizer.ASSISTANT, tok[i]);
            }
            if (i + 1 < x.weights().length && x.weights()[i + 1] == 1f) {
              assertEquals(ByteTokenizer.EOS, tok[i + 1]);
            }
          }
        }
        assertTrue(weighted >= 3);
        assertTrue(Arrays.stream(tok).filter(v -> v == ByteTokenizer.USER).count() >= 3);
      }
      for (int seed = 0; seed < 60; seed++) {
        RetrievalDocument d = task.document(new Random(seed), 3000, Double.NaN);
        RetrievalDocument.Needle a = d.answering();
        // the answer is the latest statement of the asked fact
        for (RetrievalDocument.Needle n : d.needles()) {
          if (n.label().equals(a.label()) && n != a) {
            assertTrue(n.start() < a.start(), "a later statement of " + a.label());
          }
        }
      }
    }
  }

  @Test
  void chatFactsAreSometimesChanged() {
    ChatFactTask task = new ChatFactTask(PROSE, Phrasing.TRAIN, 5f);
    int changed = 0;
    for (int seed = 0; seed < 100; seed++) {
      RetrievalDocument d = task.document(new Random(seed), 4000, 0.8);
      String label = d.answering().label();
      long statements = d.needles().stream().filter(n -> n.label().equals(label)).count();
      if (statements > 1) {
        changed++;
        String turn =
            text(d.tokens(), d.answering().start(), d.answering().start() + d.answering().length());
        assertTrue(
            Phrasing.TRAIN.of(ChatFactTask.CHANGES).stream().anyMatch(turn::startsWith), turn);
      }
    }
    assertTrue(changed > 20 && changed < 90, "changed facts asked: " + changed);
  }

  @Test
  void factTrackingAnswersTheLastPlaceOfTheAskedPerson() {
    int movedTwice = 0;
    for (Phrasing p : Phrasing.values()) {
      FactTrackingTask task = new FactTrackingTask(PROSE, p, 10f);
      for (int seed = 0; seed < 100; seed++) {
        RetrievalDocument d =
            seed % 2 == 0
                ? task.document(new Random(seed), 4096, Double.NaN)
                : task.document(new Random(seed), 4096, (seed % 10) / 9.0);
        int facts = d.needles().size();
        assertTrue(facts >= 2 && facts <= 20, "facts: " + facts);
        String question = ByteTokenizer.decode(d.prompt());
        String asked = d.answering().label();
        assertTrue(question.contains(asked), question);
        assertTrue(p.of(FactTrackingTask.NAMES).contains(asked));
        List<RetrievalDocument.Needle> mine =
            d.needles().stream().filter(n -> n.label().equals(asked)).toList();
        assertEquals(d.answering(), mine.get(mine.size() - 1));
        assertEquals(mine.get(mine.size() - 1).value(), d.expected());
        assertTrue(FactTrackingTask.PLACES.contains(d.expected()));
        movedTwice += mine.size() > 1 ? 1 : 0;
        for (int i = 1; i < mine.size(); i++) {
          assertNotEquals(mine.get(i - 1).value(), mine.get(i).value(), "moved to same place");
        }
        for (RetrievalDocument.Needle n : d.needles()) {
          String s = text(d.tokens(), n.start(), n.start() + n.length());
          assertTrue(s.contains(n.label()) && s.endsWith(n.value() + "."), s);
        }
      }
      // training samples: facts in the stream, question about one of them
      for (int seed = 0; seed < 30; seed++) {
        Sample x = task.sample(new Random(seed), 32, N);
        String all = ByteTokenizer.decode(x.tokens());
        assertTrue(all.contains("\n\nQuestion: "));
      }
    }
    assertTrue(movedTwice > 120, "asked person moved twice in " + movedTwice + " of 200");
  }

  @Test
  void factTrackingUsesTwoToTwentyFacts() {
    FactTrackingTask task = new FactTrackingTask(PROSE, Phrasing.TRAIN, 10f);
    Set<Integer> counts = new HashSet<>();
    for (int seed = 0; seed < 300; seed++) {
      counts.add(task.document(new Random(seed), 8000, Double.NaN).needles().size());
    }
    assertTrue(counts.contains(2) && counts.contains(20), counts.toString());
    assertTrue(counts.stream().allMatch(c -> c >= 2 && c <= 20), counts.toString());
  }

  @Test
  void multiKeyUsesTwoToEightDistinctKeys() {
    for (boolean near : new boolean[] {false, true}) {
      MultiKeyTask task = new MultiKeyTask(PROSE, Phrasing.TRAIN, 10f, near);
      Set<Integer> counts = new HashSet<>();
      for (int seed = 0; seed < 200; seed++) {
        RetrievalDocument d = task.document(new Random(seed), 6000, Double.NaN);
        counts.add(d.needles().size());
        Set<String> labels = new HashSet<>();
        Set<String> values = new HashSet<>();
        for (RetrievalDocument.Needle n : d.needles()) {
          assertTrue(labels.add(n.label()), "label twice: " + n.label());
          assertTrue(values.add(n.value()), "value twice: " + n.value());
        }
        assertTrue(ByteTokenizer.decode(d.prompt()).contains(d.answering().label()));
      }
      assertTrue(counts.contains(2) && counts.contains(8), counts.toString());
    }
  }

  @Test
  void nearCopyDistractorsDifferFromTheAnswerInOneOrTwoPlaces() {
    MultiKeyTask task = new MultiKeyTask(PROSE, Phrasing.TRAIN, 10f, true);
    for (int seed = 0; seed < 100; seed++) {
      RetrievalDocument d = task.document(new Random(seed), 5000, Double.NaN);
      RetrievalDocument.Needle a = d.answering();
      String[] answerWords = a.label().split(" ");
      for (RetrievalDocument.Needle n : d.needles()) {
        if (n == a) {
          continue;
        }
        assertNotEquals(a.value(), n.value());
        assertEquals(a.value().length(), n.value().length());
        int diff = 0;
        for (int i = 0; i < a.value().length(); i++) {
          diff += a.value().charAt(i) != n.value().charAt(i) ? 1 : 0;
        }
        assertTrue(diff >= 1 && diff <= 2, a.value() + " vs " + n.value());
        String[] words = n.label().split(" ");
        assertEquals(answerWords.length, words.length, a.label() + " vs " + n.label());
        int wordDiff = 0;
        for (int i = 0; i < words.length; i++) {
          wordDiff += words[i].equals(answerWords[i]) ? 0 : 1;
        }
        assertEquals(1, wordDiff, a.label() + " vs " + n.label());
        // same sentence template: the texts differ only in the label and value
        String at = text(d.tokens(), a.start(), a.start() + a.length());
        String nt = text(d.tokens(), n.start(), n.start() + n.length());
        assertEquals(
            at.replace(a.value(), "V").replaceFirst("(?i)" + Pattern.quote(a.label()), "L"),
            nt.replace(n.value(), "V").replaceFirst("(?i)" + Pattern.quote(n.label()), "L"));
      }
    }
  }

  @Test
  void trainAndEvalPhrasingsAreDisjointAndLargeEnough() {
    List<List<String>> lists =
        List.of(
            NeedlePhrases.STATEMENTS,
            NeedlePhrases.QUESTIONS,
            FactTrackingTask.MOVES,
            FactTrackingTask.QUESTIONS,
            FactTrackingTask.NAMES,
            ChatFactTask.CHANGES,
            Values.WORDS,
            Labels.MODIFIERS,
            Labels.OBJECTS,
            Labels.PERSONS,
            Labels.CLASSICS.stream().map(Labels.Label::text).toList());
    for (List<String> l : lists) {
      Set<String> train = new HashSet<>(Phrasing.TRAIN.of(l));
      Set<String> eval = new HashSet<>(Phrasing.EVAL.of(l));
      assertEquals(l.size(), new HashSet<>(l).size(), "duplicates in " + l);
      assertTrue(train.stream().noneMatch(eval::contains), l.toString());
      assertEquals(l.size(), train.size() + eval.size());
    }
    for (ChatFactTask.Kind k : ChatFactTask.KINDS) {
      assertTrue(
          Phrasing.TRAIN.of(k.statements()).stream()
              .noneMatch(Phrasing.EVAL.of(k.statements())::contains));
      assertTrue(
          Phrasing.TRAIN.of(k.questions()).stream()
              .noneMatch(Phrasing.EVAL.of(k.questions())::contains));
      assertTrue(k.statements().stream().allMatch(s -> s.contains("{V}")));
    }
    assertTrue(NeedlePhrases.STATEMENTS.size() >= 12);
    assertTrue(Phrasing.TRAIN.of(NeedlePhrases.STATEMENTS).size() >= 12);
    assertTrue(NeedlePhrases.QUESTIONS.size() >= 10);
    assertTrue(Phrasing.TRAIN.of(NeedlePhrases.QUESTIONS).size() >= 10);
    assertTrue(
        NeedlePhrases.STATEMENTS.stream().allMatch(s -> s.contains("{L}") && s.contains("{V}")));
    assertTrue(
        NeedlePhrases.QUESTIONS.stream().allMatch(s -> s.contains("{L}") && !s.contains("{V}")));
  }

  /** A regex matching {@code template} with any text in its slots. */
  private static Pattern pattern(String template) {
    String quoted = Pattern.quote(template).replaceAll("\\{[A-Z]}", "\\\\E.+\\\\Q");
    return Pattern.compile("(?i)" + quoted);
  }

  @Test
  void evalTasksUseOnlyEvalTemplatesAndLabels() {
    List<Pattern> evalQuestions =
        Phrasing.EVAL.of(NeedlePhrases.QUESTIONS).stream().map(ProseTasksTest::pattern).toList();
    List<Pattern> evalStatements =
        Phrasing.EVAL.of(NeedlePhrases.STATEMENTS).stream().map(ProseTasksTest::pattern).toList();
    Set<String> trainWords = new HashSet<>();
    for (List<String> l : List.of(Labels.MODIFIERS, Labels.OBJECTS, Labels.PERSONS)) {
      trainWords.addAll(Phrasing.TRAIN.of(l));
    }
    Set<String> trainClassics =
        new HashSet<>(Phrasing.TRAIN.of(Labels.CLASSICS.stream().map(Labels.Label::text).toList()));
    Set<String> trainValues = new HashSet<>(Phrasing.TRAIN.of(Values.WORDS));
    for (RetrievalTask t :
        List.of(
            new NeedleTask(PROSE, Phrasing.EVAL, 1f),
            new MultiKeyTask(PROSE, Phrasing.EVAL, 1f, false),
            new MultiKeyTask(PROSE, Phrasing.EVAL, 1f, true))) {
      for (int seed = 0; seed < 100; seed++) {
        RetrievalDocument d = t.document(new Random(seed), 2000, Double.NaN);
        String q = ByteTokenizer.decode(d.prompt());
        String question = q.substring("\n\nQuestion: ".length(), q.indexOf("\nAnswer: "));
        assertTrue(evalQuestions.stream().anyMatch(p -> p.matcher(question).matches()), question);
        for (RetrievalDocument.Needle n : d.needles()) {
          String s = text(d.tokens(), n.start(), n.start() + n.length());
          assertTrue(evalStatements.stream().anyMatch(p -> p.matcher(s).matches()), s);
          assertFalse(trainClassics.contains(n.label()), n.label());
          for (String w : n.label().replace("'s", "").split(" ")) {
            assertFalse(trainWords.contains(w), "train word " + w + " in " + n.label());
          }
          assertFalse(trainValues.contains(n.value()), n.value());
        }
      }
    }
  }

  @Test
  void firstWordReadsTheAnswerFormat() {
    assertEquals("48213", RetrievalDocument.firstWord(" 48213. And then"));
    assertEquals("k7-Qm2x", RetrievalDocument.firstWord(" k7-Qm2x.\n"));
    assertEquals("kitchen", RetrievalDocument.firstWord("kitchen"));
    assertEquals("Rex", RetrievalDocument.firstWord("Rex, I think"));
    assertEquals("ab", RetrievalDocument.firstWord("ab- c"));
    assertEquals("", RetrievalDocument.firstWord(" ."));
  }

  @Test
  void nearCopyAndCodesHaveTheDocumentedShape() {
    Random rng = new Random(1);
    for (int i = 0; i < 500; i++) {
      String code = Values.code(rng);
      assertTrue(code.matches("[a-z][a-zA-Z0-9]-[a-zA-Z0-9]{4}"), code);
      assertEquals(code, RetrievalDocument.firstWord(" " + code + "."));
      String digits = Values.digits(rng, 4 + rng.nextInt(5));
      String copy = Values.nearCopy(rng, digits);
      assertNotEquals(digits, copy);
      assertTrue(copy.matches("[1-9][0-9]*") && copy.length() == digits.length(), copy);
    }
  }

  /**
   * Local samples put the answering statement right before the question and the answer near the end
   * of the last segment, so the value sits in the answer's window (segment + overlap) when the
   * prompt leaves room; with localFraction 0 no sample is local.
   */
  @Test
  void localSamplesPutTheAnsweringValueInTheAnswersWindow() {
    int n = 128;
    int c = 32;
    int[] marker = ByteTokenizer.encode("\n\nQuestion: ");
    for (RetrievalTask t :
        List.of(
            new NeedleTask(PROSE, Phrasing.TRAIN, 5f, 1),
            new MultiKeyTask(PROSE, Phrasing.TRAIN, 5f, false, 1),
            new FactTrackingTask(PROSE, Phrasing.TRAIN, 5f, 1))) {
      int inWindow = 0;
      for (int seed = 0; seed < 60; seed++) {
        Sample x = t.sample(new Random(seed), 3, n);
        assertEquals(t.name() + "/local", x.task());
        int[] tok = x.tokens();
        int q = -1; // token index of the question's frame
        for (int i = tok.length - marker.length; i >= 0 && q < 0; i--) {
          if (Arrays.equals(Arrays.copyOfRange(tok, i, i + marker.length), marker)) {
            q = i;
          }
        }
        assertTrue(q > 0, t.name());
        // the statement ends right before it: "... value. " then the question
        assertEquals('.', tok[q - 2], t.name() + ": " + ByteTokenizer.decode(tok));
        int predictsValue = -1; // input index whose target is the value's first token
        for (int i = 0; i < x.weights().length && predictsValue < 0; i++) {
          predictsValue = x.weights()[i] != 1f ? i : -1;
        }
        assertEquals(2, predictsValue / n, t.name() + ": the answer is in the last segment");
        if (q - 2 >= predictsValue / n * n - c) {
          inWindow++; // the value's terminator, and so the value's end, is in the window
        }
      }
      assertTrue(inWindow > 40, t.name() + ": values in the window " + inWindow + " of 60");
    }
    for (int seed = 0; seed < 30; seed++) {
      assertEquals(
          "needle",
          new NeedleTask(PROSE, Phrasing.TRAIN, 5f, 0).sample(new Random(seed), 3, n).task());
    }
    assertThrows(
        IllegalArgumentException.class, () -> new NeedleTask(PROSE, Phrasing.TRAIN, 5f, 1.5));
  }
}
