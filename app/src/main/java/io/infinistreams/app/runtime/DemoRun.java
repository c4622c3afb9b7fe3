package io.infinistreams.app.runtime;

import io.infinistreams.app.client.DocumentFeeder;
import io.infinistreams.app.client.Progress;
import io.infinistreams.app.client.StreamClient;
import io.infinistreams.model.ByteTokenizer;
import io.infinistreams.model.GenerateResult;
import io.infinistreams.model.GenerationSettings;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One run of {@code infini demo} through Kafka: a {@link DemoDocument}'s context streamed as APPEND
 * events into one stream of a running {@link InfiniApp}, then a GENERATE of its question in RAW
 * format; reports the reply, whether it is right, the end-to-end throughput and the stream's stored
 * bytes.
 */
public final class DemoRun {

  /**
   * @param lengthTokens context plus question, in tokens (= UTF-8 bytes)
   * @param depth where the answer sits in the document, 0 (start) .. 1 (end)
   * @param seed draws the document
   * @param streamId the stream (record key)
   * @param maxNewTokens tokens generated for the answer
   * @param timeout how long to wait for the answer, from the first event sent
   */
  public record Params(
      int lengthTokens,
      double depth,
      long seed,
      String streamId,
      int maxNewTokens,
      Duration timeout) {}

  /**
   * What a run measured.
   *
   * @param expected the right answer
   * @param needleOffset byte offset of the answering statement in the streamed context
   * @param answer the reply (the text generated after the question)
   * @param correct whether the reply is right ({@link DemoDocument#correct})
   * @param whyWrong {@link DemoDocument#whyWrong} of the reply, "" when right
   * @param events APPEND events plus the GENERATE
   * @param tokens context plus question tokens sent
   */
  public record Result(
      String expected,
      int needleOffset,
      String answer,
      boolean correct,
      String whyWrong,
      long events,
      long tokens,
      double absorbSeconds,
      double totalSeconds,
      StateInspector.StateSize state,
      long tokensInContext,
      long segmentsInMemory) {

    /** Tokens through Kafka, the processor and back, per second of wall time. */
    public double tokensPerSecond() {
      return tokens / totalSeconds;
    }
  }

  private DemoRun() {}

  /**
   * What the model alone (no broker, no stores) answers to each run's document and question: the
   * reference the answers through Kafka must equal. The documents are absorbed in lockstep ({@link
   * InfiniModel#absorbAll}), then each is asked as the processor asks it (greedy, the question as a
   * RAW prompt).
   */
  public static List<String> inProcessAnswers(InfiniModel model, DemoTask task, List<Params> runs) {
    List<StreamState> starts = new ArrayList<>();
    List<int[]> texts = new ArrayList<>();
    List<int[]> prompts = new ArrayList<>();
    for (Params p : runs) {
      DemoDocument doc = task.document(p.lengthTokens(), p.depth(), p.seed());
      starts.add(model.newState());
      texts.add(ByteTokenizer.encode(doc.context()));
      prompts.add(ByteTokenizer.encode(doc.prompt()));
    }
    List<StreamState> states = model.absorbAll(starts, texts);
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      GenerateResult g =
          model.generate(
              states.get(i), prompts.get(i), GenerationSettings.greedy(runs.get(i).maxNewTokens()));
      answers.add(ByteTokenizer.decode(g.generated()));
    }
    return answers;
  }

  /**
   * The first seq to send on {@code client}'s stream so that it starts from an empty context: 1 for
   * a new stream; a stream with history (a real cluster, an earlier demo) is sent a RESET first
   * (and {@code err} told so).
   */
  static long freshStart(StreamClient client, PrintWriter err) {
    long lastSeq = client.lastSeq();
    if (lastSeq > 0) {
      err.printf("stream '%s' has earlier events; sending RESET first%n", client.key());
      client.reset(++lastSeq);
    }
    return lastSeq + 1;
  }

  /**
   * Waits for the output of {@code seq} as {@link StreamClient#awaitOutput(long, Duration,
   * java.util.function.Consumer)} does, showing on {@code err} the progress of the {@code
   * totalTokens} tokens appended from {@code firstSeq} on, and handing each of their APPEND outputs
   * to {@code onAppend}.
   */
  static OutputEvent awaitShowingAbsorb(
      StreamClient client,
      long seq,
      long firstSeq,
      long totalTokens,
      Duration timeout,
      PrintWriter err,
      Consumer<OutputEvent> onAppend)
      throws TimeoutException, StreamClient.RejectedException {
    long[] absorbed = {0};
    try (Progress bar = Progress.start("absorb", totalTokens, Progress.Unit.TOKENS, err)) {
      return client.awaitOutput(
          seq,
          timeout,
          out -> {
            if (out.getKind() == EventKind.APPEND && out.getSeq() >= firstSeq) {
              absorbed[0] += out.getTokensThisEvent();
              bar.update(absorbed[0]);
              onAppend.accept(out);
            }
          });
    }
  }

  /**
   * Streams {@code doc} against {@code app} as {@code params} says; progress goes to {@code err}.
   */
  public static Result run(InfiniApp app, Params params, DemoDocument doc, PrintWriter err)
      throws IOException, InterruptedException, TimeoutException, StreamClient.RejectedException {
    byte[] text = doc.context().getBytes(StandardCharsets.UTF_8);
    try (StreamClient client =
        StreamClient.connect(app.config(), app.bootstrapServers(), params.streamId())) {
      long firstSeq = freshStart(client, err);
      long t0 = System.nanoTime();
      DocumentFeeder.Fed fed =
          DocumentFeeder.feed(
              client,
              new ByteArrayInputStream(text),
              app.settings().maxEventTextBytes(),
              firstSeq,
              acked -> {});
      long askSeq = fed.lastSeq() + 1;
      client.generate(
          askSeq,
          doc.prompt(),
          StreamClient.generation(params.maxNewTokens(), 0f, 0L, PromptFormat.RAW));
      client.flush();

      long[] absorbEnd = {0};
      OutputEvent reply =
          awaitShowingAbsorb(
              client,
              askSeq,
              firstSeq,
              text.length,
              params.timeout(),
              err,
              out -> {
                if (out.getSeq() == fed.lastSeq()) {
                  absorbEnd[0] = System.nanoTime();
                }
              });
      long t1 = System.nanoTime();
      String answer = reply.getGeneratedText() == null ? "" : reply.getGeneratedText();
      boolean correct = doc.correct(answer);
      StateInspector.StateSize state =
          StateInspector.of(app.streams(), app.settings(), params.streamId());
      long tokens = text.length + doc.prompt().getBytes(StandardCharsets.UTF_8).length;
      double absorbSeconds = ((absorbEnd[0] == 0 ? t1 : absorbEnd[0]) - t0) / 1e9;
      return new Result(
          doc.expected(),
          doc.needleOffset(),
          answer,
          correct,
          correct ? "" : doc.whyWrong(answer),
          fed.events() + 1,
          tokens,
          absorbSeconds,
          (t1 - t0) / 1e9,
          state,
          reply.getTokensTotal(),
          reply.getSegmentsTotal());
    }
  }
}
