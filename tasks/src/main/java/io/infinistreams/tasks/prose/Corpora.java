package io.infinistreams.tasks.prose;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The prepared corpora folder, as {@code training/corpora/prepare.sh} writes it: {@code
 * corpora.json} and one {@code <name>.txt} a corpus (paragraphs separated by one blank line). Each
 * manifest entry names a split: {@value #TRAIN} corpora are for training, {@value #HELD_OUT}
 * corpora only for evaluation, so that an evaluation on them measures retrieval from text training
 * never read.
 *
 * <p>Manifest shape (fields other than these are ignored):
 *
 * <pre>
 * {"corpora": [{"name": "kjv", "split": "train", "genre": "scripture", "file": "kjv.txt",
 *               "bytes": 4139035, "sha256": "6714..."}, ...]}
 * </pre>
 *
 * <p>{@code file} defaults to {@code <name>.txt}; {@code bytes} and {@code sha256}, when present,
 * are checked on reading. Default weights ({@link #defaultWeight}): the square root of a corpus's
 * bytes, so small corpora are not drowned out by big ones, times {@link #DOWN_WEIGHTS} for corpora
 * that would otherwise dominate with text that is hardly prose (the dictionary). Immutable; reading
 * a corpus reads its file each time it is asked for.
 */
public final class Corpora {
  public static final String MANIFEST = "corpora.json";
  public static final String TRAIN = "train";
  public static final String HELD_OUT = "heldout";

  /** Factors on the default weight of some corpora: gcide's dictionary entries to a third. */
  public static final Map<String, Double> DOWN_WEIGHTS = Map.of("gcide", 1.0 / 3);

  /** One manifest entry. {@code bytes} is -1 and {@code sha256} empty when not given. */
  public record Entry(
      String name, String split, String genre, String file, long bytes, String sha256) {}

  private final Path directory;
  private final List<Entry> entries;

  private Corpora(Path directory, List<Entry> entries) {
    this.directory = directory;
    this.entries = List.copyOf(entries);
  }

  /** {@code $INFINI_DATA}, or {@code ~/.cache/infini-streams/corpora} where it is not set. */
  public static Path defaultDirectory() {
    String env = System.getenv("INFINI_DATA");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "infini-streams", "corpora");
  }

  /** Reads the manifest of {@code directory} (not the texts yet). */
  public static Corpora load(Path directory) throws IOException {
    Path manifest = directory.resolve(MANIFEST);
    if (!Files.isRegularFile(manifest)) {
      throw new IOException("no " + MANIFEST + " in " + directory + " (prepare the corpora first)");
    }
    Object root = Json.parse(Files.readString(manifest, StandardCharsets.UTF_8));
    if (!(root instanceof Map<?, ?> m) || !(m.get("corpora") instanceof List<?> list)) {
      throw new IOException(manifest + ": expected an object with a \"corpora\" array");
    }
    List<Entry> entries = new ArrayList<>();
    for (Object o : list) {
      if (!(o instanceof Map<?, ?> e)
          || !(e.get("name") instanceof String name)
          || !(e.get("split") instanceof String split)) {
        throw new IOException(manifest + ": every corpus needs a name and a split");
      }
      String genre = e.get("genre") instanceof String g ? g : "";
      String file = e.get("file") instanceof String f ? f : name + ".txt";
      long bytes = e.get("bytes") instanceof Number n ? n.longValue() : -1;
      String sha = e.get("sha256") instanceof String h ? h : "";
      entries.add(new Entry(name, split, genre, file, bytes, sha));
    }
    return new Corpora(directory, entries);
  }

  public Path directory() {
    return directory;
  }

  public List<Entry> entries() {
    return entries;
  }

  /** Entries of {@code split} ({@value #TRAIN} or {@value #HELD_OUT}), in manifest order. */
  public List<Entry> split(String split) {
    return entries.stream().filter(e -> e.split().equals(split)).toList();
  }

  public Entry entry(String name) {
    return entries.stream()
        .filter(e -> e.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no corpus " + name + " in " + directory));
  }

  /** The default weight of a corpus: sqrt(bytes) times its {@link #DOWN_WEIGHTS} factor. */
  public static double defaultWeight(Entry e, long actualBytes) {
    long bytes = e.bytes() > 0 ? e.bytes() : actualBytes;
    return Math.sqrt(Math.max(1, bytes)) * DOWN_WEIGHTS.getOrDefault(e.name(), 1.0);
  }

  /** One corpus on its own (weight 1), its size and checksum checked against the manifest. */
  public ProseSource read(String name) throws IOException {
    Entry e = entry(name);
    return ProseSource.fromBytes(name, bytes(e), 1);
  }

  /** All corpora of {@code split}, by default weights. */
  public ProseSource source(String split) throws IOException {
    return source(split, Map.of());
  }

  /**
   * All corpora of {@code split}; a corpus named in {@code weights} gets that weight instead of its
   * default one (0 leaves it out). Weights are relative: the shares are the weights divided by
   * their sum, so a partial map is on the scale of {@link #defaultWeight} (about 2,000 for a 4 MB
   * corpus); name every corpus to set the shares outright.
   */
  public ProseSource source(String split, Map<String, Double> weights) throws IOException {
    List<ProseSource> parts = new ArrayList<>();
    List<Double> w = new ArrayList<>();
    for (Entry e : split(split)) {
      Double given = weights.get(e.name());
      if (given != null && given == 0) {
        continue;
      }
      byte[] b = bytes(e);
      parts.add(ProseSource.fromBytes(e.name(), b, 1));
      w.add(given != null ? given : defaultWeight(e, b.length));
    }
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("no corpora of split " + split + " in " + directory);
    }
    return ProseSource.mix(parts, w.stream().mapToDouble(Double::doubleValue).toArray());
  }

  private byte[] bytes(Entry e) throws IOException {
    Path file = directory.resolve(e.file());
    byte[] b = Files.readAllBytes(file);
    if (e.bytes() >= 0 && e.bytes() != b.length) {
      throw new IOException(file + " has " + b.length + " bytes, the manifest says " + e.bytes());
    }
    if (!e.sha256().isEmpty()) {
      try {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        if (!sha.equalsIgnoreCase(e.sha256())) {
          throw new IOException(file + " has sha256 " + sha + ", the manifest says " + e.sha256());
        }
      } catch (NoSuchAlgorithmException x) {
        throw new IllegalStateException(x);
      }
    }
    return b;
  }
}
