package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The documents the demo streams for the prose tasks, from a haystack file the test writes. */
class ProseDemoDocumentTest {

  @TempDir Path dir;

  /** About 40 KB of plain sentences, paragraphs separated by blank lines. */
  private static String prose(String topic) {
    StringBuilder sb = new StringBuilder();
    for (int p = 0; p < 120; p++) {
      for (int s = 0; s < 6; s++) {
        sb.append(
            String.format(
                Locale.ROOT,
                "The %s of paragraph %d went on quietly past sentence %d. ",
                topic,
                p,
                s));
      }
      sb.append("\n\n");
    }
    return sb.toString();
  }

  private ProseDemo task(String name) throws Exception {
    Path file = dir.resolve("haystack.txt");
    Files.writeString(file, prose("river"), StandardCharsets.UTF_8);
    ProseDemo.Haystack hay = ProseDemo.haystack(file, dir.resolve("no-corpora"));
    assertTrue(hay.description().startsWith(file.toString()), hay.description());
    return ProseDemo.of(name, hay.prose());
  }

  private static int bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  @Test
  void documentsAreDeterministicExactlyAsLongAsAskedAndAnswerAtTheDepth() throws Exception {
    int length = 20_000;
    for (String name : ProseDemo.TASKS) {
      ProseDemo demo = task(name);
      assertEquals(16, demo.defaultMaxTokens());
      for (double depth : new double[] {0, 0.25, 0.5, 0.75, 1}) {
        String at = name + " at depth " + depth;
        DemoDocument doc = demo.document(length, depth, 7);
        DemoDocument again = demo.document(length, depth, 7);
        assertEquals(doc.context(), again.context(), at);
        assertEquals(doc.prompt(), again.prompt(), at);
        assertEquals(doc.expected(), again.expected(), at);
        assertNotEquals(doc.context(), demo.document(length, depth, 8).context(), at);

        assertEquals(length, bytes(doc.context()) + bytes(doc.prompt()), at);
        assertTrue(doc.prompt().startsWith("\n\nQuestion: "), at + ": " + doc.prompt());
        assertTrue(doc.prompt().contains("\nAnswer: "), at + ": " + doc.prompt());

        byte[] context = doc.context().getBytes(StandardCharsets.UTF_8);
        int offset = doc.needleOffset();
        String statement =
            new String(
                Arrays.copyOfRange(context, offset, Math.min(context.length, offset + 100)),
                StandardCharsets.UTF_8);
        assertTrue(
            statement.contains(doc.expected()),
            at + ": the answering statement holds " + doc.expected() + ": " + statement);
        assertEquals(
            depth,
            offset / (double) context.length,
            0.08,
            at + ": answering statement at byte " + offset + " of " + context.length);

        assertTrue(doc.correct(" " + doc.expected() + "."), at);
        assertFalse(doc.correct(" nothing."), at);
        assertFalse(doc.correct(""), at);
      }
    }
  }

  @Test
  void aFactsDocumentAsksForThePersonsLatestMove() throws Exception {
    DemoDocument doc = task("facts").document(20_000, 0.4, 3);
    String person = doc.prompt().substring(doc.prompt().lastIndexOf('\n') + 1).split(" ")[1];
    // no later statement about that person than the answering one
    String after = doc.context().substring(doc.context().indexOf(". ", doc.needleOffset()) + 2);
    for (String sentence : after.split("(?<=\\.) ")) {
      assertFalse(
          sentence.startsWith(person + " ") || sentence.contains(" " + person + " "),
          person + " moves again after the answer: " + sentence);
    }
  }

  @Test
  void withoutAFileTheHaystackIsTheHeldOutCorporaOnly() throws Exception {
    Path corpora = Files.createDirectories(dir.resolve("corpora"));
    Files.writeString(corpora.resolve("seen.txt"), prose("train"), StandardCharsets.UTF_8);
    Files.writeString(corpora.resolve("unseen.txt"), prose("lake"), StandardCharsets.UTF_8);
    Files.writeString(
        corpora.resolve("corpora.json"),
        "{\"corpora\": [{\"name\": \"seen\", \"split\": \"train\"},"
            + " {\"name\": \"unseen\", \"split\": \"heldout\"}]}",
        StandardCharsets.UTF_8);
    ProseDemo.Haystack hay = ProseDemo.haystack(null, corpora);
    assertEquals(List.of("unseen"), hay.prose().corpusNames());
    DemoDocument doc = ProseDemo.of("needle", hay.prose()).document(4000, 0.5, 1);
    assertTrue(doc.context().contains("The lake of paragraph"), doc.context());
    assertFalse(doc.context().contains("The train of paragraph"));
  }

  @Test
  void noFileAndNoCorporaSaysWhatToDo() {
    ProseDemo.NoHaystack e =
        assertThrows(
            ProseDemo.NoHaystack.class, () -> ProseDemo.haystack(null, dir.resolve("absent")));
    assertTrue(e.getMessage().contains("--haystack FILE"), e.getMessage());
    assertTrue(e.getMessage().contains("INFINI_DATA"), e.getMessage());
    assertTrue(e.getMessage().contains(dir.resolve("absent").toString()), e.getMessage());
    ProseDemo.NoHaystack none =
        assertThrows(
            ProseDemo.NoHaystack.class,
            () -> ProseDemo.haystack(dir.resolve("missing.txt"), dir.resolve("absent")));
    assertEquals("--haystack: no file " + dir.resolve("missing.txt"), none.getMessage());
  }
}
