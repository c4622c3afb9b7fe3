package io.infinistreams.model;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Byte-level UTF-8 tokenizer: token ids 0..255 are the bytes of the UTF-8 encoding, so any text
 * encodes and nothing is unknown. Ids from 256 up are special tokens that text can never produce.
 *
 * <p>Decoding is lenient: special tokens are dropped and invalid UTF-8 (a generation cut inside a
 * multi-byte character) becomes U+FFFD, so decode never throws.
 */
public final class ByteTokenizer {
  /** Start of a stream: every stream's context begins with it. */
  public static final int BOS = 256;

  /** End of a generated reply: generation stops after it. */
  public static final int EOS = 257;

  /** Padding in training batches; never part of a stream. */
  public static final int PAD = 258;

  /** Opens a user turn in the chat format. */
  public static final int USER = 259;

  /** Opens an assistant turn in the chat format; the model's reply follows it. */
  public static final int ASSISTANT = 260;

  /** Opens a system/instruction turn. */
  public static final int SYSTEM = 261;

  /** Smallest vocabulary that holds bytes and specials. */
  public static final int MIN_VOCAB = 262;

  private ByteTokenizer() {}

  /** Tokens of {@code text}: its UTF-8 bytes as ids 0..255. */
  public static int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = bytes[i] & 0xFF;
    }
    return ids;
  }

  /** Text of {@code ids}: byte tokens decoded as UTF-8, special tokens dropped. */
  public static String decode(int[] ids) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length);
    for (int id : ids) {
      if (id >= 0 && id < 256) {
        out.write(id);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** True for ids that text can never produce. */
  public static boolean isSpecial(int id) {
    return id >= 256;
  }

  /**
   * The chat format of one user turn: {@code USER text ASSISTANT}; the reply the model generates
   * follows and ends with {@link #EOS}.
   */
  public static int[] chatTurn(String userText) {
    int[] text = encode(userText);
    int[] ids = new int[text.length + 2];
    ids[0] = USER;
    System.arraycopy(text, 0, ids, 1, text.length);
    ids[ids.length - 1] = ASSISTANT;
    return ids;
  }
}
