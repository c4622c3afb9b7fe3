package io.infinistreams.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.Main;
import io.infinistreams.app.config.CliDocs;
import io.infinistreams.app.config.ConfigDocs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CommandLineTest {

  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void everyCommandIsRegistered() {
    Run help = run("--help");
    assertEquals(0, help.exit());
    for (String command :
        new String[] {
          "run",
          "feed",
          "ask",
          "chat",
          "demo",
          "tail",
          "snapshot",
          "reset",
          "delete",
          "config",
          "bench",
          "bench-e2e",
          "bench-sessions"
        }) {
      assertTrue(help.out().contains(command), command + " missing from\n" + help.out());
    }
  }

  @Test
  void minusVOnACommandPrintsTheVersion() {
    for (String command : new String[] {"run", "ask", "bench", "config"}) {
      Run v = run(command, "-V");
      assertEquals(0, v.exit(), command);
      assertEquals(io.infinistreams.app.Main.VERSION, v.out().strip(), command);
    }
  }

  /** The application carries no trainer: training is a separate tool and module. */
  @Test
  void theApplicationHasNoTrainingCommandsOrClasses() {
    Run help = run("--help");
    for (String command : new String[] {"train", "eval", "average"}) {
      assertTrue(!help.out().matches("(?s).*\\b" + command + "\\b.*"), command);
    }
    assertThrows(
        ClassNotFoundException.class, () -> Class.forName("io.infinistreams.training.TrainMain"));
  }

  @Test
  void configShowMergesFlagsAndNamesSources() {
    Run show =
        run(
            "config",
            "show",
            "--bootstrap-servers",
            "kafka:9092",
            "--set",
            "num.stream.threads=2",
            "--set",
            "streams.poll.ms=10");
    assertEquals(0, show.exit(), show.err());
    assertTrue(
        show.out().matches("(?s).*bootstrap.servers\\s+= kafka:9092\\s+\\(command line\\).*"),
        show.out());
    assertTrue(show.out().matches("(?s).*num.stream.threads\\s+= 2 .*"), show.out());
    assertTrue(show.out().matches("(?s).*streams.poll.ms\\s+= 10 .*"), show.out());
    assertTrue(
        show.out().matches("(?s).*application.id\\s+= infini-streams\\s+\\(default\\).*"),
        show.out());
  }

  @Test
  void aBadKeyIsOneLineAndExitCode2() {
    Run bad = run("config", "show", "--set", "num.stream.thread=2");
    assertEquals(2, bad.exit());
    assertTrue(
        bad.err().startsWith("infini: unknown configuration key 'num.stream.thread'"), bad.err());
    assertEquals(1, bad.err().strip().lines().count(), "no stack trace:\n" + bad.err());

    Run badValue = run("config", "show", "--set", "topic.partitions=-1");
    assertEquals(2, badValue.exit());
    assertTrue(badValue.err().contains("'topic.partitions'"), badValue.err());
  }

  @Test
  void configFileIsRead() throws Exception {
    Path f = dir.resolve("c.properties");
    Files.writeString(f, "application.id=from-file\n");
    Run show = run("config", "show", "--config", f.toString());
    assertEquals(0, show.exit(), show.err());
    assertTrue(show.out().contains("from-file"), show.out());
  }

  @Test
  void configDocsWritesTheTableAndTheCommandPage() throws Exception {
    Run docs = run("config", "docs", dir.toString());
    assertEquals(0, docs.exit(), docs.err());
    assertEquals(ConfigDocs.markdown(), Files.readString(dir.resolve(ConfigDocs.DOCS_FILE)));
    assertEquals(
        CliDocs.markdown(Main.commandLine()), Files.readString(dir.resolve(CliDocs.DOCS_FILE)));
  }

  @Test
  void clientCommandsWithoutABrokerSayWhatToDo() {
    Run ask = run("ask", "alice", "hello", "--set", "embedded.broker.dir=" + dir);
    assertEquals(2, ask.exit());
    assertTrue(ask.err().contains("Start `infini run` first"), ask.err());
  }

  @Test
  void runRefusesAModelLoadedTwiceWithOneLine() {
    Path checkpoint = dir.resolve("previous");
    try (io.infinistreams.model.InfiniModel m =
        io.infinistreams.model.InfiniModel.create(io.infinistreams.model.ModelConfig.tiny(), 42)) {
      m.save(checkpoint, "test");
    }
    Run twice =
        run(
            "run",
            "--set",
            "model.random=tiny",
            "--set",
            "model.previous=" + checkpoint,
            "--set",
            "model.upgrade.policy=serve",
            "--set",
            "embedded.broker.dir=" + dir.resolve("kafka"),
            "--set",
            "state.dir=" + dir.resolve("state"));
    assertEquals(2, twice.exit(), twice.err());
    assertEquals(1, twice.err().strip().lines().count(), twice.err());
    assertTrue(twice.err().startsWith("infini: model.previous: checkpoint "), twice.err());
    assertTrue(twice.err().contains("is the same model as random weights"), twice.err());
  }

  @Test
  void demoRejectsALengthTooShortForTheFormat() {
    Run demo = run("demo", "--length", "10");
    assertEquals(2, demo.exit());
    assertTrue(demo.err().startsWith("infini: --length"), demo.err());
  }

  @Test
  void demoOfAProseTaskWithoutHaystackOrCorporaSaysHowToGetOne() {
    CommandLine cl = Main.commandLine();
    ((DemoCommand) cl.getSubcommands().get("demo").getCommand()).corpora = dir.resolve("none");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    assertEquals(2, cl.execute("demo", "--task", "needle", "--length", "3000"));
    String message = err.toString();
    assertTrue(message.startsWith("infini: --task needle: no haystack"), message);
    assertTrue(message.contains("--haystack FILE"), message);
    assertTrue(message.contains(dir.resolve("none").toString()), message);
    assertTrue(message.contains("INFINI_DATA"), message);
    assertEquals(1, message.strip().lines().count(), "no stack trace: " + message);
  }

  @Test
  void demoRefusesAnUnknownTaskAndAHaystackForPasskey() {
    Run unknown = run("demo", "--task", "riddles");
    assertEquals(2, unknown.exit());
    assertTrue(
        unknown.err().startsWith("infini: --task: no task 'riddles' (tasks: passkey, needle"),
        unknown.err());
    Run passkey = run("demo", "--haystack", "notes.txt");
    assertEquals(2, passkey.exit());
    assertTrue(
        passkey.err().startsWith("infini: --haystack is for the prose tasks"), passkey.err());
  }

  @Test
  void demoSurpriseRefusesTheQuestionOptionsAndOtherTasksTheSurpriseOnes() {
    Run length = run("demo", "--task", "surprise", "--length", "3000");
    assertEquals(2, length.exit());
    assertEquals("infini: --length is not for --task surprise", length.err().strip());
    Run inject = run("demo", "--task", "needle", "--inject", "log");
    assertEquals(2, inject.exit());
    assertEquals("infini: --inject is only for --task surprise", inject.err().strip());
    Run kind = run("demo", "--task", "surprise", "--inject", "noise");
    assertEquals(2, kind.exit());
    assertTrue(kind.err().startsWith("infini: --inject: no kind 'noise'"), kind.err());
  }
}
