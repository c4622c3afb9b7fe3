package io.infinistreams.app.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.cli.CliException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The subprocess side of {@code bench --pytorch}, without Python: {@code sh} stands in for the
 * interpreter and small shell scripts for the reference script, so the build never needs PyTorch.
 */
class PyTorchReferenceTest {

  @TempDir Path dir;

  private static final String LINE =
      "infini-reference-time tokens=65536 segments=512 score=false cpu_seconds=2.000000"
          + " wall_seconds=2.500000 tokens_per_cpu_second=32768.0"
          + " tokens_per_wall_second=26214.4 threads=1 torch=2.13.0+cpu fingerprint=abc123";

  private Path script(String body) throws IOException {
    return Files.writeString(dir.resolve("fake.sh"), body);
  }

  private PyTorchReference.Timing time(Path script) {
    return new PyTorchReference("sh", script)
        .time(dir.resolve("checkpoint"), dir.resolve("text.bin"), 65536, 4096, 4096);
  }

  @Test
  void readsTheResultLineAmongOtherOutput() {
    PyTorchReference.Timing t = PyTorchReference.parse("loading\n" + LINE + "\n", "x");
    assertEquals(65536, t.tokens());
    assertEquals(32768.0, t.perCpuSecond(), 1e-9);
    assertEquals(26214.4, t.perWallSecond(), 1e-9);
    assertEquals("2.13.0+cpu", t.torch());
    assertEquals("abc123", t.fingerprint());
  }

  @Test
  void refusesOutputWithoutAResult() {
    CliException e =
        assertThrows(CliException.class, () -> PyTorchReference.parse("hello\n", "the run"));
    assertTrue(e.getMessage().contains("no 'infini-reference-time' line"), e.getMessage());
    assertThrows(
        CliException.class,
        () -> PyTorchReference.parse("infini-reference-time tokens=12 cpu_seconds=x", "the run"));
    assertThrows(
        CliException.class,
        () ->
            PyTorchReference.parse(
                "infini-reference-time tokens=12 cpu_seconds=0 wall_seconds=1", "the run"));
  }

  @Test
  void runsTheScriptWithItsArgumentsAndOneThread() throws IOException {
    Path args = dir.resolve("args.txt");
    Path s =
        script(
            "echo \"$@ OMP=$OMP_NUM_THREADS\" > '"
                + args
                + "'\necho starting >&2\necho '"
                + LINE
                + "'\n");
    assertEquals(65536, time(s).tokens());
    String seen = Files.readString(args);
    assertTrue(seen.startsWith("time --checkpoint " + dir.resolve("checkpoint")), seen);
    assertTrue(seen.contains("--tokens 65536 --chunk 4096 --warmup-tokens 4096"), seen);
    assertTrue(seen.contains("OMP=1"), seen);
  }

  @Test
  void aMissingInterpreterSaysWhatToInstall() throws IOException {
    Path s = script("exit 0\n");
    CliException e =
        assertThrows(
            CliException.class,
            () ->
                new PyTorchReference(dir.resolve("no-such-python").toString(), s)
                    .time(dir, dir, 10, 10, 0));
    assertTrue(e.getMessage().contains("cannot run the PyTorch reference"), e.getMessage());
    assertTrue(e.getMessage().contains("pip install"), e.getMessage());
  }

  @Test
  void missingTorchIsReportedAsSuch() throws IOException {
    Path s =
        script("echo 'needs PyTorch (import torch failed: No module named torch)' >&2\nexit 3\n");
    CliException e = assertThrows(CliException.class, () -> time(s));
    assertTrue(e.getMessage().startsWith("PyTorch is not available to 'sh'"), e.getMessage());
    assertTrue(e.getMessage().contains("No module named torch"), e.getMessage());
  }

  @Test
  void aFailingScriptShowsItsError() throws IOException {
    Path s = script("echo 'Traceback: boom' >&2\nexit 1\n");
    CliException e = assertThrows(CliException.class, () -> time(s));
    assertTrue(e.getMessage().contains("failed (exit 1)"), e.getMessage());
    assertTrue(e.getMessage().contains("Traceback: boom"), e.getMessage());
  }

  @Test
  void aGivenScriptMustExist() {
    assertThrows(CliException.class, () -> PyTorchReference.findScript(dir.resolve("none.py")));
  }

  @Test
  void theTableRowsGiveTheMediansAndTheirRatio() {
    assertEquals(2.0, PyTorchComparison.median(new double[] {3, 1, 2}));
    assertEquals(2.5, PyTorchComparison.median(new double[] {4, 1, 3, 2}));
    PyTorchComparison c =
        new PyTorchComparison(
            1000,
            "test text",
            100,
            List.of(new double[] {500, 400}, new double[] {300, 200}, new double[] {400, 300}),
            List.of(timing(1000, 1.0), timing(1000, 2.0), timing(1000, 1.25)));
    StringWriter text = new StringWriter();
    c.print(new PrintWriter(text, true));
    String md = text.toString();
    assertTrue(md.contains("| 400 / 300 tokens/s |"), md); // this model: medians
    assertTrue(md.contains("| 800 / 800 tokens/s |"), md); // the reference: 1000 / 1.25 s
    assertTrue(md.contains("| **0.50** / 0.38 |"), md);
    assertTrue(md.contains("| 500 / 1,000, 300 / 500, 400 / 800 |"), md);
    assertTrue(md.contains("median of 3 alternating rounds"), md);
  }

  private static PyTorchReference.Timing timing(long tokens, double seconds) {
    return new PyTorchReference.Timing(tokens, seconds, seconds, "2.13.0+cpu", "abc");
  }
}
