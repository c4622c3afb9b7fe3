package io.infinistreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The Infini-Transformer's parameters, immutable once built (llama3.java style). Every field
 * carries its shape; the legend is in {@link ModelConfig}: W vocabulary, D d_model, H heads, K
 * d_key, V d_value, F ffn width, L layers.
 *
 * <p>The arrays live in the {@link NDManager} given to {@link #init} or {@link #fromNamed}; that
 * manager owns them. Code that computes with them must keep its results out of that manager (make
 * an activation, not a weight, the first operand of every op): see {@link InfiniTransformer}.
 *
 * <p>{@link #parameters()} is the one ordered list of (name, array) pairs: checkpoints, the
 * fingerprint and the optimizer all use it. Names: {@code embed}, then for each layer i {@code
 * layers.i.attn_norm, layers.i.attn.wq, layers.i.attn.wk, layers.i.attn.wv, layers.i.attn.wo,
 * layers.i.attn.gate, layers.i.attn.mem_norm, layers.i.ffn_norm, layers.i.ffn.w1, layers.i.ffn.w2},
 * then {@code final_norm}. The {@link UpdateRule#GATED} rule adds {@code layers.i.attn.write} and
 * {@code layers.i.attn.write_bias} after {@code layers.i.attn.mem_norm}; the paper's rules have
 * neither.
 */
public final class Weights {

  /** Standard deviation of the initial embedding and projection weights (GPT-2/nanoGPT). */
  public static final double INIT_STD = 0.02;

  /**
   * Initial bias of the GATED write strength: logistic(4) = 0.98, so a fresh gated memory writes
   * almost every token in full and learns where to write less.
   */
  public static final float WRITE_BIAS_INIT = 4f;

  /** One pre-norm block: Infini-attention then the feed-forward layer. */
  public record Layer(
      NDArray attnNorm, // (D) RMSNorm gain before attention, init 1
      NDArray wq, // (D, H*K) query projection, head-major columns
      NDArray wk, // (D, H*K) key projection
      NDArray wv, // (D, H*V) value projection
      NDArray wo, // (H*V, D) output projection (eq. 11)
      NDArray gate, // (H) beta of the gate (eq. 10), init 0
      NDArray memNorm, // (H, V) gain of the NORMALIZED memory read, init 1
      NDArray ffnNorm, // (D) RMSNorm gain before the feed-forward layer, init 1
      NDArray w1, // (D, F) feed-forward up projection (GELU follows)
      NDArray w2, // (F, D) feed-forward down projection
      NDArray write, // (D, H) GATED write strength projection, init N(0, 0.02); null otherwise
      NDArray writeBias, // (H) GATED write strength bias, init WRITE_BIAS_INIT; null otherwise
      NDArray conv // (S, 2HK+HV) short convolution taps, row j for lag j, init identity; or null
      ) {
    /** This layer with another output gate beta (every other array shared). */
    Layer withGate(NDArray g) {
      return new Layer(
          attnNorm, wq, wk, wv, wo, g, memNorm, ffnNorm, w1, w2, write, writeBias, conv);
    }

    /** This layer with another write projection and bias (every other array shared). */
    Layer withWrite(NDArray w, NDArray b) {
      return new Layer(attnNorm, wq, wk, wv, wo, gate, memNorm, ffnNorm, w1, w2, w, b, conv);
    }
  }

  /** A named parameter, as it appears in checkpoints and to the optimizer. */
  public record Param(String name, NDArray array) {}

  private final ModelConfig config;
  private final NDArray embed; // (W, D) token embedding, tied as the LM head
  private final List<Layer> layers; // (L)
  private final NDArray finalNorm; // (D) final RMSNorm gain, init 1

  private Weights(ModelConfig config, NDArray embed, List<Layer> layers, NDArray finalNorm) {
    this.config = config;
    this.embed = embed;
    this.layers = List.copyOf(layers);
    this.finalNorm = finalNorm;
  }

  public ModelConfig config() {
    return config;
  }

  /** (W, D) token embedding; also the LM head (tied). */
  public NDArray embed() {
    return embed;
  }

  public List<Layer> layers() {
    return layers;
  }

  public Layer layer(int i) {
    return layers.get(i);
  }

  /** (D) final RMSNorm gain. */
  public NDArray finalNorm() {
    return finalNorm;
  }

  /** The expected name and shape of every parameter, in canonical order. */
  public static Map<String, Shape> shapes(ModelConfig c) {
    int d = c.dModel();
    int h = c.heads();
    Map<String, Shape> shapes = new LinkedHashMap<>();
    shapes.put("embed", new Shape(c.vocabSize(), d));
    for (int i = 0; i < c.layers(); i++) {
      String p = "layers." + i + ".";
      shapes.put(p + "attn_norm", new Shape(d));
      shapes.put(p + "attn.wq", new Shape(d, (long) h * c.dKey()));
      shapes.put(p + "attn.wk", new Shape(d, (long) h * c.dKey()));
      shapes.put(p + "attn.wv", new Shape(d, (long) h * c.dValue()));
      shapes.put(p + "attn.wo", new Shape((long) h * c.dValue(), d));
      shapes.put(p + "attn.gate", new Shape(h));
      shapes.put(p + "attn.mem_norm", new Shape(h, c.dValue()));
      if (c.updateRule() == UpdateRule.GATED) {
        shapes.put(p + "attn.write", new Shape(d, h));
        shapes.put(p + "attn.write_bias", new Shape(h));
      }
      if (c.shortConv() > 0) {
        shapes.put(
            p + "attn.conv", new Shape(c.shortConv(), (long) h * (2L * c.dKey() + c.dValue())));
      }
      shapes.put(p + "ffn_norm", new Shape(d));
      shapes.put(p + "ffn.w1", new Shape(d, c.ffnHidden()));
      shapes.put(p + "ffn.w2", new Shape(c.ffnHidden(), d));
    }
    shapes.put("final_norm", new Shape(d));
    return shapes;
  }

  /**
   * Fresh weights drawn from {@code seed} with a Java RNG (independent of libtorch's RNG, so the
   * same seed gives the same weights on every platform): N(0, 0.02) for the embedding and the input
   * projections, N(0, 0.02 / sqrt(2L)) for the residual output projections (wo, w2), gains 1, gate
   * beta 0, write bias {@link #WRITE_BIAS_INIT}, the short convolution the identity (weight 1 at
   * lag 0, 0 elsewhere, so a model with it starts as the same model without it).
   */
  public static Weights init(ModelConfig c, long seed, NDManager manager) {
    SplittableRandom rng = new SplittableRandom(seed);
    double residualStd = INIT_STD / Math.sqrt(2.0 * c.layers());
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : shapes(c).entrySet()) {
      String name = e.getKey();
      Shape shape = e.getValue();
      float[] values = new float[Math.toIntExact(shape.size())];
      if (name.endsWith("norm")) {
        Arrays.fill(values, 1f);
      } else if (name.endsWith("gate")) {
        Arrays.fill(values, 0f);
      } else if (name.endsWith("write_bias")) {
        Arrays.fill(values, WRITE_BIAS_INIT);
      } else if (name.endsWith("conv")) {
        Arrays.fill(values, 0, Math.toIntExact(shape.get(1)), 1f); // lag 0 only: the identity
      } else {
        double std = name.endsWith("wo") || name.endsWith("w2") ? residualStd : INIT_STD;
        gaussian(rng, values, std);
      }
      arrays.put(name, manager.create(values, shape));
    }
    return build(c, arrays);
  }

  /**
   * Fresh weights ({@link #init}) in which every tensor that {@code source} has under the same name
   * and shape is replaced by a copy of the source's: a new model that starts from a trained one
   * (e.g. a GATED model from a DELTA one: all but the write gate's tensors carry over). The
   * architectures must agree in every dimension; at least one tensor must carry over.
   *
   * @return the weights, owned by {@code manager}
   */
  public static Weights initFrom(ModelConfig c, long seed, Weights source, NDManager manager) {
    ModelConfig s = source.config();
    if (s.vocabSize() != c.vocabSize()
        || s.dModel() != c.dModel()
        || s.layers() != c.layers()
        || s.heads() != c.heads()
        || s.dKey() != c.dKey()
        || s.dValue() != c.dValue()
        || s.ffnHidden() != c.ffnHidden()
        || s.segmentLength() != c.segmentLength()
        || s.ropeBase() != c.ropeBase()) {
      throw new IllegalArgumentException(
          "cannot start "
              + c
              + " from "
              + s
              + ": only the update rule, the read, the overlap, the short convolution, the feature"
              + " map, the top-k write, the write gate and the read's eps may differ");
    }
    Map<String, NDArray> from = new LinkedHashMap<>();
    for (Param p : source.parameters()) {
      from.put(p.name(), p.array());
    }
    Weights fresh = init(c, seed, manager);
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    int copied = 0;
    for (Param p : fresh.parameters()) {
      NDArray src = from.get(p.name());
      if (src != null && src.getShape().equals(p.array().getShape())) {
        arrays.put(p.name(), manager.create(src.toFloatArray(), src.getShape()));
        p.array().close();
        copied++;
      } else {
        arrays.put(p.name(), p.array());
      }
    }
    if (copied == 0) {
      throw new IllegalArgumentException("no tensor of the source carries over");
    }
    return build(c, arrays);
  }

  /**
   * Weights from named arrays (e.g. a decoded checkpoint). Every expected name must be present with
   * its exact shape and fp32; extra names are an error. The arrays are used as they are (not
   * copied): their manager owns them.
   */
  public static Weights fromNamed(ModelConfig c, NDList named) {
    Map<String, NDArray> byName = new LinkedHashMap<>();
    for (NDArray a : named) {
      if (a.getName() == null || byName.put(a.getName(), a) != null) {
        throw new IllegalArgumentException(
            "checkpoint tensor without a unique name: " + a.getName());
      }
    }
    Map<String, Shape> expected = shapes(c);
    for (Map.Entry<String, Shape> e : expected.entrySet()) {
      NDArray a = byName.get(e.getKey());
      if (a == null) {
        throw new IllegalArgumentException("checkpoint lacks tensor " + e.getKey());
      }
      if (!a.getShape().equals(e.getValue()) || a.getDataType() != DataType.FLOAT32) {
        throw new IllegalArgumentException(
            "tensor "
                + e.getKey()
                + " is "
                + a.getDataType()
                + " "
                + a.getShape()
                + ", expected float32 "
                + e.getValue());
      }
    }
    if (byName.size() != expected.size()) {
      List<String> extra = new ArrayList<>(byName.keySet());
      extra.removeAll(expected.keySet());
      throw new IllegalArgumentException("checkpoint has unexpected tensors " + extra);
    }
    return build(c, byName);
  }

  private static Weights build(ModelConfig c, Map<String, NDArray> a) {
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i < c.layers(); i++) {
      String p = "layers." + i + ".";
      layers.add(
          new Layer(
              a.get(p + "attn_norm"),
              a.get(p + "attn.wq"),
              a.get(p + "attn.wk"),
              a.get(p + "attn.wv"),
              a.get(p + "attn.wo"),
              a.get(p + "attn.gate"),
              a.get(p + "attn.mem_norm"),
              a.get(p + "ffn_norm"),
              a.get(p + "ffn.w1"),
              a.get(p + "ffn.w2"),
              a.get(p + "attn.write"),
              a.get(p + "attn.write_bias"),
              a.get(p + "attn.conv")));
    }
    for (Map.Entry<String, NDArray> e : a.entrySet()) {
      e.getValue().setName(e.getKey());
    }
    return new Weights(c, a.get("embed"), layers, a.get("final_norm"));
  }

  /**
   * The gate logit that forces a head to its local branch: sigmoid(-1e4) is 0 in fp32, so the
   * head's output is its causal attention alone (the memory-off view of evaluation).
   */
  public static final float LOCAL_GATE_LOGIT = -1e4f;

  /**
   * These weights with beta of one head's output gate (eq. 10) set to {@code logit}, every other
   * array shared (not copied). An ablation for evaluation (e.g. {@link #LOCAL_GATE_LOGIT}: that
   * head reads no memory; its memory is still written); the fingerprint changes with it.
   */
  public Weights withGateLogit(int layer, int head, float logit) {
    if (layer < 0 || layer >= layers.size() || head < 0 || head >= config.heads()) {
      throw new IllegalArgumentException(
          "no head "
              + layer
              + "."
              + head
              + " in a model of "
              + layers.size()
              + " layers x "
              + config.heads()
              + " heads");
    }
    Layer l = layers.get(layer);
    float[] beta = l.gate().toFloatArray();
    beta[head] = logit;
    NDArray gate = l.gate().getManager().create(beta);
    gate.setName(l.gate().getName());
    List<Layer> edited = new ArrayList<>(layers);
    edited.set(layer, l.withGate(gate));
    return new Weights(config, embed, edited, finalNorm);
  }

  /**
   * These weights with every head's GATED write logit x = h w_write + b_write replaced by {@code
   * scale} (x - {@code threshold}), every other array shared (not copied): a token writes only
   * where its write logit was above {@code threshold} (under the sparse gate, {@link
   * WriteGate#SPARSE}, a logit at or below it writes nothing), and a scale above 1 makes the writes
   * that remain stronger. An ablation for evaluation (how much a stricter, firmer write keeps of a
   * fact in a long stream), and the start of a recipe stage that trains on from such weights; the
   * fingerprint changes with it. (1, 0) is the same function.
   *
   * @throws IllegalArgumentException if the model has no write gate, {@code scale} is not finite
   *     and positive or {@code threshold} is not finite
   */
  public Weights withWriteLogits(float scale, float threshold) {
    if (!(Float.isFinite(scale) && scale > 0) || !Float.isFinite(threshold)) {
      throw new IllegalArgumentException(
          "a write logit edit needs a finite scale > 0 and a finite threshold, got scale "
              + scale
              + ", threshold "
              + threshold);
    }
    if (layers.get(0).writeBias() == null) {
      throw new IllegalArgumentException(
          "a write logit edit needs the GATED update rule, not " + config.updateRule());
    }
    List<Layer> edited = new ArrayList<>(layers.size());
    for (Layer l : layers) {
      float[] b = l.writeBias().toFloatArray();
      for (int h = 0; h < b.length; h++) {
        b[h] = scale * (b[h] - threshold);
      }
      NDArray bias = l.writeBias().getManager().create(b);
      bias.setName(l.writeBias().getName());
      NDArray write = scale == 1f ? l.write() : l.write().mul(scale);
      write.setName(l.write().getName());
      edited.add(l.withWrite(write, bias));
    }
    return new Weights(config, embed, edited, finalNorm);
  }

  /**
   * The same arrays (shared, not copied) under {@code config.withWriteTopK(k)}: each head writes
   * only a segment's k tokens of largest write logit ({@link ModelConfig#writeTopK}). The write
   * gate's weights need no change, so a model trained with every token writing can be evaluated or
   * continued this way; the fingerprint changes with it.
   */
  public Weights withWriteTopK(int k) {
    return new Weights(config.withWriteTopK(k), embed, layers, finalNorm);
  }

  /**
   * The same arrays (shared, not copied) under {@code config.withReadEps(eps)}: the NORMALIZED read
   * with another eps ({@link ModelConfig#readEps}); the fingerprint changes with it.
   */
  public Weights withReadEps(float eps) {
    return new Weights(config.withReadEps(eps), embed, layers, finalNorm);
  }

  /**
   * These weights with every head forced to its local branch ({@link #LOCAL_GATE_LOGIT}): the
   * memory-off baseline of evaluation, plain causal attention within the segment and its overlap.
   * Memory is still written, so its states are the model's own.
   */
  public Weights withMemoryOff() {
    Weights w = this;
    for (int l = 0; l < layers.size(); l++) {
      for (int h = 0; h < config.heads(); h++) {
        w = w.withGateLogit(l, h, LOCAL_GATE_LOGIT);
      }
    }
    return w;
  }

  /** Every parameter with its name, in the canonical order of {@link #shapes}. */
  public List<Param> parameters() {
    List<Param> params = new ArrayList<>();
    params.add(new Param("embed", embed));
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      String p = "layers." + i + ".";
      params.add(new Param(p + "attn_norm", l.attnNorm()));
      params.add(new Param(p + "attn.wq", l.wq()));
      params.add(new Param(p + "attn.wk", l.wk()));
      params.add(new Param(p + "attn.wv", l.wv()));
      params.add(new Param(p + "attn.wo", l.wo()));
      params.add(new Param(p + "attn.gate", l.gate()));
      params.add(new Param(p + "attn.mem_norm", l.memNorm()));
      if (l.write() != null) {
        params.add(new Param(p + "attn.write", l.write()));
        params.add(new Param(p + "attn.write_bias", l.writeBias()));
      }
      if (l.conv() != null) {
        params.add(new Param(p + "attn.conv", l.conv()));
      }
      params.add(new Param(p + "ffn_norm", l.ffnNorm()));
      params.add(new Param(p + "ffn.w1", l.w1()));
      params.add(new Param(p + "ffn.w2", l.w2()));
    }
    params.add(new Param("final_norm", finalNorm));
    return params;
  }

  /** The parameters as an NDList whose arrays carry their names (for {@link NDList#encode}). */
  public NDList toNamedList() {
    NDList list = new NDList();
    for (Param p : parameters()) {
      p.array().setName(p.name());
      list.add(p.array());
    }
    return list;
  }

  /** Number of scalar parameters. */
  public long parameterCount() {
    long n = 0;
    for (Param p : parameters()) {
      n += p.array().size();
    }
    return n;
  }

  /** How {@link #fingerprint()} is computed, as checkpoints' manifests state it. */
  public static final String FINGERPRINT_ALGORITHM =
      "SHA-256 over the UTF-8 configuration line (ModelConfig.canonical()), 0x00, then per tensor"
          + " in order: UTF-8 name, 0x00, int64le rank, int64le dims, float32le values";

  /**
   * SHA-256 (lower-case hex) of the model: its configuration ({@link ModelConfig#canonical()}) and
   * the canonical bytes of its weights, independent of any file format. Two models share a
   * fingerprint only if they compute the same function: a memory written by one is refused by a
   * model with the same weights under another segment length, overlap, update rule or read.
   */
  public String fingerprint() {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha.update(config.canonical().getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
    for (Param p : parameters()) {
      sha.update(p.name().getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      long[] dims = p.array().getShape().getShape();
      ByteBuffer head = ByteBuffer.allocate(8 * (dims.length + 1)).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(dims.length);
      for (long d : dims) {
        head.putLong(d);
      }
      sha.update(head.array());
      float[] values = p.array().toFloatArray();
      ByteBuffer body = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
      body.asFloatBuffer().put(values);
      sha.update(body.array());
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static void gaussian(SplittableRandom rng, float[] out, double std) {
    for (int i = 0; i < out.length; i += 2) {
      // Box-Muller: two independent N(0, 1) from two uniforms in (0, 1].
      double u1 = 1.0 - rng.nextDouble();
      double u2 = rng.nextDouble();
      double r = Math.sqrt(-2.0 * Math.log(u1));
      out[i] = (float) (std * r * Math.cos(2 * Math.PI * u2));
      if (i + 1 < out.length) {
        out[i + 1] = (float) (std * r * Math.sin(2 * Math.PI * u2));
      }
    }
  }
}
