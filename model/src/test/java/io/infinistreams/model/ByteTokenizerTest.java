package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ByteTokenizerTest {

  @Test
  void roundTripsArbitraryUnicode() {
    SplittableRandom rng = new SplittableRandom(1);
    int[][] ranges = {
      {0x00, 0x7F},
      {0x80, 0x7FF},
      {0x800, 0xD7FF},
      {0xE000, 0xFFFF},
      {0x10000, 0x10FFFF},
      {0x1F600, 0x1F64F},
      {0x4E00, 0x9FFF}
    };
    for (int trial = 0; trial < 2000; trial++) {
      StringBuilder sb = new StringBuilder();
      int len = rng.nextInt(40);
      for (int i = 0; i < len; i++) {
        int[] r = ranges[rng.nextInt(ranges.length)];
        sb.appendCodePoint(r[0] + rng.nextInt(r[1] - r[0] + 1));
      }
      String text = sb.toString();
      int[] ids = ByteTokenizer.encode(text);
      for (int id : ids) {
        assertTrue(id >= 0 && id < 256);
      }
      assertEquals(text, ByteTokenizer.decode(ids));
    }
    String mixed = "passkey 71432 — Ünïcödé, 中文, emoji 😀👍🏽, RTL שלום, NUL \u0000 end";
    assertEquals(mixed, ByteTokenizer.decode(ByteTokenizer.encode(mixed)));
  }

  @Test
  void specialsAreDroppedAndCutCharactersDecodeLeniently() {
    int[] ids = ByteTokenizer.encode("é");
    assertEquals(2, ids.length);
    assertEquals("\uFFFD", ByteTokenizer.decode(new int[] {ids[0]}));
    assertEquals(
        "ab",
        ByteTokenizer.decode(
            new int[] {ByteTokenizer.BOS, 'a', ByteTokenizer.EOS, 'b', ByteTokenizer.PAD}));
    int[] turn = ByteTokenizer.chatTurn("hi");
    assertArrayEquals(new int[] {ByteTokenizer.USER, 'h', 'i', ByteTokenizer.ASSISTANT}, turn);
  }
}
