package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints: exact round trip, a readable safetensors file, fingerprints that catch changes. */
class CheckpointTest {

  @Test
  void saveThenLoadGivesTheSameModelAndTheSameAbsorbBytes(@TempDir Path dir) {
    int[] text = InfiniModelTest.randomText(new SplittableRandom(1), 300);
    try (InfiniModel a = InfiniModel.create(ModelConfig.tiny(), 77)) {
      a.save(dir, "CheckpointTest, seed 77");
      try (InfiniModel b = InfiniModel.load(dir)) {
        assertEquals(a.config(), b.config());
        assertEquals(a.fingerprint(), b.fingerprint());
        AbsorbResult ra = a.absorb(a.newState(), text, true);
        AbsorbResult rb = b.absorb(b.newState(), text, true);
        InfiniModelTest.assertSameState(ra.state(), rb.state());
        assertArrayEquals(ra.logProbs(), rb.logProbs());
      }
    }
  }

  @Test
  void sameSeedSameFingerprintAndAChangedWeightChangesIt() {
    ModelConfig c = ModelConfig.tiny();
    try (NDManager m = NDManager.newBaseManager()) {
      Weights w = Weights.init(c, 5, m);
      assertEquals(w.fingerprint(), Weights.init(c, 5, m).fingerprint());
      assertNotEquals(w.fingerprint(), Weights.init(c, 6, m).fingerprint());
      NDList named = new NDList();
      for (Weights.Param p : w.parameters()) {
        float[] v = p.array().toFloatArray();
        if (p.name().equals("layers.1.attn.gate")) {
          v[1] = Math.nextUp(v[1]); // the smallest possible change of one weight
        }
        NDArray copy = m.create(v, p.array().getShape());
        copy.setName(p.name());
        named.add(copy);
      }
      Weights changed = Weights.fromNamed(c, named);
      assertNotEquals(w.fingerprint(), changed.fingerprint());
    }
  }

  /** The file is plain safetensors: any reader can find every tensor by name, dtype and shape. */
  @Test
  void safetensorsFileIsReadableWithoutDjl(@TempDir Path dir) throws IOException {
    ModelConfig c = ModelConfig.tiny();
    try (InfiniModel model = InfiniModel.create(c, 3)) {
      model.save(dir, "test");
      byte[] file = Files.readAllBytes(dir.resolve(Checkpoint.WEIGHTS_FILE));
      ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
      long headerLen = buf.getLong();
      JsonObject header = JsonParser.parseString(
          new String(file, 8, (int) headerLen, StandardCharsets.UTF_8)).getAsJsonObject();
      long dataStart = 8 + headerLen;
      Map<String, Shape> expected = Weights.shapes(c);
      for (Weights.Param p : model.weights().parameters()) {
        JsonObject t = header.getAsJsonObject(p.name());
        assertEquals("F32", t.get("dtype").getAsString(), p.name());
        JsonArray shape = t.getAsJsonArray("shape");
        long[] dims = expected.get(p.name()).getShape();
        assertEquals(dims.length, shape.size(), p.name());
        for (int i = 0; i < dims.length; i++) {
          assertEquals(dims[i], shape.get(i).getAsLong(), p.name());
        }
        JsonArray offsets = t.getAsJsonArray("data_offsets");
        long from = offsets.get(0).getAsLong();
        long to = offsets.get(1).getAsLong();
        float[] want = p.array().toFloatArray();
        assertEquals(4L * want.length, to - from, p.name());
        float[] got = new float[want.length];
        ByteBuffer.wrap(file, (int) (dataStart + from), (int) (to - from))
            .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
        assertArrayEquals(want, got, p.name());
      }
      JsonObject manifest = JsonParser.parseString(
          Files.readString(dir.resolve(Checkpoint.MANIFEST_FILE))).getAsJsonObject();
      assertEquals(model.fingerprint(), manifest.get("fingerprint").getAsString());
      assertEquals(c, Checkpoint.configFromJson(manifest.getAsJsonObject("config")));
      assertEquals("test", manifest.get("howMade").getAsString());
      assertTrue(manifest.has("created"));
    }
  }

  /**
   * Key features, write gate and output gate round-trip; a manifest without them means ELU + 1,
   * RATIONAL, STATIC.
   */
  @Test
  void keyFeaturesAndGatesRoundTripAndOldManifestsMeanTheOriginals() {
    ModelConfig signed = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withKeyFeatures(KeyFeatures.SIGNED).withWriteGate(WriteGate.LOGISTIC)
        .withOutputGate(OutputGate.CONTENT);
    assertEquals(signed, Checkpoint.configFromJson(Checkpoint.configToJson(signed)));
    ModelConfig input = signed.withOutputGate(OutputGate.CONTENT_INPUT);
    assertEquals(input, Checkpoint.configFromJson(Checkpoint.configToJson(input)));
    JsonObject old = Checkpoint.configToJson(ModelConfig.tiny());
    old.remove("keyFeatures");
    old.remove("writeGate");
    old.remove("outputGate");
    assertEquals(KeyFeatures.ELU_PLUS_ONE, Checkpoint.configFromJson(old).keyFeatures());
    assertEquals(WriteGate.RATIONAL, Checkpoint.configFromJson(old).writeGate());
    assertEquals(OutputGate.STATIC, Checkpoint.configFromJson(old).outputGate());
  }

