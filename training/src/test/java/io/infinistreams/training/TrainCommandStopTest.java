package io.infinistreams.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * SIGTERM to a training process (a session ending, {@code kill}) writes a checkpoint at the step
 * it stopped on instead of losing the work since the last periodic one: a real child JVM.
 */
class TrainCommandStopTest {

  /** --stop-at-step ends the process at that step with a checkpoint, to change recipe there. */
  @Test
  void stopAtStepCheckpointsThatStep(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    int code = new picocli.CommandLine(new TrainCommand()).execute("--out", out.toString(),
        "--tiny", "--segment", "128", "--steps", "50", "--batch", "1", "--min-segments", "2",
        "--max-segments", "2", "--mix", "passkey=1", "--corpus", "synthetic", "--warmup", "1",
        "--stop-at-step", "3");
    assertEquals(0, code);
    assertEquals(3, TrainCheckpoint.readState(out.resolve("checkpoint")).step());
    assertFalse(Files.exists(out.resolve("final")));
  }

  /**
   * A checkpoint written before {@code keyFeatures} existed resumes with the paper's features,
   * and --keys SIGNED is recorded and resumed as such; likewise a checkpoint written before
   * {@code segmentSampling} existed resumes with UNIFORM, and LOG_UNIFORM is recorded; and one
   * written before {@code outputGate} and {@code contentGateLrScale} existed resumes with the
   * STATIC gate and the scale 1.
   */
  @Test
  void checkpointsWithoutNewerFieldsResumeWithTheirOldMeaning(@TempDir Path dir)
      throws Exception {
    Path out = dir.resolve("run");
    String[] args = {"--out", out.toString(), "--tiny", "--segment", "128", "--steps", "4",
        "--batch", "1", "--min-segments", "2", "--max-segments", "2", "--mix", "passkey=1",
        "--corpus", "synthetic", "--warmup", "1", "--update", "GATED", "--keys", "SIGNED",
        "--segment-sampling", "LOG_UNIFORM", "--output-gate", "CONTENT",
        "--content-gate-lr-scale", "10", "--stop-at-step", "2"};
    assertEquals(0, new picocli.CommandLine(new TrainCommand()).execute(args));
    Path ckpt = out.resolve("checkpoint");
    assertEquals(io.infinistreams.model.KeyFeatures.SIGNED,
        TrainCheckpoint.readState(ckpt).config().model().keyFeatures());
    assertEquals(TrainConfig.SegmentSampling.LOG_UNIFORM,
        TrainCheckpoint.readState(ckpt).config().segmentSampling());
    assertEquals(io.infinistreams.model.OutputGate.CONTENT,
        TrainCheckpoint.readState(ckpt).config().model().outputGate());
    assertEquals(10f, TrainCheckpoint.readState(ckpt).config().contentGateLrScale());
    Path state = ckpt.resolve(TrainCheckpoint.STATE);
    String json = Files.readString(state);
    String old = json.replaceAll(",\\s*\"keyFeatures\":\\s*\"SIGNED\"", "")
        .replaceAll(",\\s*\"segmentSampling\":\\s*\"LOG_UNIFORM\"", "")
        .replaceAll(",\\s*\"outputGate\":\\s*\"CONTENT\"", "")
        .replaceAll(",\\s*\"contentGateLrScale\":\\s*10\\.0", "");
    assertTrue(!old.contains("\"keyFeatures\"") && !old.contains("\"segmentSampling\"")
        && !old.contains("\"outputGate\"") && !old.contains("\"contentGateLrScale\""),
        "the fields were removed"); // (the recorded command line still names both)
    Files.writeString(state, old);
    TrainCheckpoint.State read = TrainCheckpoint.readState(ckpt);
    assertEquals(io.infinistreams.model.KeyFeatures.ELU_PLUS_ONE, read.config().model().keyFeatures());
    assertEquals(TrainConfig.SegmentSampling.UNIFORM, read.config().segmentSampling());
    assertEquals(io.infinistreams.model.OutputGate.STATIC, read.config().model().outputGate());
    assertEquals(1f, read.config().contentGateLrScale());
  }

  @Test
  @EnabledOnOs(OS.LINUX)
  void sigtermCheckpointsTheCurrentStep(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("run");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-cp", System.getProperty("java.class.path")));
    for (String key : List.of("ai.djl.offline", "ai.djl.pytorch.num_threads",
        "ai.djl.pytorch.num_interop_threads", "ENGINE_CACHE_DIR", "DJL_CACHE_DIR")) {
      if (System.getProperty(key) != null) {
        cmd.add("-D" + key + "=" + System.getProperty(key));
      }
    }
    cmd.addAll(List.of(TrainCommand.class.getName(), "--out", out.toString(), "--tiny",
        "--segment", "128", "--steps", "100000", "--batch", "2", "--min-segments", "2",
        "--max-segments", "2",
        "--mix", "passkey=1", "--corpus", "synthetic", "--log-every", "1",
        "--checkpoint-minutes", "1000"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    StringBuilder log = new StringBuilder();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
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
