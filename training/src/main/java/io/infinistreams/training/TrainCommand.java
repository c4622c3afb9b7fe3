package io.infinistreams.training;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonParseException;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.FeatureMap;
import io.infinistreams.model.MemoryRead;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.UpdateRule;
import io.infinistreams.model.WriteGate;
import io.infinistreams.tasks.TaskMix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code train}: trains an Infini-Transformer on the passkey / chat-recall / text mix with
 * backpropagation through time, writing a resumable checkpoint under {@code --out}, and on
 * completion a model directory ({@code --out}/final: model.safetensors + manifest.json).
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = "Train the Infini-Transformer (BPTT across segments, AdamW, resumable).")
public final class TrainCommand implements Callable<Integer> {

  @Option(names = "--out", required = true, description = "Run directory (checkpoint/, final/).")
  Path out;

  @Option(
      names = "--resume",
      description = "Continue the checkpoint in --out exactly where it stopped.")
  boolean resume;

  @Option(
      names = "--new-total-steps",
      description =
          "With --resume: change the total step count (the cosine schedule's end); the"
              + " run is then no longer the one its first command made.")
  Long newTotalSteps;

  @Option(
      names = "--export",
      description =
          "Only write the checkpoint in --out as a model directory (model.safetensors"
              + " + manifest.json) here, e.g. to evaluate it mid-run.")
  Path export;

  @Option(names = "--new-mix", description = "With --resume: continue with this task mix.")
  String newMix;

  @Option(
      names = "--new-warm-segments",
      description = "With --resume: continue with this many warm segments at most.")
  Integer newWarmSegments;

  @Option(
      names = "--recompute",
      description =
          "Backpropagate through the trained segments by recomputation: memory for one"
              + " segment whatever --max-segments, one more forward pass per segment.")
  boolean recompute;

  @Option(
      names = "--new-warm-filler",
      description = "With --resume: continue with this --warm-filler.")
  Integer newWarmFiller;

  @Option(
      names = "--new-local-fraction",
      description = "With --resume: continue with this local-needle fraction.")
  Double newLocalFraction;

  @Option(
      names = "--new-answer-weight",
      description = "With --resume: continue with this answer weight.")
  Float newAnswerWeight;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of init and data (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--steps",
      defaultValue = "2000",
      description = "Optimizer steps (default ${DEFAULT-VALUE}).")
  long steps;

  @Option(
      names = "--batch",
      defaultValue = "8",
      description = "Sequences per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(
      names = "--min-segments",
      defaultValue = "4",
      description = "Fewest segments per sequence (default ${DEFAULT-VALUE}).")
  int minSegments;

  @Option(
      names = "--max-segments",
      defaultValue = "6",
      description = "Most segments per sequence (default ${DEFAULT-VALUE}).")
  int maxSegments;

  @Option(
      names = "--segment-sampling",
      defaultValue = "UNIFORM",
      description =
          "How each step draws its segments per sequence from [--min-segments,"
              + " --max-segments]: UNIFORM, or LOG_UNIFORM (each doubling equally often: short"
              + " documents read from an empty memory are common, and a step costs less) (default"
              + " ${DEFAULT-VALUE}).")
  TrainConfig.SegmentSampling segmentSampling;

  @Option(
      names = "--lr",
      defaultValue = "3e-3",
      description = "Peak learning rate (default ${DEFAULT-VALUE}).")
  float lr;

  @Option(
      names = "--gate-lr-scale",
      defaultValue = "10",
      description =
          "The per-head scalars (output gates, GATED write biases) learn at lr x this"
              + " (default ${DEFAULT-VALUE}).")
  float gateLrScale;

  @Option(
      names = "--min-lr-fraction",
      defaultValue = "0.1",
      description = "Final LR / peak (default ${DEFAULT-VALUE}).")
  float minLrFraction;

  @Option(
      names = "--warmup",
      defaultValue = "100",
      description = "Warm-up steps (default ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--weight-decay",
      defaultValue = "0.1",
      description = "Decoupled weight decay of matrices (default ${DEFAULT-VALUE}).")
  float weightDecay;

