package io.infinistreams.tasks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * A plain-text corpus as bytes, split once into a training part (the first {@code 1 - heldOut}) and
 * a held-out part (the rest) that training never reads.
 *
 * <p>The corpus {@code kjv} is the King James Version of the Bible from Debian's {@code
 * bible-kjv-text} package (public domain text; the package's own reader {@code bible} from {@code
 * bible-kjv} decodes its compressed {@code /usr/lib/bible.data}). Tests never need it: they use
 * {@link SyntheticText}.
 *
 * @param name where the text came from (recorded in the manifest)
 * @param bytes the whole text, UTF-8
 * @param trainBytes bytes [0, trainBytes) are for training, the rest is held out
 */
public record TextCorpus(String name, byte[] bytes, int trainBytes) {

  /** The installed KJV data file and its reader, from Debian's bible-kjv-text and bible-kjv. */
  public static final Path KJV_DATA = Path.of("/usr/lib/bible.data");

  public static final Path KJV_READER = Path.of("/usr/bin/bible");
  public static final String KJV_NAME =
      "King James Version (1611/1769), Debian package"
          + " bible-kjv-text 4.38 (text: public domain; copyright expired), read by bible-kjv's"
          + " `bible -l0 Gen1:1-Rev22:21`, verse numbers stripped";

  public TextCorpus {
    if (trainBytes <= 0 || trainBytes > bytes.length) {
      throw new IllegalArgumentException("trainBytes must be in (0, " + bytes.length + "]");
    }
  }

  /** A corpus holding out the last {@code heldOut} fraction (0..1) of {@code text}. */
  public static TextCorpus of(String name, String text, double heldOut) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return new TextCorpus(name, b, (int) Math.round(b.length * (1 - heldOut)));
  }

  /** A plain UTF-8 text file. */
  public static TextCorpus fromFile(Path file, double heldOut) throws IOException {
    return of(file.toString(), Files.readString(file, StandardCharsets.UTF_8), heldOut);
  }

  /**
   * The installed KJV text, or empty if the Debian packages are not installed (tests and CI do not
   * install them).
   */
  public static Optional<TextCorpus> kjv(double heldOut) throws IOException {
    if (!Files.isRegularFile(KJV_DATA) || !Files.isExecutable(KJV_READER)) {
      return Optional.empty();
    }
    Process p =
        new ProcessBuilder(KJV_READER.toString(), "-l0", "Gen1:1-Rev22:21")
            .redirectErrorStream(true)
            .start();
    byte[] out;
    try (InputStream in = p.getInputStream()) {
      out = in.readAllBytes();
    }
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("bible exited with " + p.exitValue());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted reading the KJV", e);
    }
    String text =
        new String(out, StandardCharsets.UTF_8)
            .replaceAll("(?m)^\\s+\\d+ ", "") // "  12 And God said" -> "And God said"
            .replaceAll("\n{3,}", "\n\n");
    return Optional.of(of(KJV_NAME, text, heldOut));
  }

  /** Bytes of the held-out part. */
  public int heldOutBytes() {
    return bytes.length - trainBytes;
  }

  /**
   * {@code length} tokens of the training part starting at a random line start; wraps around to the
   * start of the training part if it runs past its end.
   */
  public int[] trainWindow(Random rng, int length) {
    int start = rng.nextInt(trainBytes);
    int nl = start;
    while (nl < trainBytes && bytes[nl] != '\n') {
      nl++;
    }
    start = nl + 1 < trainBytes ? nl + 1 : 0;
    int[] out = new int[length];
    for (int i = 0; i < length; i++) {
      out[i] = bytes[(start + i) % trainBytes] & 0xFF;
    }
    return out;
  }

  /** The held-out part as tokens, at most {@code maxTokens} of them from its start. */
  public int[] heldOut(int maxTokens) {
    int n = Math.min(maxTokens, heldOutBytes());
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = bytes[trainBytes + i] & 0xFF;
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TextCorpus c
        && c.name.equals(name)
        && c.trainBytes == trainBytes
        && Arrays.equals(c.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "TextCorpus[" + name + ", " + bytes.length + " bytes, " + heldOutBytes() + " held out]";
  }
}
