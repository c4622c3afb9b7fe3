package io.infinistreams.training.eval;

import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.tasks.ChatFacts;
import io.infinistreams.tasks.ChatRecallTask;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Chat recall against distance: a session opens with a fact turn ("My locker code is 4471, please
 * remember it."), small-talk turns follow until at least {@code distance} tokens separate the fact
 * from the question, then the user asks; a trial passes when the reply (greedy, up to 40 tokens or
 * EOS) contains the fact's value. Through {@link InfiniModel#absorb}/{@link InfiniModel#generate}.
 *
 * @param distances tokens between the end of the fact turn and the question, one row each
 * @param trials sessions per distance
 * @param seed seed of facts and small talk
 */
public record ChatRecallEval(List<Integer> distances, int trials, long seed) {

  /** One session. */
  public record Trial(
      int distance, int actualDistance, String kind, String value, String reply, boolean pass) {}

  /** One distance: its sessions. */
  public record Row(int distance, List<Trial> trials) {
    public double accuracy() {
      return trials.stream().filter(Trial::pass).count() / (double) trials.size();
    }
  }

  public List<Row> run(InfiniModel model, PrintStream progress) {
    List<Row> rows = new ArrayList<>();
    for (int distance : distances) {
      long t0 = System.nanoTime();
      List<Trial> out = new ArrayList<>();
      for (int i = 0; i < trials; i++) {
        Random rng = new Random(seed * 7919L + distance * 31L + i);
        ChatFacts.Fact fact = ChatFacts.fact(rng.nextInt(ChatFacts.kinds()), rng);
        StreamState s =
            model
                .absorb(
                    model.newState(),
                    ChatRecallTask.turn(fact.statement(), ChatFacts.ack(rng)),
                    false)
                .state();
        int gap = 0;
        List<int[]> talk = new ArrayList<>();
        while (gap < distance) {
          String[] t = ChatFacts.smallTalk(rng);
          int[] turn = ChatRecallTask.turn(t[0], t[1]);
          talk.add(turn);
          gap += turn.length;
        }
        int[] all = new int[gap];
        int p = 0;
        for (int[] t : talk) {
          System.arraycopy(t, 0, all, p, t.length);
          p += t.length;
        }
        s = model.absorb(s, all, false).state();
        int[] reply =
            model
                .generate(s, ByteTokenizer.chatTurn(fact.question()), GenerationSettings.greedy(40))
                .generated();
        String text = ByteTokenizer.decode(reply);
        out.add(
            new Trial(distance, gap, fact.kind(), fact.value(), text, text.contains(fact.value())));
      }
      Row row = new Row(distance, out);
      rows.add(row);
      progress.printf(
          "chat distance %d: %.0f%% of %d in %.0f s%n",
          distance, 100 * row.accuracy(), trials, (System.nanoTime() - t0) / 1e9);
      progress.flush();
    }
    return rows;
  }
}
