package io.infinistreams.app.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a UTF-8 byte stream into chunks of at most {@code maxBytes} bytes, never inside a multi-byte
 * character, so each chunk decodes on its own and the chunks' concatenation is the input byte for
 * byte. Invalid UTF-8 is an error (with its byte offset), not a silent U+FFFD.
 *
 * <p>Reads the stream incrementally (one chunk plus at most 3 bytes in memory), so documents of any
 * size can be fed. Not thread-safe. The caller owns the stream.
 */
public final class Utf8Chunker {

  /** Smallest chunk that can hold any UTF-8 character. */
  public static final int MIN_CHUNK_BYTES = 4;

  private final InputStream in;
  private final byte[] buf;
  private final CharsetDecoder decoder =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);
  private int filled; // bytes in buf
  private long offset; // bytes of the stream already returned
  private boolean eof;

  public Utf8Chunker(InputStream in, int maxBytes) {
    if (maxBytes < MIN_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          "maxBytes must be >= " + MIN_CHUNK_BYTES + ", got " + maxBytes);
    }
    this.in = in;
    this.buf = new byte[maxBytes];
  }

  /** All chunks of {@code text} (convenience for in-memory documents). */
  public static List<String> split(String text, int maxBytes) {
    Utf8Chunker chunker =
        new Utf8Chunker(
            new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), maxBytes);
    List<String> out = new ArrayList<>();
    try {
      for (String c = chunker.next(); c != null; c = chunker.next()) {
        out.add(c);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The next chunk (1..maxBytes UTF-8 bytes), or {@code null} at the end of the stream.
   *
   * @throws CharacterCodingException (an IOException) if the bytes are not valid UTF-8
   */
  public String next() throws IOException {
    while (!eof && filled < buf.length) {
      int n = in.read(buf, filled, buf.length - filled);
      if (n < 0) {
        eof = true;
      } else {
        filled += n;
      }
    }
    if (filled == 0) {
      return null;
    }
    int cut = filled;
    if (!eof) {
      // Cut before the first byte of the character that may continue past the buffer.
      cut = cutPoint(buf, filled);
    }
    String chunk = decode(cut);
    System.arraycopy(buf, cut, buf, 0, filled - cut);
    filled -= cut;
    offset += cut;
    return chunk;
  }

  /** Bytes returned so far. */
  public long bytesRead() {
    return offset;
  }

  /**
   * The largest {@code cut <= length} such that {@code bytes[0, cut)} ends on a character boundary,
   * assuming the bytes continue after {@code length}.
   */
  static int cutPoint(byte[] bytes, int length) {
    // Step back over up to 3 continuation bytes (10xxxxxx) to the lead byte of the last char.
    int lead = length - 1;
    while (lead > 0 && lead > length - 4 && (bytes[lead] & 0xC0) == 0x80) {
      lead--;
    }
    int b = bytes[lead] & 0xFF;
    int need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    if (lead + need <= length) {
      return length; // the last character is complete
    }
    return lead == 0 ? length : lead; // lead == 0: malformed or tiny buffer; decode() reports it
  }

  private String decode(int length) throws CharacterCodingException {
    try {
      return decoder.reset().decode(ByteBuffer.wrap(buf, 0, length)).toString();
    } catch (CharacterCodingException e) {
      CharacterCodingException named =
          new CharacterCodingException() {
            @Override
            public String getMessage() {
              return "invalid UTF-8 in bytes " + offset + ".." + (offset + length);
            }
          };
      named.initCause(e);
      throw named;
    }
  }
}
