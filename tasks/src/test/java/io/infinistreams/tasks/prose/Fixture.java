package io.infinistreams.tasks.prose;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The test prose (plain English paragraphs written for the tests) and UTF-8 checks. */
final class Fixture {
  private Fixture() {}

  static final String TEXT = read();
  static final ProseSource PROSE = ProseSource.fromText("fixture", TEXT);

  private static String read() {
    try (InputStream in = Fixture.class.getResourceAsStream("/prose/fixture.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True if {@code bytes[from, to)} is complete, valid UTF-8. */
  static boolean validUtf8(byte[] bytes, int from, int to) {
    try {
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes, from, to - from));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  /** True if every run of byte tokens between special tokens is valid UTF-8. */
  static boolean validRuns(int[] tokens) {
    int start = 0;
    for (int i = 0; i <= tokens.length; i++) {
      if (i == tokens.length || tokens[i] >= 256) {
        byte[] b = new byte[i - start];
        for (int j = start; j < i; j++) {
          b[j - start] = (byte) tokens[j];
        }
        if (!validUtf8(b, 0, b.length)) {
          return false;
        }
        start = i + 1;
      }
    }
    return true;
  }
}