  @Option(
      names = "--clip",
      defaultValue = "1.0",
      description = "Global gradient-norm clip (default ${DEFAULT-VALUE}).")
  float clip;

  @Option(
      names = "--mix",
      defaultValue = "passkey=0.6,chat=0.2,text=0.2",
      description =
          "Task weights: passkey (--local-fraction of needles in the question's"
              + " segment), passkey-spread (as passkey, local needles at any distance before the"
              + " question), passkey-uniform (needle depth uniform), passkey-straddle (needle across"
              + " a segment boundary), passkey-into-open (needle across the boundary of the"
              + " question's own segment), passkey-into-open-head (the same, only words before the"
              + " key in memory), passkey-cut-answer (a segment boundary inside the answer), copy,"
              + " recall, chat, text; phases of a curriculum separated by ';', each after the first"
              + " as STEP:mix, e.g. 'passkey=1;1500:passkey=0.6,text=0.2,chat=0.2' (default"
              + " ${DEFAULT-VALUE}).")
  String mix;

  @Option(
      names = "--warm-segments",
      defaultValue = "0",
      description =
          "Most segments run forward only (no gradient, no loss) at the start of a"
              + " sequence, before the trained ones; each step draws 0..this (default"
              + " ${DEFAULT-VALUE}).")
  int warmSegments;

  @Option(
      names = "--warm-filler",
      defaultValue = "0",
      description =
          "Start sequences from the memory after up to this many tokens of passkey"
              + " filler (4K, 16K, ... up to it, or empty), recomputed from the current weights"
              + " every 100 steps; 0: off (default ${DEFAULT-VALUE}).")
  int warmFiller;

  @Option(
      names = "--warm-prose",
      defaultValue = "0",
      description =
          "Start sequences from the memory after up to this many tokens of the corpus's"
              + " prose (4K, 16K, ... up to it, or empty; one stream of prose drawn anew and"
              + " recomputed from the current weights every 100 steps), so that short trained"
              + " sequences see the full memory of a long stream; 0: off, else at least 4096"
              + " (default ${DEFAULT-VALUE}).")
  int warmProse;

  @Option(
      names = "--local-fraction",
      defaultValue = "0.5",
      description =
          "Passkey samples with the needle in the question's segment (default"
              + " ${DEFAULT-VALUE}).")
  double localFraction;

  @Option(
      names = "--answer-weight",
      defaultValue = "5",
      description = "Loss weight of answer tokens (default ${DEFAULT-VALUE}).")
  float answerWeight;

  @Option(
      names = "--corpus",
      defaultValue = "kjv",
      description =
          "kjv (Debian bible-kjv-text), synthetic, or a text file (default" + " ${DEFAULT-VALUE}).")
  String corpus;

  @Option(names = "--d-model", description = "Override d_model.")
  Integer dModel;

  @Option(names = "--layers", description = "Override the number of layers.")
  Integer layers;

  @Option(names = "--heads", description = "Override the number of heads.")
  Integer heads;

  @Option(names = "--d-key", description = "Override d_key (and d_value unless --d-value).")
  Integer dKey;

  @Option(names = "--d-value", description = "Override d_value.")
  Integer dValue;

  @Option(names = "--ffn", description = "Override the feed-forward width.")
  Integer ffn;

  @Option(names = "--segment", description = "Override the segment length N.")
  Integer segment;

  @Option(
      names = "--update",
      description =
          "How a segment is written into memory: LINEAR or DELTA (the paper's rules),"
              + " or GATED (the gated delta rule, which needs --read NORMALIZED) (default: the"
              + " config's, GATED).")
  UpdateRule update;

  @Option(
      names = "--read",
      description =
          "How memory is read: PAPER (the paper's normalisation by sigma(Q) z) or"
              + " NORMALIZED (unit RMS times a learned gain per head) (default: the config's,"
              + " NORMALIZED).")
  MemoryRead read;

