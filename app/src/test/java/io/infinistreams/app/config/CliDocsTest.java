package io.infinistreams.app.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CliDocsTest {

  @Test
  void committedPageIsUpToDate() throws IOException {
    Path docs = ConfigDocsTest.repoRoot().resolve(CliDocs.DOCS_FILE);
    assertTrue(Files.exists(docs), docs + " is missing: run `bin/infini config docs`");
    List<String> expected = CliDocs.markdown(Main.commandLine()).lines().toList();
    List<String> actual = Files.readString(docs, StandardCharsets.UTF_8).lines().toList();
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      assertEquals(
          i < expected.size() ? expected.get(i) : "<end of file>",
          i < actual.size() ? actual.get(i) : "<end of file>",
          docs + " is out of date at line " + (i + 1) + ": run `bin/infini config docs`");
    }
  }

  @Test
  void everyCommandHasASection() {
    String md = CliDocs.markdown(Main.commandLine());
    for (String command : CliDocs.commands(Main.commandLine())) {
      assertTrue(md.contains("## `infini " + command + "`"), command);
      assertTrue(md.contains("Usage: infini " + command), command);
    }
  }
}
