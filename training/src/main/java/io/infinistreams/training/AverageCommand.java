package io.infinistreams.training;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.infinistreams.model.Checkpoint;
import io.infinistreams.model.Weights;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code average}: writes the weighted average of two or more checkpoints of one architecture
 * ({@link WeightAverage}) as a model directory, its manifest naming every input by path,
 * fingerprint, coefficient and how it was made, so the chain behind it stays on record.
 */
@Command(
    name = "average",
    mixinStandardHelpOptions = true,
    description =
        "Average checkpoints of one architecture, parameter by parameter (a weight-space"
            + " ensemble: e.g. a model and the same model trained further).")
public final class AverageCommand implements Callable<Integer> {

  @Parameters(arity = "2..*", paramLabel = "MODEL_DIR", description = "Checkpoint directories.")
  List<Path> inputs;

  @Option(names = "--out", required = true, description = "Model directory to write.")
  Path out;

  @Option(
      names = "--coefficients",
      split = ",",
      description = "One positive number per model," + " scaled to sum to 1 (default: equal).")
  List<Double> coefficients;

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    if (Files.exists(out.resolve(Checkpoint.MANIFEST_FILE))) {
      System.err.println(out + " already holds a model; choose another --out");
      return 2;
    }
    try {
      return average();
    } catch (IllegalArgumentException | UncheckedIOException e) {
      System.err.println("average: " + e.getMessage());
      return 2;
    }
  }

  private int average() {
    double[] c =
        WeightAverage.normalise(
            coefficients != null ? coefficients : Collections.nCopies(inputs.size(), 1.0),
            inputs.size());
    String command = CommandLines.typed(spec, "average");
    try (NDManager m = NDManager.newBaseManager()) {
      List<Weights> models = new ArrayList<>();
      JsonArray described = new JsonArray();
      StringBuilder howMade =
          new StringBuilder(
              "average command of " + AverageCommand.class.getName() + ": " + command + " [");
      for (int i = 0; i < inputs.size(); i++) {
        Checkpoint.Loaded l = Checkpoint.load(inputs.get(i), m);
        models.add(l.weights());
        String fp = l.manifest().get("fingerprint").getAsString();
        String made =
            l.manifest().has("howMade") ? l.manifest().get("howMade").getAsString() : "unknown";
        JsonObject d = new JsonObject();
        d.addProperty("path", inputs.get(i).toString());
        d.addProperty("fingerprint", fp);
        d.addProperty("coefficient", c[i]);
        d.addProperty("howMade", made);
        if (l.manifest().has("training")) {
          d.add("training", l.manifest().get("training"));
        }
        described.add(d);
        howMade
            .append(i == 0 ? "" : "; ")
            .append("x ")
            .append(c[i])
            .append(": fingerprint ")
            .append(fp)
            .append(", made by: ")
            .append(made);
      }
      Weights avg = WeightAverage.average(models, c, m);
      Checkpoint.save(avg, out, howMade.append("]").toString());
      JsonObject average = new JsonObject();
      average.addProperty("command", command);
      average.addProperty(
          "arithmetic",
          "per value: sum of coefficient x value in double, in the"
              + " order given, rounded once to float32");
      average.add("inputs", described);
      ModelExport.addToManifest(out, "average", average);
      System.err.println("wrote " + out + " (fingerprint " + avg.fingerprint() + ")");
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new AverageCommand()).execute(args));
  }
}
