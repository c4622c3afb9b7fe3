package io.infinistreams.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter) on NDArrays: Adam moments with bias correction, and weight decay
 * decoupled from the gradient ({@code p -= lr * wd * p}, applied only to the groups that decay).
 * Updates parameters in place; call it with gradient recording off (outside a collector).
 *
 * <p>Native memory: the moments live in the manager given to the constructor; every temporary of a
 * step is created in the step manager passed to {@link #step} (first operands are copies made
 * there), so nothing accumulates in the weights' or the optimizer's manager.
 */
public final class AdamW {

  /**
   * One parameter's optimizer settings.
   *
   * @param lrScale multiplier of the scheduled learning rate (the gates use a larger one)
   * @param weightDecay decoupled decay coefficient (0 for gates, norms and gains)
   */
  public record Group(float lrScale, float weightDecay) {}

  private final float beta1;
  private final float beta2;
  private final float eps;
  private final List<NDArray> params; // the model's arrays, updated in place
  private final List<Group> groups; // one per param
  private final List<NDArray> m; // first moments, same shapes
  private final List<NDArray> v; // second moments
  private long t; // steps taken

  public AdamW(
      List<NDArray> params,
      List<Group> groups,
      float beta1,
      float beta2,
      float eps,
      NDManager manager) {
    if (params.size() != groups.size()) {
      throw new IllegalArgumentException("one group per parameter");
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.params = List.copyOf(params);
    this.groups = List.copyOf(groups);
    this.m = new ArrayList<>();
    this.v = new ArrayList<>();
    for (NDArray p : params) {
      m.add(manager.zeros(p.getShape(), DataType.FLOAT32));
      v.add(manager.zeros(p.getShape(), DataType.FLOAT32));
    }
  }

  public long stepsTaken() {
    return t;
  }

  /**
   * One update with the given gradients (same order as the parameters), each scaled by {@code
   * gradScale} first (gradient clipping), at learning rate {@code lr}.
   */
  public void step(List<NDArray> grads, float gradScale, float lr, NDManager stepManager) {
    t++;
    float bc1 = (float) (1 - Math.pow(beta1, t));
    float bc2 = (float) (1 - Math.pow(beta2, t));
    for (int i = 0; i < params.size(); i++) {
      NDArray p = params.get(i);
      Group group = groups.get(i);
      float groupLr = lr * group.lrScale();
      NDArray g = copy(stepManager, grads.get(i)).muli(gradScale);
      m.get(i).muli(beta1).addi(g.mul(1 - beta1));
      v.get(i).muli(beta2).addi(g.square().muli(1 - beta2));
      NDArray denom = copy(stepManager, v.get(i)).divi(bc2).sqrt().addi(eps);
      NDArray update = copy(stepManager, m.get(i)).divi(bc1).divi(denom).muli(groupLr);
      if (group.weightDecay() > 0) {
        p.muli(1 - groupLr * group.weightDecay()); // decoupled weight decay
      }
      p.subi(update);
    }
  }

  /**
   * Copies of the moments in {@code manager}, named {@code m.<name>} and {@code v.<name>}, for a
   * checkpoint. Copies, because encoding the live moment arrays was seen to change the rounding of
   * later updates (a run that checkpointed drifted from one that did not).
   */
  public NDList state(List<String> names, NDManager manager) {
    NDList out = new NDList();
    for (int i = 0; i < params.size(); i++) {
      NDArray mc = manager.create(m.get(i).toFloatArray(), m.get(i).getShape());
      NDArray vc = manager.create(v.get(i).toFloatArray(), v.get(i).getShape());
      mc.setName("m." + names.get(i));
      vc.setName("v." + names.get(i));
      out.add(mc);
      out.add(vc);
    }
    return out;
  }

  /** Restores moments written by {@link #state} and the step count. */
  public void restore(NDList state, List<String> names, long steps) {
    for (int i = 0; i < params.size(); i++) {
      m.get(i).set(find(state, "m." + names.get(i)).toFloatArray());
      v.get(i).set(find(state, "v." + names.get(i)).toFloatArray());
    }
    this.t = steps;
  }

  private static NDArray find(NDList list, String name) {
    for (NDArray a : list) {
      if (name.equals(a.getName())) {
        return a;
      }
    }
    throw new IllegalArgumentException("optimizer state lacks " + name);
  }

  /** A copy of {@code a} owned by {@code manager}. */
  static NDArray copy(NDManager manager, NDArray a) {
    return manager.zeros(new Shape(), DataType.FLOAT32).add(a);
  }
}
