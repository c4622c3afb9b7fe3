package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.runtime.SurpriseStream.Inject;
import io.infinistreams.tasks.prose.ProseSource;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** The streams of {@code infini demo --task surprise}, from prose the test writes. */
class SurpriseStreamTest {

  /**
   * About 60 KB of sentences with multi-byte characters (2, 3 and 4 bytes), paragraphs separated by
   * blank lines, and one run of 300 bytes without spaces.
   */
  private static ProseSource prose() {
    StringBuilder sb = new StringBuilder();
    for (int p = 0; p < 150; p++) {
      for (int s = 0; s < 6; s++) {
        sb.append(
            String.format(
                Locale.ROOT,
                "Die Brücke %d führte über den Fluss — café №%d, ☕ and 🐟 at sentence %d. ",
                p,
                s,
                s));
      }
      if (p % 10 == 3) {
        sb.append("ü".repeat(150)).append(' ');
      }
      sb.append("\n\n");
    }
    return ProseSource.fromText("test", sb.toString());
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theSameSeedGivesTheSameStreamAndTheInjectedEventSitsWhereAsked() {
    ProseSource prose = prose();
    for (Inject kind : Inject.values()) {
      SurpriseStream a = SurpriseStream.build(prose, 24, 400, 18, kind, 7);
      SurpriseStream b = SurpriseStream.build(prose, 24, 400, 18, kind, 7);
      assertEquals(a, b, kind.option());
      assertEquals(24, a.events().size());
      assertEquals(18, a.injectedAt());
      assertEquals(kind, a.inject());
      assertNotEquals(
          a.events(), SurpriseStream.build(prose, 24, 400, 18, kind, 8).events(), "other seed");
      SurpriseStream at5 = SurpriseStream.build(prose, 24, 400, 4, kind, 7);
      assertEquals(4, at5.injectedAt());
      // the prose is the same for every position and kind: only the injected event differs
      for (int i = 0; i < 24; i++) {
        if (i != 4 && i != 18) {
          assertEquals(a.events().get(i), at5.events().get(i), kind + " event " + i);
        }
      }
    }
    assertEquals(18, SurpriseStream.defaultInjectedAt(24), "event 19 of 24, as the evaluation");
    assertEquals(5, SurpriseStream.defaultInjectedAt(8));
    assertEquals(3, SurpriseStream.defaultInjectedAt(6));
  }

  @Test
  void eventsAreCutAtCharacterBoundariesAndAboutTheRequestedSize() {
    ProseSource prose = prose();
    for (int bytes : new int[] {16, 200, 400}) {
      for (long seed = 0; seed < 20; seed++) {
        SurpriseStream s = SurpriseStream.build(prose, 12, bytes, 8, Inject.SHUFFLED, seed);
        for (int i = 0; i < s.events().size(); i++) {
          String e = s.events().get(i);
          byte[] b = utf8(e);
          assertEquals(b.length, s.bytes(i));
          // each event is valid UTF-8 on its own: decoding it gives back its bytes
          assertArrayEquals(b, utf8(new String(b, StandardCharsets.UTF_8)), "event " + i);
          assertTrue(
              b.length >= bytes - 3 && b.length <= bytes + Math.max(8, bytes / 4),
              "event " + i + " of " + b.length + " bytes for " + bytes);
          boolean afterSpace = e.endsWith(" ") || e.endsWith("\n");
          assertTrue(
              i == 8 || afterSpace || b.length <= bytes,
              "without a space near, the cut is at the size");
        }
      }
    }
    // the cutting itself, on bytes: a 4-byte character straddling the size is left whole
    byte[] text = utf8("abcdefghijklmn🐟" + "x".repeat(100));
    List<byte[]> cut = SurpriseStream.cut(text, 3, 16);
    assertEquals("abcdefghijklmn", new String(cut.get(0), StandardCharsets.UTF_8));
    assertEquals("🐟" + "x".repeat(12), new String(cut.get(1), StandardCharsets.UTF_8));
    List<byte[]> spaced = SurpriseStream.cut(utf8("aaaa bbbb cccc dddd eeee ffff gggg "), 2, 7);
    assertEquals("aaaa bbbb ", new String(spaced.get(0), StandardCharsets.UTF_8));
    assertEquals("cccc dddd ", new String(spaced.get(1), StandardCharsets.UTF_8));
    assertThrows(IllegalArgumentException.class, () -> SurpriseStream.cut(utf8("short"), 2, 16));
  }

  @Test
  void theShuffledEventIsAPermutationOfTheOriginalsBytes() {
    ProseSource prose = prose();
    for (long seed = 0; seed < 10; seed++) {
      SurpriseStream original = SurpriseStream.build(prose, 24, 400, 18, Inject.REPEAT, seed);
      SurpriseStream shuffled = SurpriseStream.build(prose, 24, 400, 18, Inject.SHUFFLED, seed);
      SurpriseStream log = SurpriseStream.build(prose, 24, 400, 18, Inject.LOG, seed);
      byte[] own = utf8(originalEvent(prose, seed));
      byte[] mixed = utf8(shuffled.events().get(18));
      assertFalse(Arrays.equals(own, mixed), "shuffled");
      byte[] a = own.clone();
      byte[] b = mixed.clone();
      Arrays.sort(a);
      Arrays.sort(b);
      assertArrayEquals(a, b, "the same bytes");
      assertArrayEquals(mixed, utf8(new String(mixed, StandardCharsets.UTF_8)), "still UTF-8");
      assertEquals(original.events().subList(0, 18), shuffled.events().subList(0, 18));
      String lines = log.events().get(18);
      assertTrue(lines.endsWith("\n"), lines);
      assertTrue(lines.matches("(?s)(20\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*\n)+"));
      assertTrue(
          utf8(lines).length >= own.length && utf8(lines).length < own.length + 160,
          "about the event's size: " + utf8(lines).length);
    }
  }

  /** Event 18 of the stream drawn from {@code seed} before anything replaced it. */
  private static String originalEvent(ProseSource prose, long seed) {
    // injected at 4 instead, event 18 is the original prose
    return SurpriseStream.build(prose, 24, 400, 4, Inject.LOG, seed).events().get(18);
  }

  @Test
  void theRepeatIsAnExactCopyOfAnEventFarEnoughBack() {
    ProseSource prose = prose();
    for (long seed = 0; seed < 20; seed++) {
      SurpriseStream s = SurpriseStream.build(prose, 24, 400, 18, Inject.REPEAT, seed);
      assertTrue(s.copyOf() >= 0 && s.copyOf() < 18, "copy of " + s.copyOf());
      assertEquals(s.events().get(s.copyOf()), s.events().get(18));
      assertTrue(
          s.repeatDistance() >= SurpriseStream.REPEAT_DISTANCE, "distance " + s.repeatDistance());
      assertEquals(-1, SurpriseStream.build(prose, 24, 400, 18, Inject.LOG, seed).copyOf());
    }
    // a stream too short for that distance repeats its first event
    SurpriseStream shortOne = SurpriseStream.build(prose, 8, 200, 5, Inject.REPEAT, 3);
    assertEquals(0, shortOne.copyOf());
    assertEquals(shortOne.events().get(0), shortOne.events().get(5));
  }

  @Test
  void comparesTheInjectedEventWithItsTwoNeighboursOnEachSide() {
    ProseSource prose = prose();
    double[] bpb = {9, 9, 2, 3, 8, 3, 2, 9};
    SurpriseStream log = SurpriseStream.build(prose, 8, 200, 4, Inject.LOG, 1);
    assertEquals(new SurpriseStream.Comparison(8, 2.5, true), log.compare(bpb));
    bpb[3] = 8.5;
    assertFalse(log.compare(bpb).apart());
    SurpriseStream repeat = SurpriseStream.build(prose, 8, 200, 4, Inject.REPEAT, 1);
    double[] low = {9, 9, 2, 3, 1, 3, 2, 9};
    assertTrue(repeat.compare(low).apart(), "below all four");
    assertFalse(repeat.compare(bpb).apart());
  }

  @Test
  void refusesSizesAndPositionsThatDoNotFit() {
    ProseSource prose = prose();
    assertThrows(
        IllegalArgumentException.class,
        () -> SurpriseStream.build(prose, 24, 400, 22, Inject.LOG, 1),
        "one neighbour after");
    assertThrows(
        IllegalArgumentException.class,
        () -> SurpriseStream.build(prose, 24, 400, 1, Inject.LOG, 1),
        "one neighbour before");
    assertThrows(
        IllegalArgumentException.class,
        () -> SurpriseStream.build(prose, 5, 400, 2, Inject.LOG, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> SurpriseStream.build(prose, 24, 8, 18, Inject.LOG, 1));
    assertEquals(Inject.REPEAT, Inject.of("repeat"));
    assertThrows(IllegalArgumentException.class, () -> Inject.of("noise"));
  }
}
