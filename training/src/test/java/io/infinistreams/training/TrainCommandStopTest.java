package io.infinistreams.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.WriteGate;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * SIGTERM to a training process ({@code kill}, a shutdown) writes a checkpoint at the step it
 * stopped on instead of losing the work since the last periodic one: a real child JVM. And the
 * other ways a run stops and continues.
 */
class TrainCommandStopTest {

  /** --stop-at-step ends the process at that step with a checkpoint, to change recipe there. */
  @Test
  void stopAtStepCheckpointsThatStep(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    int code =
        new CommandLine(new TrainCommand())
            .execute(
                "--out",
                out.toString(),
                "--tiny",
                "--segment",
                "128",
                "--steps",
                "50",
                "--batch",
                "1",
                "--min-segments",
                "2",
                "--max-segments",
                "2",
                "--mix",
                "passkey=1",
                "--corpus",
                "synthetic",
                "--warmup",
                "1",
                "--stop-at-step",
                "3");
    assertEquals(0, code);
    assertEquals(3, TrainCheckpoint.readState(out.resolve("checkpoint")).step());
    assertFalse(Files.exists(out.resolve("final")));
  }

  /** A bad value given with --resume gets one line and exit code 2, and the checkpoint stays. */
  @Test
  void aBadValueOnResumeIsOneLine(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    String[] first = {
      "--out",
      out.toString(),
      "--tiny",
      "--segment",
      "128",
      "--steps",
      "50",
      "--batch",
      "1",
      "--min-segments",
      "2",
      "--max-segments",
      "2",
      "--mix",
      "passkey=1",
      "--corpus",
      "synthetic",
      "--warmup",
      "1",
      "--stop-at-step",
      "2"
    };
    assertEquals(0, new CommandLine(new TrainCommand()).execute(first));
    assertRefusedInOneLine(
        "nosuchtask", "--out", out.toString(), "--resume", "--new-mix", "nosuchtask=1");
    assertEquals(2, TrainCheckpoint.readState(out.resolve("checkpoint")).step());
  }

