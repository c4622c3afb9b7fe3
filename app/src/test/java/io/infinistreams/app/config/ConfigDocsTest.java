package io.infinistreams.app.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

class ConfigDocsTest {

  /** The repository root: the parent of the module folder the tests run in. */
  static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("topology"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException(
          "repository root not found above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  @Test
  void committedTableIsUpToDate() throws IOException {
    Path docs = repoRoot().resolve(ConfigDocs.DOCS_FILE);
    assertTrue(Files.exists(docs), docs + " is missing: run `bin/infini config docs`");
    List<String> expected = ConfigDocs.markdown().lines().toList();
    List<String> actual = Files.readString(docs, StandardCharsets.UTF_8).lines().toList();
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      String want = i < expected.size() ? expected.get(i) : "<end of file>";
      String have = i < actual.size() ? actual.get(i) : "<end of file>";
      assertEquals(
          want,
          have,
          docs
              + " is out of date at line "
              + (i + 1)
              + ": run `bin/infini config docs` and commit it");
    }
    assertEquals(ConfigDocs.markdown(), Files.readString(docs, StandardCharsets.UTF_8));
  }

  @Test
  void readmeTableIsUpToDateWhereTheReadmeHasMarkers() throws IOException {
    Path readme = repoRoot().resolve("README.md");
    String text = Files.exists(readme) ? Files.readString(readme, StandardCharsets.UTF_8) : "";
    assertEquals(
        ConfigDocs.withTable(text),
        text,
        "the configuration table in README.md is out of date: run `bin/infini config docs`");
  }

  @Test
  void tableGoesBetweenTheMarkersOnly() {
    String readme =
        "intro\n" + ConfigDocs.README_BEGIN + "\nold table\n" + ConfigDocs.README_END + "\nrest\n";
    assertEquals(
        "intro\n"
            + ConfigDocs.README_BEGIN
            + "\n"
            + ConfigDocs.table()
            + ConfigDocs.README_END
            + "\nrest\n",
        ConfigDocs.withTable(readme));
    assertEquals("no markers", ConfigDocs.withTable("no markers"));
  }

  @Test
  void everyKeyIsInTheTableWithItsEnvironmentVariable() {
    String md = ConfigDocs.markdown();
    for (ConfigDef.ConfigKey key : ConfigKeys.DEFINITION.configKeys().values()) {
      assertTrue(md.contains("| `" + key.name + "` |"), key.name);
      assertTrue(md.contains("`" + ConfigKeys.envName(key.name) + "`"), key.name);
      assertTrue(
          key.documentation != null && !key.documentation.isBlank(), key.name + " has no doc");
    }
  }
}