  @Option(
      names = "--overlap",
      description =
          "C: tokens of the previous segment each segment's local attention also sees"
              + " (0..N; 0 is the paper's model; default: the config's, 32, or 4 with --tiny). No"
              + " new weights: a model trained with one overlap can be continued with another"
              + " (--init-from).")
  Integer overlap;

  @Option(
      names = "--short-conv",
      description =
          "S: taps of the causal convolution over each position's query, key and value"
              + " projections (0 = none, the default; at most the overlap + 1). Starts as the"
              + " identity, so --init-from a model without it continues that model.")
  Integer shortConv;

  @Option(
      names = "--feature-map",
      description =
          "sigma of the queries and keys the memory reads and writes: ELU_PLUS_ONE (the"
              + " paper's, positive) or IDENTITY (signed; needs GATED and NORMALIZED) (default:"
              + " the config's, ELU_PLUS_ONE). No new weights: --init-from a model trained with"
              + " the other continues its local branch, its memory relearns.")
  FeatureMap featureMap;

  @Option(
      names = "--write-top-k",
      description =
          "Under GATED, each head writes only the k tokens of a segment with the largest write"
              + " logits (0 = every token, the config's default). No new weights: --init-from a"
              + " model trained with another k continues it.")
  Integer writeTopK;

  @Option(
      names = "--write-gate",
      description =
          "Under GATED, how a write logit becomes a write strength: LOGISTIC (every token writes"
              + " a little; the config's default) or SPARSE (max(0, tanh(x/2)): a token with a"
              + " logit of 0 or less writes nothing). No new weights.")
  WriteGate writeGate;

  @Option(
      names = "--read-eps",
      description =
          "eps of the NORMALIZED read sigma(Q)M / sqrt(mean((sigma(Q)M)^2) + eps), in (0, 1]"
              + " (default: the config's, 1e-6). A larger eps reads a nearly empty memory as"
              + " nearly nothing instead of scaling it up to unit RMS, which keeps the gradient"
              + " through heads that write little bounded. No new weights.")
  Float readEps;

  @Option(
      names = "--write-penalty",
      defaultValue = "0",
      description =
          "Add lambda * the mean GATED write strength to the loss: writing costs"
              + " (default ${DEFAULT-VALUE}: off).")
  float writePenalty;

  @Option(
      names = "--write-penalty-knee",
      defaultValue = "0",
      description =
          "With c > 0, a written token costs lambda * c * ln(1 + beta / c) instead of lambda *"
              + " beta: weak writes cost as before, firm ones far less, so the penalty thins the"
              + " writes out rather than weakening them all. Needs --write-penalty; c in [1e-4,"
              + " 1000] (default ${DEFAULT-VALUE}: linear).")
  float writePenaltyKnee;

  @Option(
      names = "--no-memory",
      description =
          "Train the memoryless twin: every head's output gate fixed at the local"
              + " branch (sigmoid 0) and not trained, memory never read. The exported model carries"
              + " those gates: evaluate it as it is.")
  boolean noMemory;

  @Option(
      names = "--tiny",
      description = "Start from the tiny test configuration (not with --init-from).")
  boolean tiny;

  @Mixin RunOptions runOptions = new RunOptions();

  @Option(
      names = "--init-from",
      description =
          "A new run starts from this model directory (model.safetensors +"
              + " manifest.json): tensors with the same name and shape are copied, the rest drawn"
              + " from --seed; the optimizer starts afresh. The model options not given are the"
              + " source's; the shape options given must match it; --update, --read, --overlap,"
              + " --short-conv, --feature-map, --write-top-k, --write-gate and --read-eps may differ (e.g."
              + " GATED from DELTA: all but the write gate's tensors carry over).")
  Path initFrom;

  @Option(
      names = "--stop-at-step",
      description =
          "Stop (with a checkpoint) once this many steps are done, e.g. to change the"
              + " recipe there with --resume.")
  Long stopAtStep;

  @Spec CommandSpec spec;

  String commandLine = "train";

  /** The model of a run from scratch: the options given over the defaults (or --tiny's). */
  ModelConfig modelConfig() {
    return modelConfig(tiny ? ModelConfig.tiny() : ModelConfig.defaults());
  }

