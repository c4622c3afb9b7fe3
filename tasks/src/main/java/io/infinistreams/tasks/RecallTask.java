package io.infinistreams.tasks;

import io.infinistreams.model.ByteTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Associative recall, dense: a stream of short statements {@code "key qx is 48213. "}, each label
 * first defined with a random five-digit value and later restated, the restatement's digits
 * weighted as answers. The gap between definition and recall ranges from a few tokens to the whole
 * sequence, so some recalls are local and some cross segments (memory).
 *
 * <p>It is the multi-query associative recall that linear-attention memories are measured on, in
 * the passkey's own shape ("... is 48213"): a copy signal on every other statement instead of once
 * per sequence, so the copy circuit (and the memory's key-to-value association) forms in a few
 * hundred steps rather than not at all. The passkey's "The pass key is" then reuses it.
 *
 * @param answerWeight loss weight of each recalled digit
 */
public record RecallTask(float answerWeight) implements Task {

  @Override
  public String name() {
    return "recall";
  }

  @Override
  public Sample sample(Random rng, int segments, int segmentLength) {
    int total = segments * segmentLength + 1;
    int[] tokens = new int[total];
    float[] weights = new float[total - 1];
    tokens[0] = ByteTokenizer.BOS;
    int p = 1;
    List<String> labels = new ArrayList<>();
    List<String> values = new ArrayList<>();
    while (p < total) {
      boolean recall = !labels.isEmpty() && rng.nextBoolean();
      String label;
      String value;
      if (recall) {
        int i = rng.nextInt(labels.size());
        label = labels.get(i);
        value = values.get(i);
      } else {
        label = "" + (char) ('a' + rng.nextInt(26)) + (char) ('a' + rng.nextInt(26));
        value = Integer.toString(10000 + rng.nextInt(90000));
        int known = labels.indexOf(label);
        if (known >= 0) { // a label is defined once per sequence
          value = values.get(known);
          recall = true;
        } else {
          labels.add(label);
          values.add(value);
        }
      }
      int[] head = ByteTokenizer.encode("key " + label + " is ");
      int[] digits = ByteTokenizer.encode(value);
      int[] tail = ByteTokenizer.encode(". ");
      for (int[] part : List.of(head, digits, tail)) {
        for (int t : part) {
          if (p >= total) {
            break;
          }
          if (recall && part == digits) {
            weights[p - 1] = answerWeight;
          } else {
            weights[p - 1] = 1f;
          }
          tokens[p++] = t;
        }
      }
    }
    return new Sample(tokens, weights, name());
  }

  @Override
  public String toString() {
    return "RecallTask" + Arrays.asList(answerWeight);
  }
}
