package io.infinistreams.topology;

import io.infinistreams.model.InfiniModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The models a topology runs, each identified by its fingerprint, and what becomes of a stream
 * written by a model other than the serving one.
 *
 * <p>The <b>serving</b> model starts every new stream (no stored session, or after a RESET or an
 * IMPORT) and continues the streams it wrote. <b>Previous</b> models are loaded only to continue
 * the streams they wrote, under {@link UpgradePolicy#SERVE}. A stream whose session another model
 * wrote is handled by the {@link #policy()}: see {@link #disposition}.
 *
 * <p>Immutable; the models stay owned by the caller, who keeps them open while the topology runs.
 */
public final class Models {

  /** What happens to a stream whose stored state was written by a model other than the serving. */
  public enum UpgradePolicy {
    /** Its events are refused ({@code FINGERPRINT_MISMATCH}) until a pinned RESET or IMPORT. */
    DEAD_LETTER,
    /** A loaded previous model that wrote it continues it; any other is refused. */
    SERVE,
    /** Its next applicable event drops the old state and starts it afresh under the serving. */
    RESET;

    /** The configuration value: {@code dead-letter}, {@code serve}, {@code reset}. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The policy of configuration value {@code name} ({@link #configName()}). */
    public static UpgradePolicy parse(String name) {
      for (UpgradePolicy p : values()) {
        if (p.configName().equals(name)) {
          return p;
        }
      }
      throw new IllegalArgumentException(
          "unknown model upgrade policy '" + name + "' (dead-letter, serve or reset)");
    }
  }

  /** What the next applicable event of a stream does, by the model that wrote the stream. */
  public enum Disposition {
    /** The serving model wrote it and continues it. */
    SERVING,
    /** A loaded previous model wrote it and continues it (policy serve). */
    PREVIOUS,
    /**
     * Another model wrote it; the event starts it afresh under the serving model (policy reset).
     */
    RESET,
    /** Another model wrote it; the event is refused as {@code FINGERPRINT_MISMATCH}. */
    DEAD_LETTER
  }

  private final InfiniModel serving;
  private final List<InfiniModel> previous;
  private final Map<String, InfiniModel> byFingerprint;
  private final UpgradePolicy policy;

  private Models(InfiniModel serving, List<InfiniModel> previous, UpgradePolicy policy) {
    this.serving = Objects.requireNonNull(serving, "serving");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.previous = List.copyOf(previous);
    Map<String, InfiniModel> all = new LinkedHashMap<>();
    all.put(serving.fingerprint(), serving);
    for (InfiniModel m : this.previous) {
      if (all.putIfAbsent(m.fingerprint(), m) != null) {
        throw new IllegalArgumentException(
            "model " + m.fingerprint() + " is loaded twice; each model may be loaded once");
      }
    }
    if (!this.previous.isEmpty() && policy != UpgradePolicy.SERVE) {
      throw new IllegalArgumentException(
          "previous models continue their streams only under the upgrade policy serve, not "
              + policy.configName());
    }
    this.byFingerprint = Collections.unmodifiableMap(all);
  }

  /** One model serving every stream; streams of other models are refused (today's behaviour). */
  public static Models of(InfiniModel serving) {
    return new Models(serving, List.of(), UpgradePolicy.DEAD_LETTER);
  }

  /**
   * {@code serving} plus {@code previous} models under {@code policy}.
   *
   * @throws IllegalArgumentException if two models have the same fingerprint, or previous models
   *     are given with a policy other than {@link UpgradePolicy#SERVE}
   */
  public static Models of(InfiniModel serving, List<InfiniModel> previous, UpgradePolicy policy) {
    return new Models(serving, previous, policy);
  }

  /** The model of new streams. */
  public InfiniModel serving() {
    return serving;
  }

  /** The previous models, in the order given. */
  public List<InfiniModel> previous() {
    return previous;
  }

  /** Every loaded model, the serving one first. */
  public List<InfiniModel> all() {
    return new ArrayList<>(byFingerprint.values());
  }

  /** The loaded model of {@code fingerprint}, or null. */
  public InfiniModel get(String fingerprint) {
    return fingerprint == null ? null : byFingerprint.get(fingerprint);
  }

  public UpgradePolicy policy() {
    return policy;
  }

  /** What the next applicable APPEND or GENERATE of a stream written by {@code writer} does. */
  public Disposition disposition(String writer) {
    if (serving.fingerprint().equals(writer)) {
      return Disposition.SERVING;
    }
    return switch (policy) {
      case SERVE ->
          byFingerprint.containsKey(writer) ? Disposition.PREVIOUS : Disposition.DEAD_LETTER;
      case RESET -> Disposition.RESET;
      case DEAD_LETTER -> Disposition.DEAD_LETTER;
    };
  }
}
