package io.infinistreams.tasks.prose;

import java.nio.charset.StandardCharsets;

/**
 * Byte arithmetic on UTF-8 text, where one byte is one token ({@link
 * io.infinistreams.model.ByteTokenizer}). Cuts happen only at character boundaries, so a cut text
 * always encodes back to the same bytes.
 */
public final class Utf8 {
  private Utf8() {}

  /** Bytes of {@code s} in UTF-8: its length in tokens. */
  public static int length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** True if byte {@code b} continues a multi-byte character (10xxxxxx). */
  public static boolean isContinuation(byte b) {
    return (b & 0xC0) == 0x80;
  }

  /**
   * The longest prefix of {@code s} of at most {@code maxBytes} bytes that ends at a character
   * boundary (so at least {@code maxBytes - 3} bytes when {@code s} is that long).
   */
  public static String cut(String s, int maxBytes) {
    if (maxBytes <= 0) {
      return "";
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    if (b.length <= maxBytes) {
      return s;
    }
    int n = maxBytes;
    while (n > 0 && isContinuation(b[n])) {
      n--;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8);
  }

  /**
   * Exactly {@code bytes} bytes: {@code s} cut at a character boundary, then padded with spaces (at
   * most three when {@code s} is long enough).
   */
  public static String fit(String s, int bytes) {
    String c = cut(s, bytes);
    int pad = bytes - length(c);
    return pad == 0 ? c : c + " ".repeat(pad);
  }
}
