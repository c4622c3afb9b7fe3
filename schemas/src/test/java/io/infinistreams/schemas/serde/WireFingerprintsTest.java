package io.infinistreams.schemas.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * The table of wire fingerprints in docs/streaming.md is the one the schemas give. Regenerate it
 * with {@code -Dfingerprints.write=true}.
 */
class WireFingerprintsTest {
  private static final Path DOC = Path.of("..", "docs", "streaming.md");
  private static final String BEGIN = "<!-- fingerprints:begin -->\n";
  private static final String END = "<!-- fingerprints:end -->";

  static String table() {
    StringBuilder sb = new StringBuilder();
    sb.append("| Record | Schema | Fingerprint (hex, as on the wire) |\n|---|---|---|\n");
    for (Schema current :
        List.of(
            InputEvent.getClassSchema(),
            OutputEvent.getClassSchema(),
            StoredSession.getClassSchema(),
            StoredHeadMemory.getClassSchema())) {
      List<Schema> previous = SchemaHistory.previous(current.getFullName());
      for (int i = 0; i < previous.size(); i++) {
        row(sb, current.getName(), "previous " + (i + 1), previous.get(i));
      }
      row(sb, current.getName(), "current (written)", current);
    }
    return sb.toString();
  }

  private static void row(StringBuilder sb, String name, String which, Schema schema) {
    sb.append("| `")
        .append(name)
        .append("` | ")
        .append(which)
        .append(" | `")
        .append(AvroSerde.wireFingerprint(schema))
        .append("` |\n");
  }

  @Test
  void docsListTheWireFingerprints() throws IOException {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    int from = doc.indexOf(BEGIN);
    int to = doc.indexOf(END);
    String expected = table();
    if (Boolean.getBoolean("fingerprints.write")) {
      doc = doc.substring(0, from + BEGIN.length()) + expected + doc.substring(to);
      Files.writeString(DOC, doc, StandardCharsets.UTF_8);
      return;
    }
    assertEquals(
        expected,
        doc.substring(from + BEGIN.length(), to),
        "docs/streaming.md fingerprints are stale; run with -Dfingerprints.write=true");
  }
}
