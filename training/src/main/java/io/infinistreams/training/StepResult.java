package io.infinistreams.training;

import io.infinistreams.tasks.Sample;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one training step measured, per task of the samples in its batch.
 *
 * @param step the step's index
 * @param tokens tokens processed (B * S * N)
 * @param loss the weighted loss that was minimised (nats per unit weight)
 * @param tasks per task: weighted-loss sums and answer counts
 * @param lr learning rate used
 * @param gradNorm global gradient norm before clipping
 */
public record StepResult(
    long step, long tokens, double loss, Map<String, TaskStats> tasks, float lr, float gradNorm) {

  /**
   * Sums for one task. Text loss is {@code nllSum / count} nats per token over all positions;
   * answers are the positions weighted above 1 (passkey digits, recalled values).
   *
   * @param nllSum sum of next-token NLL over all positions (nats)
   * @param count positions
   * @param answerNll sum of NLL over answer positions
   * @param answers answer positions
   * @param answerRight answer positions whose argmax prediction was right (teacher forcing)
   * @param samples samples of this task
   * @param exact samples whose every answer position was right
   */
  public record TaskStats(
      double nllSum,
      long count,
      double answerNll,
      long answers,
      long answerRight,
      long samples,
      long exact) {
    public TaskStats plus(TaskStats o) {
      return new TaskStats(
          nllSum + o.nllSum,
          count + o.count,
          answerNll + o.answerNll,
          answers + o.answers,
          answerRight + o.answerRight,
          samples + o.samples,
          exact + o.exact);
    }

    public double meanNll() {
      return count == 0 ? Double.NaN : nllSum / count;
    }

    public double answerNllMean() {
      return answers == 0 ? Double.NaN : answerNll / answers;
    }

    /** Share of samples with every answer token right (NaN when the task has no answers). */
    public double exactRate() {
      return answers == 0 ? Double.NaN : exact / (double) samples;
    }
  }

  static StepResult measure(
      long step,
      List<Sample> batch,
      int[] targets,
      float[] weights,
      float[] nll,
      int[] pred,
      int t,
      float lr,
      float gradNorm) {
    Map<String, TaskStats> tasks = new TreeMap<>();
    double weighted = 0;
    double totalWeight = 0;
    for (int b = 0; b < batch.size(); b++) {
      double sum = 0;
      double ans = 0;
      long answers = 0;
      long right = 0;
      for (int i = b * t; i < (b + 1) * t; i++) {
        sum += nll[i];
        weighted += nll[i] * weights[i];
        totalWeight += weights[i];
        if (weights[i] > 1f) {
          answers++;
          ans += nll[i];
          if (pred[i] == targets[i]) {
            right++;
          }
        }
      }
      TaskStats s =
          new TaskStats(sum, t, ans, answers, right, 1, answers > 0 && right == answers ? 1 : 0);
      tasks.merge(batch.get(b).task(), s, TaskStats::plus);
    }
    return new StepResult(
        step, (long) batch.size() * t, weighted / totalWeight, tasks, lr, gradNorm);
  }
}
