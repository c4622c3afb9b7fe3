package io.infinistreams.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.Weights;
import java.util.List;

/**
 * A weighted average of checkpoints of one architecture, parameter by parameter: the weight-space
 * ensemble of Wortsman et al. (model soups, 2022; WiSE-FT, 2022), which interpolates between a
 * model and the same model trained further. Each value is {@code sum_i c_i x_i} accumulated in
 * double, in the order the models are given, then rounded once to float32: deterministic, and for
 * coefficients that are powers of two (0.5, 0.5) exact up to that one rounding.
 */
public final class WeightAverage {
  private WeightAverage() {}

  /**
   * The coefficients {@code raw} scaled to sum to 1.
   *
   * @throws IllegalArgumentException if one is not a positive finite number, or their count is not
   *     {@code models}
   */
  public static double[] normalise(List<Double> raw, int models) {
    if (raw.size() != models) {
      throw new IllegalArgumentException(raw.size() + " coefficients for " + models + " models");
    }
    double sum = 0;
    for (double w : raw) {
      if (!(w > 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException("coefficients must be positive and finite: " + raw);
      }
      sum += w;
    }
    double[] c = new double[models];
    for (int i = 0; i < models; i++) {
      c[i] = raw.get(i) / sum;
    }
    return c;
  }

  /**
   * {@code sum_i coefficients[i] * models[i]}, parameter by parameter, in arrays owned by {@code
   * manager}.
   *
   * @throws IllegalArgumentException if the models' configs differ (their parameters would not mean
   *     the same thing) or there are fewer than two
   */
  public static Weights average(List<Weights> models, double[] coefficients, NDManager manager) {
    if (models.size() < 2 || coefficients.length != models.size()) {
      throw new IllegalArgumentException(
          "an average needs two or more models, one coefficient"
              + " each; got "
              + models.size()
              + " models and "
              + coefficients.length
              + " coefficients");
    }
    ModelConfig config = models.get(0).config();
    for (int i = 1; i < models.size(); i++) {
      if (!models.get(i).config().equals(config)) {
        throw new IllegalArgumentException(
            "model "
                + (i + 1)
                + " has another config: "
                + models.get(i).config()
                + " against "
                + config);
      }
    }
    List<List<Weights.Param>> params = models.stream().map(Weights::parameters).toList();
    NDList named = new NDList();
    for (int p = 0; p < params.get(0).size(); p++) {
      Weights.Param first = params.get(0).get(p);
      double[] sum = new double[Math.toIntExact(first.array().size())];
      for (int i = 0; i < models.size(); i++) {
        float[] x = params.get(i).get(p).array().toFloatArray();
        for (int j = 0; j < x.length; j++) {
          sum[j] += coefficients[i] * x[j];
        }
      }
      float[] out = new float[sum.length];
      for (int j = 0; j < out.length; j++) {
        out[j] = (float) sum[j];
      }
      NDArray a = manager.create(out, first.array().getShape());
      a.setName(first.name());
      named.add(a);
    }
    return Weights.fromNamed(config, named);
  }
}