  /**
   * {@code train args} exits with 2 and one line of stderr, starting "train: ", naming {@code
   * what}.
   */
  private static void assertRefusedInOneLine(String what, String... args) {
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.err;
    int code;
    try {
      System.setErr(new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
      code = new CommandLine(new TrainCommand()).execute(args);
    } finally {
      System.setErr(old);
    }
    String text = err.toString(StandardCharsets.UTF_8);
    assertEquals(2, code, text);
    assertTrue(text.startsWith("train: ") && text.contains(what), text);
    assertFalse(text.contains("\tat "), "no stack trace: " + text);
  }

  /**
   * The recipe is recorded in the checkpoint and resumed as such (here the paper's model: DELTA,
   * PAPER read, no overlap; LOG_UNIFORM sampling); a train-state.json without {@code
   * segmentSampling} reads as UNIFORM. A model option the update rule cannot take is refused before
   * anything is written.
   */
  @Test
  void theRecipeIsRecordedAndResumed(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    String[] args = {
      "--out",
      out.toString(),
      "--tiny",
      "--segment",
      "128",
      "--steps",
      "4",
      "--batch",
      "1",
      "--min-segments",
      "2",
      "--max-segments",
      "2",
      "--mix",
      "passkey=1",
      "--corpus",
      "synthetic",
      "--warmup",
      "1",
      "--update",
      "DELTA",
      "--read",
      "PAPER",
      "--overlap",
      "0",
      "--segment-sampling",
      "LOG_UNIFORM",
      "--stop-at-step",
      "2"
    };
    assertEquals(0, new CommandLine(new TrainCommand()).execute(args));
    Path ckpt = out.resolve("checkpoint");
    TrainCheckpoint.State recorded = TrainCheckpoint.readState(ckpt);
    assertEquals(ModelConfig.tinyPaper().withSegmentLength(128), recorded.config().model());
    assertEquals(TrainConfig.SegmentSampling.LOG_UNIFORM, recorded.config().segmentSampling());
    assertEquals("train " + String.join(" ", args), recorded.command());

    Path state = ckpt.resolve(TrainCheckpoint.STATE);
    String json = Files.readString(state);
    String old =
        json.replaceAll(",\\s*\"segmentSampling\":\\s*\"LOG_UNIFORM\"", "")
            .replaceAll(",\\s*\"writePenaltyKnee\":\\s*0\\.0", "");
    assertTrue(!old.contains("\"segmentSampling\""), "the field was removed");
    assertTrue(!old.contains("\"writePenaltyKnee\""), "the field was removed");
    Files.writeString(state, old);
    TrainCheckpoint.State read = TrainCheckpoint.readState(ckpt);
    assertEquals(TrainConfig.SegmentSampling.UNIFORM, read.config().segmentSampling());
    assertEquals(
        recorded.config().withSegmentSampling(TrainConfig.SegmentSampling.UNIFORM), read.config());
    assertEquals(
        0,
        new CommandLine(new TrainCommand())
            .execute("--out", out.toString(), "--resume", "--stop-at-step", "3"));
    assertEquals(3, TrainCheckpoint.readState(ckpt).step());

    Path refused = dir.resolve("refused");
    assertEquals(
        2,
        new CommandLine(new TrainCommand())
            .execute(
                "--out", refused.toString(), "--tiny", "--update", "GATED", "--read", "PAPER"));
    assertFalse(Files.exists(refused));
  }

  /**
   * {@code --init-from} takes the source model's configuration for every model option not given
   * (here the tiny shape, a short convolution, a top-k write and the sparse gate, none of them the
   * defaults), and an option given overrides it.
   */
  @Test
  void initFromKeepsTheSourcesModelOptions(@TempDir Path dir) throws Exception {
    Path first = dir.resolve("first");
    String[] data = {
      "--steps",
      "1",
      "--batch",
      "1",
      "--min-segments",
      "2",
      "--max-segments",
      "2",
      "--mix",
      "passkey=1",
      "--corpus",
      "synthetic",
      "--warmup",
      "1"
    };
    List<String> args =
        new ArrayList<>(
            List.of(
                "--out",
                first.toString(),
                "--tiny",
                "--segment",
                "128",
                "--short-conv",
                "2",
                "--write-top-k",
                "4",
                "--write-gate",
                "SPARSE"));
    args.addAll(List.of(data));
    assertEquals(0, new CommandLine(new TrainCommand()).execute(args.toArray(String[]::new)));
    ModelConfig source = TrainCheckpoint.readState(first.resolve("checkpoint")).config().model();
    assertEquals(
        ModelConfig.tiny()
            .withSegmentLength(128)
            .withShortConv(2)
            .withWriteTopK(4)
            .withWriteGate(WriteGate.SPARSE),
        source);

    Path same = dir.resolve("same");
    List<String> again =
        new ArrayList<>(
            List.of("--out", same.toString(), "--init-from", first.resolve("final").toString()));
    again.addAll(List.of(data));
    assertEquals(0, new CommandLine(new TrainCommand()).execute(again.toArray(String[]::new)));
    assertEquals(source, TrainCheckpoint.readState(same.resolve("checkpoint")).config().model());

    Path logistic = dir.resolve("logistic");
    List<String> changed =
        new ArrayList<>(
            List.of(
                "--out",
                logistic.toString(),
                "--init-from",
                first.resolve("final").toString(),
                "--write-gate",
                "LOGISTIC",
                "--read-eps",
                "0.01"));
    changed.addAll(List.of(data));
    assertEquals(0, new CommandLine(new TrainCommand()).execute(changed.toArray(String[]::new)));
    assertEquals(
        source.withWriteGate(WriteGate.LOGISTIC).withReadEps(0.01f),
        TrainCheckpoint.readState(logistic.resolve("checkpoint")).config().model());

    Path refused = dir.resolve("refused");
    assertRefusedInOneLine(
        "--tiny",
        "--out",
        refused.toString(),
        "--tiny",
        "--init-from",
        first.resolve("final").toString());
    assertFalse(Files.exists(refused));
  }

  @Test
  @EnabledOnOs(OS.LINUX)
  void sigtermCheckpointsTheCurrentStep(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-cp",
                System.getProperty("java.class.path")));
    for (String key :
        List.of(
            "ai.djl.offline",
            "ai.djl.pytorch.num_threads",
            "ai.djl.pytorch.num_interop_threads",
            "ENGINE_CACHE_DIR",
            "DJL_CACHE_DIR")) {
      if (System.getProperty(key) != null) {
        cmd.add("-D" + key + "=" + System.getProperty(key));
      }
    }
    cmd.addAll(
        List.of(
            TrainCommand.class.getName(),
            "--out",
            out.toString(),
            "--tiny",
            "--segment",
            "128",
            "--steps",
            "100000",
            "--batch",
            "2",
            "--min-segments",
            "2",
            "--max-segments",
            "2",
            "--mix",
            "passkey=1",
            "--corpus",
            "synthetic",
            "--log-every",
            "1",
            "--checkpoint-minutes",
            "1000"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    StringBuilder log = new StringBuilder();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      int progress = 0;
      while ((line = r.readLine()) != null) {
        log.append(line).append('\n');
        if (line.startsWith("step ") && ++progress == 3) {
          p.toHandle().destroy(); // SIGTERM, keeping our end of its output open
        }
      }
    }
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), log.toString());
    Matcher m = Pattern.compile("stopped at step (\\d+)").matcher(log);
    assertTrue(m.find(), log.toString());
    long stoppedAt = Long.parseLong(m.group(1));
    assertTrue(stoppedAt >= 3, log.toString());
    TrainCheckpoint.State state = TrainCheckpoint.readState(out.resolve("checkpoint"));
    assertEquals(stoppedAt, state.step(), "the checkpoint holds the step the run stopped on");
    assertFalse(Files.exists(out.resolve("final")), "an unfinished run exports no model");
  }
}