  /** The options given, and {@code d}'s values for the rest. */
  ModelConfig modelConfig(ModelConfig d) {
    int k = dKey != null ? dKey : d.dKey();
    int n = segment != null ? segment : d.segmentLength();
    return new ModelConfig(
        d.vocabSize(),
        dModel != null ? dModel : d.dModel(),
        layers != null ? layers : d.layers(),
        heads != null ? heads : d.heads(),
        k,
        dValue != null ? dValue : (dKey != null ? dKey : d.dValue()),
        ffn != null ? ffn : d.ffnHidden(),
        n,
        update != null ? update : d.updateRule(),
        read != null ? read : d.memoryRead(),
        d.ropeBase(),
        overlap != null ? overlap : Math.min(d.overlap(), n),
        shortConv != null ? shortConv : d.shortConv(),
        featureMap != null ? featureMap : d.featureMap(),
        writeTopK != null ? writeTopK : d.writeTopK(),
        writeGate != null ? writeGate : d.writeGate(),
        readEps != null ? readEps : d.readEps());
  }

  TrainConfig trainConfig() {
    return trainConfig(modelConfig());
  }

  TrainConfig trainConfig(ModelConfig model) {
    return new TrainConfig(
        model,
        seed,
        steps,
        batch,
        minSegments,
        maxSegments,
        lr,
        gateLrScale,
        minLrFraction,
        warmup,
        weightDecay,
        clip,
        0.9f,
        0.95f,
        mix,
        localFraction,
        answerWeight,
        corpus,
        noMemory,
        warmSegments,
        warmFiller,
        warmProse,
        recompute,
        writePenalty,
        writePenaltyKnee,
        segmentSampling);
  }

