package io.infinistreams.app.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.infinistreams.app.cli.CliException;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.InfiniTransformer;
import io.infinistreams.model.MemoryRead;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.Weights;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures, in one run, on the shipped checkpoint (or {@code --model DIR}): model-only absorb
 * throughput (one thread), the FLOPs per token it implies ({@link #flopsPerToken}), a 1024x1024
 * fp32 matmul's GFLOP/s in the same process, their ratio, parameters and state bytes per key.
 * Prints a markdown snippet.
 *
 * <p>With {@code --pytorch PYTHON} it also times the PyTorch reference of the model ({@code
 * model/reference/infini_reference.py}, eager, one thread) on the same model and text, in rounds
 * that alternate with this model's, and reports both and their ratio ({@link PyTorchComparison}).
 * With {@code --lockstep B,...} it also compares streams absorbed one after another with the same
 * streams in lockstep batches ({@link LockstepComparison}). With {@code --dump DIR} it measures
 * nothing and writes a {@link ReferenceCase} for that script's {@code check}.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Model-only absorb throughput of the shipped model (or --model DIR), "
            + "FLOPs/token, matmul GFLOP/s, parameters, state bytes per key.")
public final class BenchCommand implements Callable<Integer> {

  @Option(
      names = "--model",
      paramLabel = "DIR",
      description = "a checkpoint directory (default: the shipped model)")
  Path modelDir;

  @Option(
      names = "--random",
      paramLabel = "tiny|default",
      description =
          "instead of a checkpoint, random weights of this configuration (the tiny "
              + "one is for smoke tests)")
  String random;

  @Option(
      names = "--seconds",
      defaultValue = "20",
      description =
          "measured seconds per absorb mode; the modes alternate (default: ${DEFAULT-VALUE})")
  double seconds;

  @Option(
      names = "--warmup-tokens",
      defaultValue = "20000",
      description = "tokens absorbed before measuring (default: ${DEFAULT-VALUE})")
  int warmupTokens;

  @Option(
      names = "--chunk",
      defaultValue = "4096",
      description = "tokens per absorb call (default: ${DEFAULT-VALUE})")
  int chunk;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "seed of the text (and of --random weights)")
  long seed;

  @Option(
      names = "--update",
      paramLabel = "LINEAR|DELTA|GATED",
      description = "with --random: this update rule instead of the configuration's")
  UpdateRule update;

  @Option(
      names = "--read",
      paramLabel = "PAPER|NORMALIZED",
      description = "with --random: this memory read instead of the configuration's")
  MemoryRead read;

  @Option(
      names = "--overlap",
      paramLabel = "C",
      description = "with --random: this overlap instead of the configuration's")
  Integer overlap;

  @Option(
      names = "--short-conv",
      paramLabel = "S",
      description =
          "with --random: a short convolution of S taps, drawn at random around the identity "
              + "(fresh taps are the identity, which would compute nothing new)")
  Integer shortConv;

  @Option(
      names = "--pytorch",
      paramLabel = "PYTHON",
      description =
          "also time the PyTorch reference (model/reference/infini_reference.py, eager, one "
              + "thread) with this Python interpreter on the same model and text, in rounds "
              + "alternating with this model's; report both and their ratio")
  String python;

  @Option(
      names = "--pytorch-rounds",
      paramLabel = "R",
      defaultValue = "3",
      description =
          "rounds of each for --pytorch; medians are reported (default: ${DEFAULT-VALUE})")
  int pytorchRounds;

  @Option(
      names = "--reference-script",
      paramLabel = "FILE",
      description =
          "the PyTorch reference script (default: model/reference/infini_reference.py under the "
              + "working directory or the jar's repository)")
  Path referenceScript;

  @Option(
      names = "--text",
      paramLabel = "FILE",
      description =
          "text for --pytorch and --dump: its bytes are the tokens, repeated if shorter than "
              + "--tokens (default: random printable ASCII from --seed)")
  Path textFile;

  @Option(
      names = "--tokens",
      paramLabel = "N",
      defaultValue = "65536",
      description = "tokens of that text for --pytorch and --dump (default: ${DEFAULT-VALUE})")
  int textTokens;

  @Option(
      names = "--lockstep",
      paramLabel = "B,B,...",
      split = ",",
      description =
          "also compare, for each batch size B, B streams absorbed one after another with the"
              + " same B in lockstep (InfiniModel.absorbAll), per CPU second")
  int[] lockstepBatches;

  @Option(
      names = "--lockstep-rounds",
      paramLabel = "N",
      defaultValue = "5",
      description = "rounds of --lockstep, medians reported (default: ${DEFAULT-VALUE})")
  int lockstepRounds;

  @Option(
      names = "--lockstep-segments",
      paramLabel = "N",
      defaultValue = "8",
      description = "segments each stream of --lockstep absorbs (default: ${DEFAULT-VALUE})")
  int lockstepSegments;

  @Option(
      names = "--dump",
      paramLabel = "DIR",
      description =
          "measure nothing: absorb the text with per-token log-probs and write DIR/case.json "
              + "(final memories, state, log-probs) and the model as DIR/checkpoint, for "
              + "infini_reference.py check DIR")
  Path dumpDir;

  /** A model and, for random weights made here, the manager that owns them. */
  private record Opened(InfiniModel model, NDManager owner) implements AutoCloseable {
    @Override
    public void close() {
      model.close();
      if (owner != null) {
        owner.close();
      }
    }
  }

  private Opened open() {
    boolean variant = update != null || read != null || overlap != null || shortConv != null;
    if (random == null) {
      if (variant) {
        throw new CliException("--update, --read, --overlap and --short-conv need --random");
      }
      return new Opened(
          modelDir == null ? InfiniModel.loadDefault() : InfiniModel.load(modelDir), null);
    }
    ModelConfig c =
        switch (random) {
          case "tiny" -> ModelConfig.tiny();
          case "default" -> ModelConfig.defaults();
          default -> throw new CliException("--random takes tiny or default, not " + random);
        };
    try {
      c = update == null ? c : c.withUpdateRule(update);
      c = read == null ? c : c.withMemoryRead(read);
      c = overlap == null ? c : c.withOverlap(overlap);
      c = shortConv == null ? c : c.withShortConv(shortConv);
    } catch (IllegalArgumentException e) {
      throw new CliException("impossible configuration: " + e.getMessage());
    }
    if (c.shortConv() == 0) {
      return new Opened(InfiniModel.create(c, seed), null);
    }
    NDManager m = NDManager.newBaseManager();
    try {
      return new Opened(InfiniModel.fromWeights(randomTaps(Weights.init(c, seed, m), seed)), m);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /**
   * {@code w} with every short convolution tap drawn from N(identity, 0.5^2) (seeded), the other
   * arrays shared.
   */
  static Weights randomTaps(Weights w, long seed) {
    SplittableRandom rng = new SplittableRandom(seed ^ 0x5eed_c0bbL);
    NDList named = new NDList();
    for (Weights.Param p : w.parameters()) {
      NDArray a = p.array();
      if (p.name().endsWith(".attn.conv")) {
        float[] taps = a.toFloatArray();
        for (int i = 0; i < taps.length; i++) {
          double u1 = 1.0 - rng.nextDouble();
          double u2 = rng.nextDouble();
          taps[i] += (float) (0.5 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        a = a.getManager().create(taps, a.getShape());
      }
      a.setName(p.name());
      named.add(a);
    }
    return Weights.fromNamed(w.config(), named);
  }

  private String modelName() {
    if (random != null) {
      String variant =
          (update == null ? "" : ", " + update)
              + (read == null ? "" : ", " + read + " read")
              + (overlap == null ? "" : ", overlap " + overlap)
              + (shortConv == null ? "" : ", short convolution " + shortConv + " (random taps)");
      return "random " + random + " weights" + variant;
    }
    return modelDir == null ? "the shipped model" : modelDir.toString();
  }

  /** The text of --pytorch and --dump: the file's bytes, or random printable ASCII. */
  private int[] referenceText() {
    if (textTokens <= 0) {
      throw new CliException("--tokens must be positive");
    }
    int[] tokens = new int[textTokens];
    if (textFile == null) {
      SplittableRandom rng = new SplittableRandom(seed);
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = 32 + rng.nextInt(95);
      }
      return tokens;
    }
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(textFile);
    } catch (IOException e) {
      throw new CliException("cannot read --text " + textFile + ": " + e.getMessage());
    }
    if (bytes.length == 0) {
      throw new CliException("--text " + textFile + " is empty");
    }
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = bytes[i % bytes.length] & 0xFF;
    }
    return tokens;
  }

  @Override
  public Integer call() {
    PrintWriter out =
        new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    if (chunk <= 0 || pytorchRounds <= 0) {
      throw new CliException("--chunk and --pytorch-rounds must be positive");
    }
    if (lockstepBatches != null
        && (lockstepRounds <= 0
            || lockstepSegments <= 0
            || Arrays.stream(lockstepBatches).anyMatch(b -> b <= 0))) {
      throw new CliException(
          "--lockstep sizes, --lockstep-rounds and --lockstep-segments must be positive");
    }
    if (dumpDir != null) {
      try (Opened opened = open()) {
        int[] tokens = referenceText();
        StreamState s =
            ReferenceCase.write(
                opened.model(),
                tokens,
                chunk,
                dumpDir,
                "bin/infini bench --dump: " + modelName() + ", for infini_reference.py check");
        out.printf(
            "Wrote %s: %,d tokens of %s in calls of %,d, %,d segments compressed; model %s%n"
                + "Compare: python3 %s check %s%n",
            dumpDir.resolve(ReferenceCase.FILE),
            tokens.length,
            textFile == null ? "random printable ASCII" : textFile.toString(),
            chunk,
            s.segmentsAbsorbed(),
            opened.model().fingerprint(),
            PyTorchReference.SCRIPT,
            dumpDir);
      }
      return 0;
    }
    PyTorchReference reference =
        python == null
            ? null
            : new PyTorchReference(python, PyTorchReference.findScript(referenceScript));
    double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    try (Opened opened = open()) {
      InfiniModel model = opened.model();
      ModelConfig c = model.config();
      SplittableRandom rng = new SplittableRandom(seed);
      int[] text = new int[chunk];
      for (int i = 0; i < text.length; i++) {
        text[i] = 32 + rng.nextInt(95);
      }
      StreamState state = model.newState();
      for (int done = 0; done < warmupTokens; done += chunk) {
        state = model.absorb(state, text, false).state();
        state = model.absorb(state, text, true).state();
      }
      double[][] runs = throughput(model, state, text); // {wall, cpu} without and with scores
      double[] plainRun = runs[0];
      double[] scoredRun = runs[1];
      double plain = plainRun[0];
      double scored = scoredRun[0];
      double[] matmul = matmulGflops();
      double gflops = matmul[0];
      long flopsPlain = flopsPerToken(c, false);
      long flopsScored = flopsPerToken(c, true);
      long memoryBytes = (long) c.layers() * c.heads() * HeadMemory.byteSize(c.dKey(), c.dValue());
      long maxState = memoryBytes + 4L * (c.overlap() + c.segmentLength()) + 16;
      LockstepComparison lockstep =
          lockstepBatches == null
              ? null
              : LockstepComparison.run(
                  model, lockstepBatches, lockstepSegments, lockstepRounds, seed);
      PyTorchComparison versus =
          reference == null
              ? null
              : PyTorchComparison.run(
                  model,
                  reference,
                  referenceText(),
                  textFile == null
                      ? "random printable ASCII text"
                      : "text of " + textFile.getFileName(),
                  chunk,
                  pytorchRounds,
                  "bin/infini bench --pytorch: " + modelName());

      out.printf(
          "### Model: %s (measured %s)%n%n",
          modelName(), Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
      out.printf("Config: `%s`, fingerprint `%s`%n%n", c.canonical(), model.fingerprint());
      out.printf("| measure | value |%n|---|---|%n");
      out.printf("| parameters | %,d |%n", model.weights().parameterCount());
      out.printf(
          "| absorb throughput, no scoring (1 thread, wall clock) | %,.0f tokens/s |%n", plain);
      out.printf(
          "| absorb throughput, with per-token log-probs (wall clock) | %,.0f tokens/s |%n",
          scored);
      out.printf(
          "| same, per second of the thread's CPU time, no scoring / scoring | %,.0f / %,.0f tokens/s |%n",
          plainRun[1], scoredRun[1]);
      out.printf(
          "| FLOPs per token, no scoring / scoring | %,d / %,d |%n", flopsPlain, flopsScored);
      out.printf(
          "| implied model GFLOP/s, no scoring / scoring | %.2f / %.2f |%n",
          plain * flopsPlain / 1e9, scored * flopsScored / 1e9);
      out.printf(
          "| DJL 1024x1024 fp32 matmul (same run, 1 thread, wall / CPU time) | %.1f / %.1f GFLOP/s |%n",
          gflops, matmul[1]);
      out.printf(
          "| ratio model / matmul, no scoring / scoring | %.1f%% / %.1f%% |%n",
          100 * plain * flopsPlain / 1e9 / gflops, 100 * scored * flopsScored / 1e9 / gflops);
      out.printf(
          "| ratio by CPU time (model / matmul), no scoring / scoring | %.1f%% / %.1f%% |%n",
          100 * plainRun[1] * flopsPlain / 1e9 / matmul[1],
          100 * scoredRun[1] * flopsScored / 1e9 / matmul[1]);
      out.printf("| state bytes per key: head memories (L*H records) | %,d |%n", memoryBytes);
      out.printf(
          "| state bytes per key: at most, with open segment and counters | %,d |%n", maxState);
      out.printf(
          "| engine | %s %s |%n",
          Engine.getInstance().getEngineName(), Engine.getInstance().getVersion());
      if (versus != null) {
        versus.print(out);
      }
      out.printf(
          "| load average before / after (other processes share the cores) | %.2f / %.2f |%n",
          loadBefore, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
      if (lockstep != null) {
        lockstep.print(out, lockstepRounds);
      }
    }
    return 0;
  }

  /**
   * Tokens per wall-clock second and per second of this thread's CPU time, without and with scores.
   * The two modes alternate call by call for 2 x {@code seconds}, so a change in the machine's load
   * hits both alike.
   */
  private double[][] throughput(InfiniModel model, StreamState start, int[] text) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    StreamState state = start;
    long[] tokens = new long[2];
    long[] wall = new long[2];
    long[] cpu = new long[2];
    long deadline = System.nanoTime() + (long) (2 * seconds * 1e9);
    while (System.nanoTime() < deadline) {
      for (int mode = 0; mode < 2; mode++) {
        long t0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        state = model.absorb(state, text, mode == 1).state();
        wall[mode] += System.nanoTime() - t0;
        cpu[mode] += threads.getCurrentThreadCpuTime() - c0;
        tokens[mode] += text.length;
      }
    }
    double[][] out = new double[2][];
    for (int mode = 0; mode < 2; mode++) {
      out[mode] =
          new double[] {tokens[mode] / (wall[mode] / 1e9), tokens[mode] / (cpu[mode] / 1e9)};
    }
    return out;
  }

  /**
   * GFLOP/s of a 1024x1024 fp32 matmul (2 n^3 FLOPs): the best of several timed batches, by wall
   * clock and by this thread's CPU time.
   */
  static double[] matmulGflops() {
    int n = 1024;
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
      NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
      double bestWall = 0;
      double bestCpu = 0;
      for (int round = 0; round < 8; round++) {
        int reps = 5;
        long t0 = System.nanoTime();
        long c0 = threads.getCurrentThreadCpuTime();
        for (int i = 0; i < reps; i++) {
          try (NDArray c = a.matMul(b)) {
            c.getFloat(0, 0); // force completion
          }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
        if (round > 0) {
          bestWall = Math.max(bestWall, reps * 2.0 * n * n * n / wall / 1e9);
          bestCpu = Math.max(bestCpu, reps * 2.0 * n * n * n / cpu / 1e9);
        }
      }
      return new double[] {bestWall, bestCpu};
    }
  }

  /**
   * FLOPs per absorbed token of the matrix products the segment step executes, 2 per multiply-add:
   * {@link InfiniTransformer#compressFlops} of one segment over its N tokens; with scoring, plus
   * the read-only pass over the same window that computes the scores ({@link
   * InfiniTransformer#scoringFlops}). Elementwise work (norms, RoPE, softmax, GELU, sigma, the
   * gate, the short convolution, the unit keys) is not counted; nor is the scoring pass over a
   * call's open remainder (at most one window per call).
   */
  public static long flopsPerToken(ModelConfig c, boolean scoring) {
    long segment = InfiniTransformer.compressFlops(c);
    if (scoring) {
      segment += InfiniTransformer.scoringFlops(c);
    }
    return Math.round((double) segment / c.segmentLength());
  }
}
