package io.infinistreams.training.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.StreamState;
import io.infinistreams.tasks.SyntheticText;
import io.infinistreams.tasks.prose.ProseSource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SurpriseEvalTest {
  private static InfiniModel model;
  private static ProseSource prose;

  @BeforeAll
  static void open() throws Exception {
    model = InfiniModel.create(ModelConfig.tiny(), 3);
    prose =
        ProseSource.fromText(
            "synthetic",
            new String(SyntheticText.corpus(1, 200_000, 0.05).bytes(), StandardCharsets.UTF_8));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void eventsAreConsecutiveCutsAfterSpaces() {
    List<byte[]> events = SurpriseEval.events(prose, new Random(1));
    assertEquals(SurpriseEval.EVENTS, events.size());
    for (byte[] e : events) {
      assertTrue(e.length >= SurpriseEval.EVENT_BYTES, "short event " + e.length);
      byte last = e[e.length - 1];
      assertTrue(last == ' ' || last == '\n', "event cut inside a word");
    }
  }

  @Test
  void replacementsAreWhatTheyClaim() {
    Random rng = new Random(2);
    List<byte[]> events = SurpriseEval.events(prose, rng);
    byte[] own = events.get(SurpriseEval.REPLACED);
    byte[] shuffled = SurpriseEval.replacement(SurpriseEval.Kind.SHUFFLED, events, rng);
    byte[] a = own.clone();
    byte[] b = shuffled.clone();
    Arrays.sort(a);
    Arrays.sort(b);
    assertArrayEquals(a, b, "the same bytes");
    assertNotEquals(
        new String(own, StandardCharsets.UTF_8), new String(shuffled, StandardCharsets.UTF_8));
    byte[] repeated = SurpriseEval.replacement(SurpriseEval.Kind.REPEATED, events, rng);
    int found = -1;
    for (int i = 0; i < SurpriseEval.REPLACED; i++) {
      found = Arrays.equals(events.get(i), repeated) ? i : found;
    }
    assertTrue(found >= 0, "a copy of an earlier event");
    int distance = 0;
    for (int i = found; i < SurpriseEval.REPLACED; i++) {
      distance += events.get(i).length;
    }
    assertTrue(distance >= SurpriseEval.REPEAT_DISTANCE, "only " + distance + " bytes back");
    String log =
        new String(
            SurpriseEval.replacement(SurpriseEval.Kind.LOG_LINES, events, rng),
            StandardCharsets.UTF_8);
    assertTrue(
        log.matches("(?s)(2026-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} [A-Z]+ .*\n)+ "), log);
  }

  /** The per-event numbers are the model's scores of exactly that event's bytes, in order. */
  @Test
  void eventScoresAreThoseOfTheStreamAbsorbedEventByEvent() {
    List<byte[]> events = new ArrayList<>(SurpriseEval.events(prose, new Random(4)).subList(0, 5));
    double[] bpb = SurpriseEval.eventBitsPerByte(model, events);
    StreamState s = model.newState();
    for (int i = 0; i < events.size(); i++) {
      int[] tokens = new int[events.get(i).length];
      for (int j = 0; j < tokens.length; j++) {
        tokens[j] = events.get(i)[j] & 0xFF;
      }
      AbsorbResult r = model.absorb(s, tokens, true);
      double nats = 0;
      for (float lp : r.logProbs()) {
        nats -= lp;
      }
      assertEquals(nats / tokens.length / Math.log(2), bpb[i], 1e-3, "event " + i);
      s = r.state();
    }
  }

  @Test
  void rowsCoverEveryKind() {
    List<SurpriseEval.Row> rows = SurpriseEval.run(model, prose, 2, 5);
    assertEquals(SurpriseEval.Kind.values().length, rows.size());
    for (SurpriseEval.Row r : rows) {
      assertEquals(2, r.trials());
      assertTrue(r.injectedBpb() > 0 && r.neighboursBpb() > 0, r.toString());
      assertTrue(r.separated() >= 0 && r.separated() <= 1, r.toString());
    }
  }
}
