package io.infinistreams.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Aggregates {@link StepResult}s over a logging window into {@link Point}s: the loss curve kept in
 * the checkpoint and printed as the progress line.
 */
public final class RunLog {

  /**
   * One logged window.
   *
   * @param step steps done at the end of the window
   * @param elapsedSec wall seconds of training so far (across resumes)
   * @param loss mean minimised loss over the window
   * @param taskNll per task: mean next-token NLL (nats) over all positions
   * @param taskExact per task with answers: share of samples with every answer token right
   *     (teacher-forced)
   * @param taskAnswerNll per task with answers: mean NLL (nats) of the answer tokens; chance for a
   *     random digit is ln 10 = 2.30
   * @param tokensPerSec throughput over the window
   * @param lr learning rate at the window's last step
   * @param gradNorm mean global gradient norm (before clipping)
   * @param gates the output gates sigmoid(beta) per (layer, head), index layer * H + head
   */
  public record Point(
      long step,
      double elapsedSec,
      double loss,
      Map<String, Double> taskNll,
      Map<String, Double> taskExact,
      Map<String, Double> taskAnswerNll,
      double tokensPerSec,
      float lr,
      double gradNorm,
      float[] gates) {}

  private final List<Point> points;
  private final List<StepResult> window = new ArrayList<>();
  private double windowSeconds;

  public RunLog(List<Point> points) {
    this.points = new ArrayList<>(points);
  }

  public List<Point> points() {
    return List.copyOf(points);
  }

  public void add(StepResult r, double seconds) {
    window.add(r);
    windowSeconds += seconds;
  }

  public boolean isEmpty() {
    return window.isEmpty();
  }

  /** Closes the window into a point (null if empty). */
  public Point flush(double elapsedSec, float[] gates) {
    if (window.isEmpty()) {
      return null;
    }
    double loss = 0;
    double grad = 0;
    long tokens = 0;
    Map<String, StepResult.TaskStats> sums = new java.util.TreeMap<>();
    for (StepResult r : window) {
      loss += r.loss();
      grad += r.gradNorm();
      tokens += r.tokens();
      r.tasks().forEach((k, v) -> sums.merge(k, v, StepResult.TaskStats::plus));
    }
    Map<String, Double> nll = new LinkedHashMap<>();
    Map<String, Double> exact = new LinkedHashMap<>();
    Map<String, Double> answerNll = new LinkedHashMap<>();
    sums.forEach(
        (k, v) -> {
          nll.put(k, v.meanNll());
          if (v.answers() > 0) {
            exact.put(k, v.exactRate());
            answerNll.put(k, v.answerNllMean());
          }
        });
    StepResult last = window.get(window.size() - 1);
    Point p =
        new Point(
            last.step() + 1,
            elapsedSec,
            loss / window.size(),
            nll,
            exact,
            answerNll,
            tokens / Math.max(1e-9, windowSeconds),
            last.lr(),
            grad / window.size(),
            gates);
    points.add(p);
    window.clear();
    windowSeconds = 0;
    return p;
  }

  /** The progress line for a point. */
  public static String format(Point p, long totalSteps, double etaSec) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "step %d/%d loss %.4f", p.step(), totalSteps, p.loss()));
    p.taskNll()
        .forEach(
            (k, v) -> {
              sb.append(String.format(Locale.ROOT, " | %s %.3f", k, v));
              Double e = p.taskExact().get(k);
              if (e != null) {
                sb.append(String.format(Locale.ROOT, " acc %.2f", e));
              }
              Double a = p.taskAnswerNll() == null ? null : p.taskAnswerNll().get(k);
              if (a != null) {
                sb.append(String.format(Locale.ROOT, " ans %.2f", a));
              }
            });
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    double mean = 0;
    for (float g : p.gates()) {
      min = Math.min(min, g);
      max = Math.max(max, g);
      mean += g;
    }
    mean /= Math.max(1, p.gates().length);
    sb.append(
        String.format(
            Locale.ROOT,
            " | %.0f tok/s lr %.2e gnorm %.2f gate mean %.3f min %.3f max %.3f | %s elapsed, ETA %s",
            p.tokensPerSec(),
            p.lr(),
            p.gradNorm(),
            mean,
            min,
            max,
            duration(p.elapsedSec()),
            duration(etaSec)));
    return sb.toString();
  }

  static String duration(double sec) {
    long s = Math.round(sec);
    return s >= 3600
        ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }
}
