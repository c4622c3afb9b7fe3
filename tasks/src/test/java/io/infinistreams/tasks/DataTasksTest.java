package io.infinistreams.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.ByteTokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DataTasksTest {
  private static final int N = 128;

  private static List<Task> tasks() {
    return List.of(
        new PasskeyTask(0.5, 10f),
        new PasskeyTask(0.5, 10f, true),
        new ChatRecallTask(3, 5f),
        new RecallTask(5f),
        new CopyTask(5f),
        new TextTask(SyntheticText.corpus(1, 50_000, 0.1)));
  }

  @Test
  void everyTaskFillsExactlyAndStartsWithBos() {
    for (Task t : tasks()) {
      for (int s = 2; s <= 8; s++) {
        for (int i = 0; i < 20; i++) {
          Sample x = t.sample(new Random(i * 31L + s), s, N);
          assertEquals(s * N + 1, x.tokens().length, t.name());
          assertEquals(ByteTokenizer.BOS, x.tokens()[0], t.name());
          for (int tok : x.tokens()) {
            assertTrue(tok >= 0 && tok < ByteTokenizer.MIN_VOCAB && tok != ByteTokenizer.PAD);
          }
        }
      }
    }
  }

  @Test
  void samplesAreDeterministicForTheRngState() {
    for (Task t : tasks()) {
      Sample a = t.sample(new Random(42), 4, N);
      Sample b = t.sample(new Random(42), 4, N);
      assertArrayEquals(a.tokens(), b.tokens(), t.name());
      assertArrayEquals(a.weights(), b.weights(), t.name());
    }
  }

  @Test
  void passkeySampleAnswersTheQuestionAndOnlyTheDigitsAreWeighted() {
    for (int seed = 0; seed < 30; seed++) {
      Sample x = new PasskeyTask(0.5, 10f).sample(new Random(seed), 4, N);
      String text = ByteTokenizer.decode(x.tokens());
      assertTrue(text.startsWith(PasskeyDocument.INTRO), text);
      int q = text.indexOf(PasskeyDocument.QUESTION);
      int answerStart = q + PasskeyDocument.QUESTION.length() + 1; // char index of first digit
      int key = Integer.parseInt(text.substring(answerStart, answerStart + 5));
      assertTrue(text.indexOf(PasskeyDocument.needle(key)) < q, text);
      float[] w = x.weights();
      for (int i = 0; i < w.length; i++) {
        // weight i belongs to target token i + 1, i.e. character i of the text (BOS is token 0)
        boolean digit = i >= answerStart && i < answerStart + 5;
        assertEquals(digit ? 10f : 1f, w[i], "weight " + i);
      }
    }
  }

  @Test
  void localFractionOnePutsTheNeedleInTheAnswersSegmentMostOfTheTime() {
    PasskeyTask task = new PasskeyTask(1.0, 10f);
    int local = 0;
    for (int i = 0; i < 100; i++) {
      Sample x = task.sample(new Random(i), 5, N);
      String text = ByteTokenizer.decode(x.tokens());
      int q = text.indexOf(PasskeyDocument.QUESTION);
      int answerInput = 1 + q + PasskeyDocument.QUESTION.length(); // token index of the space
      int key =
          Integer.parseInt(
              text.substring(
                  q + PasskeyDocument.QUESTION.length() + 1,
                  q + PasskeyDocument.QUESTION.length() + 6));
      int needleToken = 1 + text.indexOf(PasskeyDocument.needle(key));
      boolean isLocal = needleToken >= answerInput / N * N;
      assertEquals(isLocal ? "passkey/local" : "passkey/far", x.task());
      local += isLocal ? 1 : 0;
    }
    assertTrue(local >= 90, "local samples: " + local);
  }

  @Test
  void passkeyDocumentHasExactLengthAndDepth() {
    for (double depth = 0; depth <= 1.0001; depth += 0.1) {
      PasskeyDocument d = PasskeyDocument.of(4096, depth, 12345);
      assertEquals(4096, d.document().length() + d.question().length());
      assertEquals(d.needleOffset(), PasskeyDocument.prefixLength(4096, depth));
      assertTrue(
          d.document()
              .startsWith(
                  PasskeyDocument.INTRO
                      + PasskeyDocument.filler(0, PasskeyDocument.prefixFiller(4096, depth))));
      assertEquals(d.needleOffset(), d.document().indexOf("12345") - " The pass key is ".length());
    }
    PasskeyDocument first = PasskeyDocument.of(1000, 0.0, 12345);
    assertEquals(PasskeyDocument.INTRO.length(), first.needleOffset());
    PasskeyDocument last = PasskeyDocument.of(1000, 1.0, 12345);
    assertTrue(last.document().endsWith(PasskeyDocument.needle(12345)));
  }

  @Test
  void chatSessionAsksForFactsItStated() {
    Sample x = new ChatRecallTask(3, 5f).sample(new Random(3), 6, N);
    int[] t = x.tokens();
    long users = Arrays.stream(t).filter(v -> v == ByteTokenizer.USER).count();
    long eos = Arrays.stream(t).filter(v -> v == ByteTokenizer.EOS).count();
    assertTrue(users >= 3, "turns: " + users);
    assertTrue(eos >= users - 2); // small talk may be cut short twice
    // Every weighted span (a recalled value) also occurs earlier, in the fact's statement.
    String text = ByteTokenizer.decode(t);
    StringBuilder value = new StringBuilder();
    int weighted = 0;
    for (int i = 0; i < x.weights().length; i++) {
      if (x.weights()[i] > 1f) {
        weighted++;
        int tok = t[i + 1];
        if (tok < 256 && tok != '.') {
          value.append((char) tok);
        } else if (value.length() > 0) {
          String v = value.toString();
          assertTrue(text.indexOf(v) < text.lastIndexOf(v), "value " + v + " stated before");
          value.setLength(0);
        }
      }
    }
    assertTrue(weighted > 0);
  }

  @Test
  void recallWeightsOnlyDigitsOfLabelsDefinedBefore() {
    Sample x = new RecallTask(5f).sample(new Random(4), 3, N);
    String text = ByteTokenizer.decode(x.tokens());
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("key (..) is (\\d{5})\\. ").matcher(text);
    java.util.Map<String, String> defined = new java.util.HashMap<>();
    int recalls = 0;
    while (m.find()) {
      // weight index of the first digit: char index of the digit (BOS shifts tokens by one)
      boolean weighted = x.weights()[m.start(2)] > 1f;
      String before = defined.putIfAbsent(m.group(1), m.group(2));
      assertEquals(before != null, weighted, "statement at " + m.start());
      if (before != null) {
        assertEquals(before, m.group(2));
        recalls++;
      }
    }
    assertTrue(recalls > 5, "recalls: " + recalls);
  }

  @Test
  void copyWeightsExactlyThePredictableCharactersOfRepeats() {
    Sample x = new CopyTask(5f).sample(new Random(5), 4, N);
    String text = ByteTokenizer.decode(x.tokens());
    java.util.Set<String> seen = new java.util.HashSet<>();
    int at = 0;
    int repeats = 0;
    for (String code : text.split(" \\| ", -1)) {
      if (at + code.length() + 3 > text.length()) {
        break; // the last code may be cut short by the sequence's end
      }
      for (int i = 0; i < code.length(); i++) {
        // weight index of character at+i is at+i (BOS shifts tokens by one)
        float w = x.weights()[at + i];
        boolean repeat = seen.contains(code);
        assertEquals(repeat && i > 0 ? 5f : 0f, w, "char " + i + " of " + code);
      }
      repeats += seen.contains(code) ? 1 : 0;
      seen.add(code);
      at += code.length() + 3;
    }
    assertTrue(repeats > 5, "repeats: " + repeats);
  }

  @Test
  void recentRepeatsCopyTheCodeJustBeforeAndTheRestReachFurther() {
    int immediate = 0;
    int further = 0;
    for (double recent : new double[] {1, 0.5}) {
      for (int seed = 0; seed < 20; seed++) {
        Sample x = new CopyTask(5f, recent).sample(new Random(seed), 4, N);
        String[] codes = ByteTokenizer.decode(x.tokens()).split(" \\| ", -1);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < codes.length - 1; i++) { // the last may be cut short
          if (seen.contains(codes[i])) {
            boolean justBefore = codes[i].equals(codes[i - 1]);
            if (recent == 1) {
              assertTrue(justBefore, "a repeat of " + codes[i] + " not of the code before it");
            } else if (justBefore) {
              immediate++;
            } else {
              further++;
            }
          }
          seen.add(codes[i]);
        }
      }
    }
    // half of the repeats at 0.5, plus the uniform draws that land on the code before
    assertTrue(immediate > further, immediate + " immediate, " + further + " further");
    assertTrue(further > 20, "further: " + further);
    assertThrows(IllegalArgumentException.class, () -> new CopyTask(5f, 1.5));
  }

  /** Characters of filler between the needle's end and the question, per local sample. */
  private static int[] localGaps(PasskeyTask task, int samples) {
    int[] gaps = new int[samples];
    for (int i = 0; i < samples; i++) {
      Sample x;
      int seed = i;
      do {
        x = task.sample(new Random(seed), 5, N);
        seed += 1_000_003;
      } while (!x.task().equals("passkey/local"));
      String text = ByteTokenizer.decode(x.tokens());
      int needleEnd = text.indexOf(" is the pass key.") + " is the pass key.".length();
      int question = text.indexOf(PasskeyDocument.QUESTION);
      gaps[i] = question - needleEnd;
      // still local: the needle starts in the answer's segment (token = char + 1 for BOS)
      int answerInput = 1 + question + PasskeyDocument.QUESTION.length();
      int needleToken = 1 + text.indexOf(" The pass key is ");
      assertTrue(needleToken >= answerInput / N * N, "needle outside the answer's segment");
    }
    return gaps;
  }

  @Test
  void spreadLocalNeedlesSitAtEveryDistanceTheSegmentAllows() {
    int[] tight = localGaps(new PasskeyTask(1.0, 5f), 200);
    int[] spread = localGaps(new PasskeyTask(1.0, 5f, true), 200);
    long tightZero = Arrays.stream(tight).filter(g -> g == 0).count();
    long spreadZero = Arrays.stream(spread).filter(g -> g == 0).count();
    int spreadMax = Arrays.stream(spread).max().orElseThrow();
    System.out.printf(
        "local needle-question gaps: original mean %.1f, %d of 200 at 0, max %d;"
            + " spread mean %.1f, %d at 0, max %d%n",
        Arrays.stream(tight).average().orElseThrow(),
        tightZero,
        Arrays.stream(tight).max().orElseThrow(),
        Arrays.stream(spread).average().orElseThrow(),
        spreadZero,
        spreadMax);
    // measured: original mean 2.2 chars, 79 of 200 at 0; spread mean 7.6, 22 at 0, max 29 (the
    // slack of a 128-token segment after the 98 characters of needle and question is ~30)
    double tightMean = Arrays.stream(tight).average().orElseThrow();
    double spreadMean = Arrays.stream(spread).average().orElseThrow();
    assertTrue(
        tightZero > 60 && tightMean < 4, "original: needles mostly right before the question");
    assertTrue(
        spreadZero < 40 && spreadMean > 6 && spreadMax >= 25,
        "spread: needles over the segment's whole slack");
  }

  /**
   * Straddling needles cross a segment boundary, every one, at every boundary from the first
   * possible to the answer's segment, with the cut at every position inside the needle.
   */
  @Test
  void straddlingNeedlesCrossASegmentBoundary() {
    int n = 128;
    PasskeyTask task = new PasskeyTask(0, 5f, false, PasskeyTask.FarNeedle.ANY_BOUNDARY, false);
    Random rng = new Random(5);
    java.util.Set<Integer> cuts = new java.util.HashSet<>();
    java.util.Set<Integer> boundaries = new java.util.HashSet<>();
    for (int i = 0; i < 400; i++) {
      int segments = 4 + i % 5;
      Sample s = task.sample(rng, segments, n);
      String text = indexedText(s);
      int digit = text.indexOf("The pass key is ") + "The pass key is ".length();
      String needle = PasskeyDocument.needle(Integer.parseInt(text.substring(digit, digit + 5)));
      int first = text.indexOf(needle);
      int last = first + needle.length() - 1;
      assertEquals(first / n + 1, last / n, "needle at " + first + ".." + last + ": " + i);
      int answer = text.indexOf(PasskeyDocument.QUESTION) + PasskeyDocument.QUESTION.length();
      assertTrue(last / n * n <= answer / n * n, "boundary at most the answer's segment start");
      cuts.add(last / n * n - first);
      boundaries.add(last / n);
    }
    assertEquals(PasskeyDocument.needle(12345).length() - 1, cuts.size(), "every cut: " + cuts);
    // the intro fills the first segment, so the first boundary possible is 2N; 4-8 segments put
    // the answer's segment start at most at 7N
    assertEquals(java.util.Set.of(2, 3, 4, 5, 6, 7), boundaries);
  }

  /**
   * OPEN_BOUNDARY needles run from memory into the open segment: every one crosses the start of the
   * answer's own segment, with the cut at every position inside the needle, and the whole question
   * lies in that segment after it. OPEN_HEAD needles do the same with the cut at every position
   * among the words before the key, and never inside it.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(
      value = PasskeyTask.FarNeedle.class,
      names = {"OPEN_BOUNDARY", "OPEN_HEAD"})
  void intoOpenNeedlesCrossTheAnswersSegmentStart(PasskeyTask.FarNeedle far) {
    int n = 128;
    PasskeyTask task = new PasskeyTask(0, 5f, false, far, false);
    Random rng = new Random(7);
    java.util.Set<Integer> cuts = new java.util.HashSet<>();
    java.util.Set<Integer> answerSegments = new java.util.HashSet<>();
    for (int i = 0; i < 3000; i++) {
      Sample s = task.sample(rng, 4 + i % 5, n);
      String text = indexedText(s);
      int digit = text.indexOf("The pass key is ") + "The pass key is ".length();
      String needle = PasskeyDocument.needle(Integer.parseInt(text.substring(digit, digit + 5)));
      int first = text.indexOf(needle);
      int last = first + needle.length() - 1;
      int answer = text.indexOf(PasskeyDocument.QUESTION) + PasskeyDocument.QUESTION.length();
      int segStart = answer / n * n; // the answer's space predicts the first digit
      assertTrue(
          first < segStart && last >= segStart,
          "needle " + first + ".." + last + " across " + segStart + ": sample " + i);
      assertEquals("passkey/far", s.task());
      cuts.add(segStart - first);
      answerSegments.add(answer / n);
    }
    // every cut: anywhere inside the needle, or (OPEN_HEAD) among the words before the key, so
    // that the characters before the boundary hold no digit
    int maxHeld =
        far == PasskeyTask.FarNeedle.OPEN_HEAD
            ? " The pass key is ".length()
            : PasskeyDocument.needle(12345).length() - 1;
    java.util.Set<Integer> every = new java.util.HashSet<>();
    for (int held = 1; held <= maxHeld; held++) {
      every.add(held);
    }
    assertEquals(every, cuts, "every cut");
    assertTrue(answerSegments.size() >= 4, "answers in several segments: " + answerSegments);
  }

  /**
   * With cutAnswer a segment boundary falls inside the answer: the input that predicts digit j
   * opens a segment, for every j in 0..4, and the weighted inputs are exactly the five that predict
   * the key's digits. Without it, a boundary falls there only by chance (~5 in N).
   */
  @Test
  void cutAnswersPutASegmentBoundaryInsideTheAnswer() {
    int n = 128;
    PasskeyTask task = new PasskeyTask(0, 5f, false, PasskeyTask.FarNeedle.ANYWHERE, true);
    Random rng = new Random(11);
    java.util.Set<Integer> cutDigits = new java.util.HashSet<>();
    for (int i = 0; i < 200; i++) {
      Sample s = task.sample(rng, 4 + i % 5, n);
      String text = indexedText(s);
      int answer = text.indexOf(PasskeyDocument.QUESTION) + PasskeyDocument.QUESTION.length();
      assertEquals(' ', text.charAt(answer), "the answer's space follows the question");
      // target index t = input index t - 1; digit j is target answer + 1 + j, input answer + j
      int opens = -1;
      for (int j = 0; j < 5; j++) {
        assertEquals(5f, s.weights()[answer + j], "digit " + j + " weighted");
        assertTrue(Character.isDigit(text.charAt(answer + 1 + j)));
        if ((answer + j) % n == 0) {
          assertEquals(-1, opens, "one boundary");
          opens = j;
        }
      }
      assertTrue(opens >= 0, "a boundary inside the answer: sample " + i + ", answer at " + answer);
      assertEquals(1f, s.weights()[answer + 5], "the token after the key has weight 1");
      cutDigits.add(opens);
    }
    assertEquals(java.util.Set.of(0, 1, 2, 3, 4), cutDigits);
    int byChance = 0;
    PasskeyTask plain = new PasskeyTask(0, 5f);
    for (int i = 0; i < 400; i++) {
      Sample s = plain.sample(rng, 6, n);
      String text = indexedText(s);
      int answer = text.indexOf(PasskeyDocument.QUESTION) + PasskeyDocument.QUESTION.length();
      byChance += (answer + 4) % n < 5 ? 1 : 0;
    }
    assertTrue(byChance < 60, "by chance about 5/128 of 400: " + byChance);
  }

  @Test
  void mixIsAPureFunctionOfSeedAndStep() {
    TaskMix mix = new TaskMix(tasks().stream().map(t -> new TaskMix.Entry(t, 1.0)).toList());
    List<Sample> a = mix.batch(9, 100, 6, 4, N);
    List<Sample> b = mix.batch(9, 100, 6, 4, N);
    List<Sample> c = mix.batch(9, 101, 6, 4, N);
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
    }
    boolean differs = false;
    for (int i = 0; i < a.size(); i++) {
      differs |= !Arrays.equals(a.get(i).tokens(), c.get(i).tokens());
    }
    assertTrue(differs);
  }

  @Test
  void corpusHoldsOutItsTail() {
    TextCorpus c = SyntheticText.corpus(5, 10_000, 0.2);
    assertEquals(8_000, c.trainBytes());
    assertEquals(2_000, c.heldOut(1_000_000).length);
    int[] w = c.trainWindow(new Random(1), 20_000); // wraps within the training part
    assertEquals(20_000, w.length);
  }

  /**
   * A sample's text with index 0 standing for BOS (decode drops it): string index = token index.
   */
  private static String indexedText(Sample s) {
    return "\u0000" + ByteTokenizer.decode(Arrays.copyOfRange(s.tokens(), 1, s.tokens().length));
  }
}