  /**
   * A CONTENT model started from a STATIC one (train --init-from) copies every tensor and adds the
   * content weights at 0: its first step computes what the source does.
   */
  @Test
  void aContentGateStartsFromAStaticModelWithZeroWeights(@TempDir Path dir) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED);
    try (InfiniModel source = InfiniModel.create(c, 12);
        ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
      Weights w = Weights.initFrom(c.withOutputGate(OutputGate.CONTENT), 99, source.weights(), m);
      assertEquals(source.weights().parameters().size() + c.layers(), w.parameters().size());
      for (Weights.Layer l : w.layers()) {
        assertEquals(0f, l.gateContent().abs().max().getFloat());
      }
      Checkpoint.save(w, dir, "test");
      try (InfiniModel loaded = InfiniModel.load(dir)) {
        assertEquals(OutputGate.CONTENT, loaded.config().outputGate());
        int[] text = InfiniModelTest.randomText(new java.util.SplittableRandom(4), 300);
        float[] want = source.absorb(source.newState(), text, true).logProbs();
        float[] got = loaded.absorb(loaded.newState(), text, true).logProbs();
        for (int i = 0; i < want.length; i++) {
          assertEquals(want[i], got[i], 1e-5f * (1 + Math.abs(want[i])), "score " + i);
        }
      }
    }
  }

  /**
   * A CONTENT_INPUT model started from a CONTENT one keeps the content weights and adds the input
   * weights at 0: its first step computes what the source does.
   */
  @Test
  void anInputGateStartsFromAContentModelKeepingItsWeights(@TempDir Path dir) {
    ModelConfig c = ModelConfig.tiny().withUpdateRule(UpdateRule.GATED)
        .withOutputGate(OutputGate.CONTENT);
    try (InfiniModel source = InfiniModel.create(c, 12);
        ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
      java.util.SplittableRandom rng = new java.util.SplittableRandom(5);
      for (Weights.Layer l : source.weights().layers()) {
        float[] w = new float[Math.toIntExact(l.gateContent().size())];
        for (int i = 0; i < w.length; i++) {
          w[i] = (float) rng.nextGaussian();
        }
        l.gateContent().set(java.nio.FloatBuffer.wrap(w));
      }
      Weights w = Weights.initFrom(c.withOutputGate(OutputGate.CONTENT_INPUT), 99,
          source.weights(), m);
      assertEquals(source.weights().parameters().size() + c.layers(), w.parameters().size());
      for (int i = 0; i < c.layers(); i++) {
        assertEquals(0f, w.layer(i).gateInput().abs().max().getFloat());
        assertArrayEquals(source.weights().layer(i).gateContent().toFloatArray(),
            w.layer(i).gateContent().toFloatArray());
      }
      Checkpoint.save(w, dir, "test");
      try (InfiniModel loaded = InfiniModel.load(dir)) {
        assertEquals(OutputGate.CONTENT_INPUT, loaded.config().outputGate());
        int[] text = InfiniModelTest.randomText(new java.util.SplittableRandom(4), 300);
        float[] want = source.absorb(source.newState(), text, true).logProbs();
        float[] got = loaded.absorb(loaded.newState(), text, true).logProbs();
        for (int i = 0; i < want.length; i++) {
          assertEquals(want[i], got[i], 1e-5f * (1 + Math.abs(want[i])), "score " + i);
        }
      }
    }
  }

  @Test
  void aTamperedWeightsFileIsRejected(@TempDir Path dir) throws IOException {
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 3)) {
      model.save(dir, "test");
    }
    Path file = dir.resolve(Checkpoint.WEIGHTS_FILE);
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 1] ^= 0x01; // flip a bit of the last float
    Files.write(file, bytes);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> InfiniModel.load(dir));
    assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
  }

  @Test
  void defaultModelFallsBackToSeededRandomWeights() {
    try (InfiniModel d = InfiniModel.loadDefault()) {
      if (!InfiniModel.isTrainedDefaultAvailable()) {
        try (InfiniModel r = InfiniModel.create(ModelConfig.defaults(), InfiniModel.DEFAULT_SEED)) {
          assertEquals(r.fingerprint(), d.fingerprint());
        }
      }
      assertEquals(d.config().layers() * d.config().heads(), d.newState().memories().size());
    }
  }
}
