package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
      JsonObject header =
          JsonParser.parseString(new String(file, 8, (int) headerLen, StandardCharsets.UTF_8))
              .getAsJsonObject();
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
            .order(ByteOrder.LITTLE_ENDIAN)
            .asFloatBuffer()
            .get(got);
        assertArrayEquals(want, got, p.name());
      }
      JsonObject manifest =
          JsonParser.parseString(Files.readString(dir.resolve(Checkpoint.MANIFEST_FILE)))
              .getAsJsonObject();
      assertEquals(model.fingerprint(), manifest.get("fingerprint").getAsString());
      assertEquals(c, Checkpoint.configFromJson(manifest.getAsJsonObject("config")));
      assertEquals("test", manifest.get("howMade").getAsString());
      assertTrue(manifest.has("created"));
    }
  }

  /** A manifest written for a variant this version does not implement is refused by name. */
  @Test
  void aConfigWithAnUnknownOrMissingFieldIsRefused() {
    JsonObject extra = Checkpoint.configToJson(ModelConfig.tiny());
    extra.addProperty("outputGate", "CONTENT");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Checkpoint.configFromJson(extra));
    assertTrue(e.getMessage().contains("unknown [outputGate]"), e.getMessage());
    JsonObject missing = Checkpoint.configToJson(ModelConfig.tiny());
    missing.remove("overlap");
    e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.configFromJson(missing));
    assertTrue(e.getMessage().contains("missing [overlap]"), e.getMessage());
    assertEquals(
        ModelConfig.defaults(),
        Checkpoint.configFromJson(Checkpoint.configToJson(ModelConfig.defaults())));
  }

  /** The feature map is kept; a manifest without one (older checkpoints) means ELU_PLUS_ONE. */
  @Test
  void theFeatureMapRoundTripsAndItsAbsenceMeansThePapers() {
    ModelConfig signed = ModelConfig.tiny().withFeatureMap(FeatureMap.IDENTITY);
    JsonObject o = Checkpoint.configToJson(signed);
    assertEquals("IDENTITY", o.get("featureMap").getAsString());
    assertEquals(signed, Checkpoint.configFromJson(o));
    assertFalse(Checkpoint.configToJson(ModelConfig.tiny()).has("featureMap"));
    JsonObject bad = Checkpoint.configToJson(ModelConfig.tiny());
    bad.addProperty("featureMap", "RELU");
    assertThrows(IllegalArgumentException.class, () -> Checkpoint.configFromJson(bad));
  }

  /** A top-k write is kept; a manifest without one (older checkpoints) means every token writes. */
  @Test
  void theTopKWriteRoundTripsAndItsAbsenceMeansEveryToken() {
    ModelConfig topK = ModelConfig.tiny().withWriteTopK(3);
    JsonObject o = Checkpoint.configToJson(topK);
    assertEquals(3, o.get("writeTopK").getAsInt());
    assertEquals(topK, Checkpoint.configFromJson(o));
    assertFalse(Checkpoint.configToJson(ModelConfig.tiny()).has("writeTopK"));
    assertNotEquals(topK.canonical(), ModelConfig.tiny().canonical());
  }

  /** A sparse write gate is kept; a manifest without one (older checkpoints) means LOGISTIC. */
  @Test
  void theWriteGateRoundTripsAndItsAbsenceMeansLogistic() {
    ModelConfig sparse = ModelConfig.tiny().withWriteGate(WriteGate.SPARSE);
    JsonObject o = Checkpoint.configToJson(sparse);
    assertEquals("SPARSE", o.get("writeGate").getAsString());
    assertEquals(sparse, Checkpoint.configFromJson(o));
    assertFalse(Checkpoint.configToJson(ModelConfig.tiny()).has("writeGate"));
    assertEquals(WriteGate.LOGISTIC, ModelConfig.tiny().writeGate());
    assertNotEquals(sparse.canonical(), ModelConfig.tiny().canonical());
  }

  /** A read eps is kept; a manifest without one (older checkpoints) means the default. */
  @Test
  void theReadEpsRoundTripsAndItsAbsenceMeansTheDefault() {
    ModelConfig damped = ModelConfig.tiny().withReadEps(0.01f);
    JsonObject o = Checkpoint.configToJson(damped);
    assertEquals(0.01f, o.get("readEps").getAsFloat());
    assertEquals(damped, Checkpoint.configFromJson(o));
    assertFalse(Checkpoint.configToJson(ModelConfig.tiny()).has("readEps"));
    assertEquals(ModelConfig.DEFAULT_READ_EPS, ModelConfig.tiny().readEps());
    assertNotEquals(damped.canonical(), ModelConfig.tiny().canonical());
  }

  /**
   * The fingerprint covers the configuration: the same weights under another overlap (a different
   * function of the same parameters) have another fingerprint, and a manifest whose config was
   * edited is refused.
   */
  @Test
  void theFingerprintCoversTheConfiguration(@TempDir Path dir) throws IOException {
    ModelConfig c = ModelConfig.tiny();
    try (InfiniModel model = InfiniModel.create(c, 3);
        InfiniModel other = InfiniModel.create(c.withOverlap(c.overlap() + 1), 3)) {
      assertArrayEquals(
          model.weights().embed().toFloatArray(),
          other.weights().embed().toFloatArray(),
          "same seed, same shapes: the same weights");
      assertNotEquals(model.fingerprint(), other.fingerprint());
      model.save(dir, "test");
    }
    Path manifest = dir.resolve(Checkpoint.MANIFEST_FILE);
    String text = Files.readString(manifest);
    String edited =
        text.replace("\"overlap\": " + c.overlap(), "\"overlap\": " + (c.overlap() + 1));
    assertNotEquals(text, edited);
    Files.writeString(manifest, edited);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> InfiniModel.load(dir));
    assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
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
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> InfiniModel.load(dir));
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
