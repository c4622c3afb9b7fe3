package io.infinistreams.tasks.prose;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Real prose to build haystacks from: one or more corpora, each a sequence of paragraphs, mixed by
 * weight. A span is drawn by picking a corpus by weight, then a paragraph of it with probability
 * proportional to its bytes, and reading from that paragraph's start on through the next paragraphs
 * (after the last paragraph the corpus starts over), paragraphs separated by one blank line as in
 * the prepared files. Spans are cut only at UTF-8 character boundaries.
 *
 * <p>Immutable and thread-safe; every draw is a function of the {@link Random} passed in.
 *
 * <p>Example: {@code ProseSource.of("fixture", List.of("First paragraph.", "Second.")) .text(rng,
 * 20)} is {@code "Second.\n\nFirst parag"} or {@code "First paragraph.\n\nSe"}.
 */
public final class ProseSource {

  /** A drawn span: the corpus it came from and its text. */
  public record Passage(String corpus, String text) {}

  /** One corpus: paragraphs joined by blank lines, ending with one; paragraph start offsets. */
  private record Corpus(String name, byte[] ring, int[] starts, double weight) {}

  private static final byte[] SEPARATOR = {'\n', '\n'};

  private final List<Corpus> corpora;
  private final double[] cumulative;

  private ProseSource(List<Corpus> corpora) {
    if (corpora.isEmpty()) {
      throw new IllegalArgumentException("a prose source needs at least one corpus");
    }
    this.corpora = List.copyOf(corpora);
    this.cumulative = new double[corpora.size()];
    double sum = 0;
    for (int i = 0; i < corpora.size(); i++) {
      sum += corpora.get(i).weight();
      cumulative[i] = sum;
    }
  }

  /**
   * A single corpus of the given paragraphs (each non-blank; blank lines inside one are folded to
   * single line breaks), weight 1.
   */
  public static ProseSource of(String name, List<String> paragraphs) {
    List<String> clean = new ArrayList<>();
    for (String p : paragraphs) {
      String t = p.strip().replaceAll("\n\\s*\n", "\n");
      if (!t.isEmpty()) {
        clean.add(t);
      }
    }
    if (clean.isEmpty()) {
      throw new IllegalArgumentException("corpus " + name + " has no paragraphs");
    }
    return new ProseSource(List.of(corpus(name, String.join("\n\n", clean), 1)));
  }

  /** A single corpus from text whose paragraphs are separated by blank lines, weight 1. */
  public static ProseSource fromText(String name, String text) {
    return of(name, Arrays.asList(text.replace("\r\n", "\n").split("\n\\s*\n")));
  }