  @Override
  public Integer call() throws Exception {
    commandLine = CommandLines.typed(spec, commandLine);
    Path ckpt = out.resolve("checkpoint");
    if (export != null) {
      TrainCheckpoint.State state = TrainCheckpoint.readState(ckpt);
      try (Trainer t = TrainCheckpoint.resume(ckpt, TaskMixes.build(state.config()))) {
        ModelExport.write(
            t,
            export,
            state.elapsedSec(),
            state.command()
                + " (checkpoint at step "
                + state.step()
                + " of "
                + state.config().steps()
                + ")",
            state.history());
      }
      System.err.println("exported step " + state.step() + " to " + export);
      return 0;
    }
    Trainer trainer;
    double elapsed = 0;
    List<RunLog.Point> history = List.of();
    if (resume && Files.exists(ckpt.resolve(TrainCheckpoint.STATE))) {
      TrainCheckpoint.State state;
      try {
        state = TrainCheckpoint.readState(ckpt);
      } catch (JsonParseException e) {
        System.err.println("train: " + ckpt + ": " + e.getMessage());
        return 2;
      }
      TrainConfig config = state.config();
      TaskMix mixes;
      try { // a bad value given with --resume: one line, as for a new run
        if (newTotalSteps != null) {
          config = config.withSteps(newTotalSteps);
        }
        if (newWarmSegments != null) {
          config = config.withWarmSegments(newWarmSegments);
        }
        if (newWarmFiller != null) {
          config = config.withWarmFiller(newWarmFiller);
        }
        if (newMix != null || newLocalFraction != null || newAnswerWeight != null) {
          config =
              config.withData(
                  newMix != null ? newMix : config.mix(),
                  newLocalFraction != null ? newLocalFraction : config.localFraction(),
                  newAnswerWeight != null ? newAnswerWeight : config.answerWeight());
        }
        mixes = TaskMixes.build(config);
      } catch (IllegalArgumentException e) {
        System.err.println("train: " + e.getMessage());
        return 2;
      }
      trainer = TrainCheckpoint.resume(ckpt, mixes, config);
      elapsed = state.elapsedSec();
      history = state.history();
      String typedNow = commandLine;
      commandLine =
          state.command()
              + (config.equals(state.config())
                  ? ""
                  : " ; then at step " + state.step() + ": " + typedNow);
      System.err.println(
          "resumed at step "
              + trainer.stepsDone()
              + " of "
              + state.config().steps()
              + " from "
              + ckpt);
    } else {
      if (Files.exists(ckpt) && !resume) {
        System.err.println(ckpt + " exists: pass --resume to continue it, or choose another --out");
        return 2;
      }
      TrainConfig c;
      if (initFrom != null) {
        if (tiny) {
          System.err.println("train: --tiny and --init-from: the model is the source's");
          return 2;
        }
        try (NDManager m = NDManager.newBaseManager()) {
          Checkpoint.Loaded source = Checkpoint.load(initFrom, m);
          try {
            c = trainConfig(modelConfig(source.config())); // what is not given, the source has
          } catch (IllegalArgumentException e) {
            System.err.println("train: " + e.getMessage());
            return 2;
          }
          try {
            trainer = Trainer.fresh(c, TaskMixes.build(c), source.weights());
          } catch (IllegalArgumentException e) {
            System.err.println("train: --init-from " + initFrom + ": " + e.getMessage());
            return 2;
          }
          String fp = source.manifest().get("fingerprint").getAsString();
          // the manifest of what this run makes then tells the whole chain of runs behind it
          commandLine =
              commandLine
                  + " [--init-from: fingerprint "
                  + fp
                  + ", made by: "
                  + (source.manifest().has("howMade")
                      ? source.manifest().get("howMade").getAsString()
                      : "unknown")
                  + "]";
          System.err.println("starting from " + initFrom + " (fingerprint " + fp + ")");
        }
      } else {
        try {
          c = trainConfig();
        } catch (IllegalArgumentException e) {
          System.err.println("train: " + e.getMessage());
          return 2;
        }
        trainer = Trainer.fresh(c, TaskMixes.build(c));
      }
      System.err.println(
          "model "
              + c.model()
              + ", "
              + trainer.weights().parameterCount()
              + " parameters; mix "
              + c.mix()
              + "; corpus "
              + c.corpus());
    }
    long stopAt = stopAtStep != null ? stopAtStep : Long.MAX_VALUE;
    runToEnd(
        trainer, out, commandLine, elapsed, history, runOptions, runOptions.maxMinutes, stopAt);
    return 0;
  }

  /**
   * Trains {@code trainer} (closing it) until its last step, {@code stopAt} steps, {@code
   * maxMinutes} of this process or a SIGTERM / Ctrl-C (the current step finishes and a checkpoint
   * is written before the JVM exits). When the last step is done, the model is exported to {@code
   * out/final}.
   *
   * @return whether the run finished (else continue it with --resume)
   */
  static boolean runToEnd(
      Trainer trainer,
      Path out,
      String commandLine,
      double elapsed,
      List<RunLog.Point> history,
      RunOptions options,
      double maxMinutes,
      long stopAt) {
    Path ckpt = out.resolve("checkpoint");
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              stop.set(true);
              try {
                stopped.await(5, TimeUnit.MINUTES);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "train-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try (Trainer t = trainer) {
      TrainingRun run =
          new TrainingRun(
              ckpt, options.logEvery, options.checkpointMinutes * 60, maxMinutes * 60, commandLine);
      List<RunLog.Point> points =
          run.run(t, elapsed, history, System.err, () -> stop.get() || t.stepsDone() >= stopAt);
      if (t.stepsDone() >= t.config().steps()) {
        Path fin = out.resolve("final");
        TrainCheckpoint.State state = TrainCheckpoint.readState(ckpt);
        ModelExport.write(t, fin, state.elapsedSec(), commandLine, points);
        System.err.println("done: " + fin);
        return true;
      }
      System.err.println("stopped at step " + t.stepsDone() + "; continue with --resume");
      return false;
    } finally {
      stopped.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running: it returns now that the checkpoint is written
      }
    }
  }

  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new TrainCommand());
    System.exit(cl.setCaseInsensitiveEnumValuesAllowed(true).execute(args));
  }
}
