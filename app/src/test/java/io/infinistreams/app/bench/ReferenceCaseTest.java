package io.infinistreams.app.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.model.Weights;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code bench --dump} writes for the PyTorch reference's {@code check}. */
class ReferenceCaseTest {

  @TempDir Path dir;

  @Test
  void writesTheModelTheTokensTheLogProbsAndTheFinalState() throws IOException {
    ModelConfig c = ModelConfig.tiny().withShortConv(3);
    int[] tokens = new int[100];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 32 + (i * 7) % 95;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      InfiniModel model =
          InfiniModel.fromWeights(BenchCommand.randomTaps(Weights.init(c, 5, m), 5));
      StreamState state = ReferenceCase.write(model, tokens, 30, dir, "test");
      StreamState whole = model.absorb(model.newState(), tokens, false).state();
      assertEquals(whole, state, "absorbing in calls of 30 gives the state of one call");

      try (InfiniModel saved = InfiniModel.load(dir.resolve(ReferenceCase.CHECKPOINT))) {
        assertEquals(model.fingerprint(), saved.fingerprint());
      }
      JsonNode json = new ObjectMapper().readTree(dir.resolve(ReferenceCase.FILE).toFile());
      assertEquals(ReferenceCase.FORMAT, json.get("format").asText());
      assertEquals(model.fingerprint(), json.get("fingerprint").asText());
      assertEquals(c.canonical(), json.get("config").asText());
      assertEquals(30, json.get("chunk").asInt());
      assertEquals(tokens.length, json.get("tokens").size());
      assertEquals(tokens[99], json.get("tokens").get(99).asInt());
      JsonNode logProbs = json.get("logProbs");
      assertEquals(tokens.length, logProbs.size());
      for (JsonNode lp : logProbs) {
        assertTrue(lp.isNumber() && lp.asDouble() < 0, lp.toString());
      }
      JsonNode s = json.get("state");
      assertEquals(state.segmentsAbsorbed(), s.get("segmentsAbsorbed").asLong());
      assertEquals(state.tokensAbsorbed(), s.get("tokensAbsorbed").asLong());
      assertEquals(state.openLength(), s.get("open").size());
      assertEquals(c.overlap(), s.get("context").size());
      assertEquals(c.layers() * c.heads(), s.get("memories").size());
      JsonNode last = s.get("memories").get(c.layers() * c.heads() - 1);
      HeadMemory mem = state.memory(c.layers() - 1, c.heads() - 1);
      float[] read = new float[mem.m().length];
      for (int i = 0; i < read.length; i++) {
        read[i] = (float) last.get("m").get(i).asDouble();
      }
      assertArrayEquals(mem.m(), read, "floats read back bit for bit");
      assertEquals(c.dKey(), last.get("z").size());
    }
  }

  @Test
  void randomTapsAreNotTheIdentity() {
    ModelConfig c = ModelConfig.tiny().withShortConv(2);
    try (NDManager m = NDManager.newBaseManager()) {
      Weights fresh = Weights.init(c, 1, m);
      Weights drawn = BenchCommand.randomTaps(fresh, 1);
      float[] taps = drawn.layer(0).conv().toFloatArray();
      float[] identity = fresh.layer(0).conv().toFloatArray();
      int width = taps.length / 2;
      double lag1 = 0;
      for (int i = width; i < taps.length; i++) {
        lag1 += Math.abs(taps[i]);
        assertEquals(0f, identity[i]);
      }
      assertTrue(lag1 / width > 0.1, "lag 1 taps drawn away from 0: " + lag1 / width);
      assertNotEquals(fresh.fingerprint(), drawn.fingerprint());
      assertEquals(fresh.layer(0).wq(), drawn.layer(0).wq(), "other arrays are shared");
    }
  }
}
