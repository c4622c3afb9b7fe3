package io.infinistreams.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One model, several threads, several streams: each result equals the single-threaded one. */
class ConcurrencyTest {

  @Test
  void concurrentCallsOnSharedWeightsGiveTheSequentialResults() throws Exception {
    try (InfiniModel model = InfiniModel.create(ModelConfig.tiny(), 21)) {
      int streams = 4;
      List<int[]> texts = new ArrayList<>();
      List<StreamState> sequential = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        int[] text = InfiniModelTest.randomText(new SplittableRandom(100 + i), 700);
        texts.add(text);
        sequential.add(run(model, text));
      }
      ExecutorService pool = Executors.newFixedThreadPool(streams);
      try {
        List<Future<StreamState>> futures = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
          int[] text = texts.get(i);
          futures.add(pool.submit(() -> run(model, text)));
        }
        for (int i = 0; i < streams; i++) {
          InfiniModelTest.assertSameState(sequential.get(i), futures.get(i).get());
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(streams, sequential.size());
    }
  }

  private static StreamState run(InfiniModel model, int[] text) {
    StreamState s = model.newState();
    for (int from = 0; from < text.length; from += 100) {
      s = model.absorb(s, java.util.Arrays.copyOfRange(text, from, from + 100), true).state();
    }
    return model
        .generate(s, new int[] {ByteTokenizer.USER}, new GenerationSettings(40, 0.8f, 5, false))
        .state();
  }
}
