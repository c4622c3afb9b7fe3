package io.infinistreams.schemas.serde;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Writer schemas of earlier releases, which readers must keep accepting (changelog topics are
 * compacted, so a record written years ago may still be restored).
 *
 * <p>When a schema changes, copy its previous {@code .avsc} to {@code
 * schemas/src/main/resources/io/infinistreams/schemas/history/} (named {@code <Record>.v<N>.avsc})
 * and add its file name to {@code index.txt} there. Every {@code index.txt} at that path on the
 * classpath is read (a jar may add its own). Nothing is ever removed from the history. See
 * docs/streaming.md, "Schema evolution rules".
 */
public final class SchemaHistory {
  private static final String FOLDER = "/io/infinistreams/schemas/history/";

  private SchemaHistory() {}

  /** Previous writer schemas of the record with full name {@code fullName}, oldest first. */
  public static List<Schema> previous(String fullName) {
    List<Schema> found = new ArrayList<>();
    for (String file : index()) {
      Schema schema = parse(FOLDER + file);
      if (schema.getFullName().equals(fullName)) {
        found.add(schema);
      }
    }
    return found;
  }

  /**
   * Parses one {@code .avsc} from the classpath. A record schema may reference the named types of
   * the current schemas (EventKind, PromptFormat, Generation) only by writing them out in full.
   */
  public static Schema parse(String resource) {
    try (InputStream in = SchemaHistory.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no schema resource " + resource);
      }
      return new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }

  /** Entries of every {@code index.txt} in the history folder on the classpath, in order. */
  private static List<String> index() {
    List<String> files = new ArrayList<>();
    try {
      Enumeration<URL> indexes =
          SchemaHistory.class.getClassLoader().getResources(FOLDER.substring(1) + "index.txt");
      while (indexes.hasMoreElements()) {
        try (InputStream in = indexes.nextElement().openStream()) {
          for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
            String name = line.strip();
            if (!name.isEmpty() && !name.startsWith("#") && !files.contains(name)) {
              files.add(name);
            }
          }
        }
      }
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the schema history index", e);
    }
  }
}
