package io.infinistreams.tasks.prose;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProseSourceTest {

  @Test
  void passagesStartAtParagraphsAndHaveTheAskedLength() {
    List<String> paragraphs = List.of(Fixture.TEXT.split("\n\n"));
    for (int seed = 0; seed < 200; seed++) {
      int n = new Random(seed).nextInt(3000);
      ProseSource.Passage p = Fixture.PROSE.passage(new Random(seed), n);
      int bytes = Utf8.length(p.text());
      assertTrue(bytes <= n && bytes >= n - 3, bytes + " bytes for " + n);
      assertEquals("fixture", p.corpus());
      String head = p.text().substring(0, Math.min(20, p.text().length()));
      assertTrue(
          paragraphs.stream()
              .anyMatch(q -> q.strip().startsWith(head) || head.startsWith(q.strip())),
          "not a paragraph start: " + head);
      assertEquals(n, Utf8.length(Fixture.PROSE.text(new Random(seed), n)));
    }
  }

  @Test
  void spansCycleThroughTheCorpusWithBlankLinesBetweenParagraphs() {
    ProseSource s = ProseSource.of("tiny", List.of("One.", "Two two.", "Three."));
    assertEquals(3, s.paragraphs("tiny"));
    String t = s.passage(new Random(1), 100).text();
    assertEquals(100, Utf8.length(t));
    assertTrue(
        t.contains("Three.\n\nOne.\n\nTwo two.") || t.contains("One.\n\nTwo two.\n\nThree."), t);
  }

  @Test
  void utf8IsNeverCutInsideACharacter() {
    ProseSource s =
        ProseSource.of(
            "multi", List.of("ééé 🙂 naïve café — “quoted”", "Zürich 🙂🙂", "São Paulo ñ ø"));
    for (int seed = 0; seed < 50; seed++) {
      for (int n = 0; n < 80; n++) {
        String t = s.passage(new Random(seed), n).text();
        byte[] b = t.getBytes(StandardCharsets.UTF_8);
        assertTrue(b.length <= n && b.length >= n - 3);
        assertFalse(t.contains("\uFFFD"), t);
        assertEquals(n, Utf8.length(Utf8.fit(t, n)));
      }
    }
    String mixed = "a🙂é";
    assertEquals(7, Utf8.length(mixed));
    assertEquals("a", Utf8.cut(mixed, 4));
    assertEquals("a🙂", Utf8.cut(mixed, 6));
    assertEquals("a   ", Utf8.fit(mixed, 4));
  }

  @Test
  void sameSeedSamePassage() {
    assertEquals(
        Fixture.PROSE.passage(new Random(9), 500), Fixture.PROSE.passage(new Random(9), 500));
  }

  @Test
  void mixFollowsTheWeights() {
    ProseSource a = ProseSource.of("a", List.of("Alpha text here."));
    ProseSource b = ProseSource.of("b", List.of("Beta text here."));
    ProseSource m = ProseSource.mix(List.of(a, b), new double[] {3, 1});
    assertEquals(0.75, m.share("a"), 1e-9);
    Random rng = new Random(5);
    int fromA = 0;
    for (int i = 0; i < 4000; i++) {
      fromA += m.passage(rng, 10).corpus().equals("a") ? 1 : 0;
    }
    assertEquals(0.75, fromA / 4000.0, 0.03);
  }

  private static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private static String entry(String name, String split, byte[] b, String sha) {
    return "{\"name\": \""
        + name
        + "\", \"split\": \""
        + split
        + "\","
        + " \"genre\": \"test \\\"x\\\"\","
        + " \"file\": \""
        + name
        + ".txt\", \"bytes\": "
        + b.length
        + ", \"sha256\": \""
        + sha
        + "\", \"paragraphs\": 2}";
  }

  @Test
  void corporaLoaderReadsTheManifestBySplit(@TempDir Path dir) throws Exception {
    Map<String, byte[]> files = new HashMap<>();
    files.put("alpha", "Alpha one.\n\nAlpha two, with é.\n".getBytes(StandardCharsets.UTF_8));
    files.put(
        "gcide",
        "word: a unit of language.\n\nzebra: an animal.\n".getBytes(StandardCharsets.UTF_8));
    files.put("speeches", "Fellow citizens.\n\nWe gather here.\n".getBytes(StandardCharsets.UTF_8));
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Files.write(dir.resolve(e.getKey() + ".txt"), e.getValue());
    }
    String json =
        "{\"description\": \"test\", \"corpora\": [\n"
            + entry("alpha", "train", files.get("alpha"), sha(files.get("alpha")))
            + ",\n"
            + entry("gcide", "train", files.get("gcide"), sha(files.get("gcide")))
            + ",\n"
            + entry("speeches", "heldout", files.get("speeches"), sha(files.get("speeches")))
            + "\n]}";
    Files.writeString(dir.resolve(Corpora.MANIFEST), json);

    Corpora c = Corpora.load(dir);
    assertEquals(3, c.entries().size());
    assertEquals("test \"x\"", c.entry("alpha").genre());
    assertEquals(
        List.of("alpha", "gcide"),
        c.split(Corpora.TRAIN).stream().map(Corpora.Entry::name).toList());
    ProseSource train = c.source(Corpora.TRAIN);
    assertEquals(List.of("alpha", "gcide"), train.corpusNames());
    assertTrue(train.share("gcide") < train.share("alpha"), train.toString());
    assertEquals(0, train.share("speeches"));
    Random rng = new Random(3);
    for (int i = 0; i < 100; i++) {
      ProseSource.Passage p = train.passage(rng, 30);
      assertTrue(
          p.text().startsWith("Alpha")
              || p.text().startsWith("word:")
              || p.text().startsWith("zebra:"),
          p.text());
    }
    ProseSource held = c.source(Corpora.HELD_OUT);
    assertEquals(List.of("speeches"), held.corpusNames());
    assertEquals(2, c.read("alpha").paragraphs("alpha"));
    ProseSource only = c.source(Corpora.TRAIN, Map.of("gcide", 0.0));
    assertEquals(List.of("alpha"), only.corpusNames());

    Files.writeString(dir.resolve("alpha.txt"), "changed");
    assertThrows(IOException.class, () -> c.read("alpha"));
  }

  @Test
  void corporaLoaderNeedsAManifest(@TempDir Path dir) {
    assertThrows(IOException.class, () -> Corpora.load(dir));
  }
}
