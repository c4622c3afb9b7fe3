package io.infinistreams.app.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Utf8ChunkerTest {

  /** ASCII, 2-, 3- and 4-byte characters. */
  private static final String[] CHARS = {"a", " ", "é", "ß", "€", "中", "😀", "𝄞"};

  private static String randomText(Random rng, int chars) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < chars; i++) {
      sb.append(CHARS[rng.nextInt(CHARS.length)]);
    }
    return sb.toString();
  }

  @Test
  void chunksAreBoundedDecodeAloneAndConcatenateToTheInput() {
    Random rng = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      String text = randomText(rng, rng.nextInt(300));
      int max = 4 + rng.nextInt(40);
      List<String> chunks = Utf8Chunker.split(text, max);
      ByteArrayOutputStream joined = new ByteArrayOutputStream();
      for (String c : chunks) {
        byte[] b = c.getBytes(StandardCharsets.UTF_8);
        assertTrue(b.length >= 1 && b.length <= max, "chunk of " + b.length + " > " + max);
        assertTrue(
            b.length > max - 4 || c == chunks.get(chunks.size() - 1),
            "only the last chunk may be short by a whole character or more");
        assertTrue(!c.contains("\uFFFD"), "a character was split");
        joined.writeBytes(b);
      }
      assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), joined.toByteArray());
    }
  }

  @Test
  void neverSplitsACharacterAtTheBoundary() {
    // "a€" is 1 + 3 bytes: with 2-byte chunks... the minimum is 4, so use "aaa€" with max 4.
    assertEquals(List.of("aaa", "€"), Utf8Chunker.split("aaa€", 4));
    assertEquals(List.of("aa", "😀", "b"), Utf8Chunker.split("aa😀b", 4));
    assertEquals(List.of("éé", "é"), Utf8Chunker.split("ééé", 5));
    assertEquals(List.of(), Utf8Chunker.split("", 8));
  }

  @Test
  void readsAStreamThatDeliversOneByteAtATime() throws IOException {
    String text = randomText(new Random(3), 500);
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    InputStream trickle =
        new ByteArrayInputStream(bytes) {
          @Override
          public synchronized int read(byte[] b, int off, int len) {
            return super.read(b, off, Math.min(len, 1));
          }
        };
    Utf8Chunker chunker = new Utf8Chunker(trickle, 10);
    StringBuilder joined = new StringBuilder();
    for (String c = chunker.next(); c != null; c = chunker.next()) {
      joined.append(c);
    }
    assertEquals(text, joined.toString());
    assertEquals(bytes.length, chunker.bytesRead());
  }

  @Test
  void invalidUtf8IsAnErrorWithItsOffset() {
    byte[] bad = {'a', 'b', (byte) 0xFF, 'c'};
    Utf8Chunker chunker = new Utf8Chunker(new ByteArrayInputStream(bad), 16);
    CharacterCodingException e = assertThrows(CharacterCodingException.class, chunker::next);
    assertTrue(e.getMessage().contains("invalid UTF-8 in bytes 0..4"), e.getMessage());

    byte[] truncated = {'a', (byte) 0xE2, (byte) 0x82}; // "€" cut at the end of the file
    assertThrows(
        CharacterCodingException.class,
        () -> new Utf8Chunker(new ByteArrayInputStream(truncated), 16).next());
  }

  @Test
  void rejectsChunksTooSmallForACharacter() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new Utf8Chunker(new ByteArrayInputStream(new byte[0]), 3));
  }
}