  /**
   * The corpora of {@code parts} mixed: corpus {@code c} of part {@code i} weighs {@code
   * weights[i]} times its weight inside the part divided by the part's total weight, so the parts
   * get {@code weights} and keep their inner proportions.
   */
  public static ProseSource mix(List<ProseSource> parts, double[] weights) {
    if (parts.size() != weights.length) {
      throw new IllegalArgumentException(
          parts.size() + " parts but " + weights.length + " weights");
    }
    List<Corpus> all = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      if (!(weights[i] > 0)) {
        throw new IllegalArgumentException("weights must be > 0, got " + weights[i]);
      }
      ProseSource part = parts.get(i);
      double total = part.cumulative[part.cumulative.length - 1];
      for (Corpus c : part.corpora) {
        all.add(new Corpus(c.name(), c.ring(), c.starts(), weights[i] * c.weight() / total));
      }
    }
    return new ProseSource(all);
  }

  /** This source with every corpus's weight set to {@code weight} (a part for {@link #mix}). */
  public ProseSource weighted(double weight) {
    if (!(weight > 0)) {
      throw new IllegalArgumentException("weight must be > 0, got " + weight);
    }
    List<Corpus> out = new ArrayList<>();
    for (Corpus c : corpora) {
      out.add(new Corpus(c.name(), c.ring(), c.starts(), weight));
    }
    return new ProseSource(out);
  }

  private static Corpus corpus(String name, String text, double weight) {
    String t = text.startsWith("\uFEFF") ? text.substring(1) : text;
    t = t.replace("\r\n", "\n").strip();
    if (t.isEmpty()) {
      throw new IllegalArgumentException("corpus " + name + " is empty");
    }
    // String -> bytes makes the ring valid UTF-8 whatever the input was.
    byte[] body = t.getBytes(StandardCharsets.UTF_8);
    byte[] ring = Arrays.copyOf(body, body.length + SEPARATOR.length);
    System.arraycopy(SEPARATOR, 0, ring, body.length, SEPARATOR.length);
    int count = 1;
    for (int i = 2; i < body.length; i++) {
      if (isParagraphStart(ring, i)) {
        count++;
      }
    }
    int[] starts = new int[count];
    int k = 1;
    for (int i = 2; i < body.length; i++) {
      if (isParagraphStart(ring, i)) {
        starts[k++] = i;
      }
    }
    return new Corpus(name, ring, starts, weight);
  }

  /** Corpus from raw file bytes (used by {@link Corpora}). */
  static ProseSource fromBytes(String name, byte[] utf8, double weight) {
    return new ProseSource(List.of(corpus(name, new String(utf8, StandardCharsets.UTF_8), weight)));
  }

  private static boolean isParagraphStart(byte[] b, int i) {
    return b[i - 1] == '\n' && b[i - 2] == '\n' && b[i] != '\n';
  }

  /** Names of the corpora, in order. */
  public List<String> corpusNames() {
    List<String> names = new ArrayList<>();
    for (Corpus c : corpora) {
      names.add(c.name());
    }
    return Collections.unmodifiableList(names);
  }

  /** Share of draws that come from {@code corpus} (0 if it is not part of this source). */
  public double share(String corpus) {
    double w = 0;
    for (Corpus c : corpora) {
      if (c.name().equals(corpus)) {
        w += c.weight();
      }
    }
    return w / cumulative[cumulative.length - 1];
  }

  /** Number of paragraphs of {@code corpus}. */
  public int paragraphs(String corpus) {
    for (Corpus c : corpora) {
      if (c.name().equals(corpus)) {
        return c.starts().length;
      }
    }
    throw new IllegalArgumentException("no corpus " + corpus + " in " + corpusNames());
  }

  /** Bytes of text in all corpora (separators included). */
  public long bytes() {
    long n = 0;
    for (Corpus c : corpora) {
      n += c.ring().length;
    }
    return n;
  }

  /** "kjv+web+..." */
  public String name() {
    return String.join("+", corpusNames());
  }

  /**
   * A span of at most {@code maxBytes} bytes (and at least {@code maxBytes - 3}) starting at the
   * start of a random paragraph, cut at a character boundary.
   */
  public Passage passage(Random rng, int maxBytes) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
    }
    Corpus c = pick(rng);
    int start = c.starts()[paragraphAt(c.starts(), rng.nextInt(c.ring().length))];
    return new Passage(c.name(), read(c.ring(), start, maxBytes));
  }

  /** Exactly {@code bytes} bytes of prose: a {@link #passage} padded with up to 3 spaces. */
  public String text(Random rng, int bytes) {
    return Utf8.fit(passage(rng, bytes).text(), bytes);
  }

  private Corpus pick(Random rng) {
    double u = rng.nextDouble() * cumulative[cumulative.length - 1];
    for (int i = 0; i < cumulative.length; i++) {
      if (u < cumulative[i]) {
        return corpora.get(i);
      }
    }
    return corpora.get(corpora.size() - 1);
  }

  /** Index of the paragraph holding byte {@code offset}: the last start <= offset. */
  private static int paragraphAt(int[] starts, int offset) {
    int i = Arrays.binarySearch(starts, offset);
    return i >= 0 ? i : Math.max(0, -i - 2);
  }

  private static String read(byte[] ring, int start, int maxBytes) {
    int n = maxBytes;
    while (n > 0 && Utf8.isContinuation(ring[(int) ((start + (long) n) % ring.length)])) {
      n--;
    }
    byte[] out = new byte[n];
    int p = 0;
    int from = start;
    while (p < n) {
      int take = Math.min(n - p, ring.length - from);
      System.arraycopy(ring, from, out, p, take);
      p += take;
      from = 0;
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ProseSource[");
    for (int i = 0; i < corpora.size(); i++) {
      Corpus c = corpora.get(i);
      sb.append(i == 0 ? "" : ", ")
          .append(c.name())
          .append(' ')
          .append(String.format("%.3f", share(c.name())));
    }
    return sb.append(']').toString();
  }
}
