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
import io.infinistreams.tasks.PasskeyDocument;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The passkey demo through Kafka: a passkey document streamed as APPEND events into one stream of a
 * running {@link InfiniApp}, then a GENERATE of the question in RAW format; reports the answer,
 * whether it is the key, the end-to-end throughput and the stream's stored bytes.
 */
public final class PasskeyDemo {

  /**
   * @param lengthTokens document plus question, in tokens (= ASCII bytes)
   * @param depth needle position in the filler, 0 (start) .. 1 (end)
   * @param seed draws the key
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

  /** What the demo measured. {@code answerKey} is empty when the reply holds no number. */
  public record Result(
      int key,
      int needleOffset,
      String answer,
      OptionalInt answerKey,
      long events,
      long tokens,
      double absorbSeconds,
      double totalSeconds,
      StateInspector.StateSize state,
      long tokensInContext,
      long segmentsInMemory) {

    public boolean correct() {
      return answerKey.isPresent() && answerKey.getAsInt() == key;
    }

    /** Tokens through Kafka, the processor and back, per second of wall time. */
    public double tokensPerSecond() {
      return tokens / totalSeconds;
    }
  }

  private static final Pattern NUMBER = Pattern.compile("\\d+");

  private PasskeyDemo() {}

  /** The document the demo streams, deterministic in {@code params}. */
  public static PasskeyDocument document(Params params) {
    int key = PasskeyDocument.randomKey(new Random(params.seed()));
    return PasskeyDocument.of(params.lengthTokens(), params.depth(), key);
  }

  /**
   * What the model alone (no broker, no stores) answers to each run's document and question: the
   * reference the answers through Kafka must equal. The documents are absorbed in lockstep ({@link
   * InfiniModel#absorbAll}), then each is asked as the processor asks it (greedy, the question as a
   * RAW prompt).
   */
  public static List<String> inProcessAnswers(InfiniModel model, List<Params> runs) {
    List<StreamState> starts = new ArrayList<>();
    List<int[]> texts = new ArrayList<>();
    for (Params p : runs) {
      starts.add(model.newState());
      texts.add(ByteTokenizer.encode(document(p).document()));
    }
    List<StreamState> states = model.absorbAll(starts, texts);
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      GenerateResult g =
          model.generate(
              states.get(i),
              ByteTokenizer.encode(document(runs.get(i)).question()),
              GenerationSettings.greedy(runs.get(i).maxNewTokens()));
      answers.add(ByteTokenizer.decode(g.generated()));
    }
    return answers;
  }

  /** Runs the demo against {@code app}; progress goes to {@code err}. */
  public static Result run(InfiniApp app, Params params, PrintWriter err)
      throws IOException, InterruptedException, TimeoutException, StreamClient.RejectedException {
    PasskeyDocument doc = document(params);
    byte[] text = doc.document().getBytes(StandardCharsets.UTF_8);
    try (StreamClient client =
        StreamClient.connect(app.config(), app.bootstrapServers(), params.streamId())) {
      long lastSeq = client.lastSeq();
      long t0 = System.nanoTime();
      if (lastSeq > 0) {
        // The stream has history (a real cluster, an earlier demo): start from an empty context.
        err.printf("stream '%s' has earlier events; sending RESET first%n", params.streamId());
        client.reset(++lastSeq);
      }
      long firstSeq = lastSeq + 1;
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
          doc.question(),
          StreamClient.generation(params.maxNewTokens(), 0f, 0L, PromptFormat.RAW));
      client.flush();

      long[] absorbed = {0};
      long[] absorbEnd = {0};
      OutputEvent reply;
      try (Progress bar = Progress.start("absorb", text.length, Progress.Unit.TOKENS, err)) {
        reply =
            client.awaitOutput(
                askSeq,
                params.timeout(),
                out -> {
                  if (out.getKind() == EventKind.APPEND && out.getSeq() >= firstSeq) {
                    absorbed[0] += out.getTokensThisEvent();
                    bar.update(absorbed[0]);
                    if (out.getSeq() == fed.lastSeq()) {
                      absorbEnd[0] = System.nanoTime();
                    }
                  }
                });
      }
      long t1 = System.nanoTime();
      String answer = reply.getGeneratedText() == null ? "" : reply.getGeneratedText();
      Matcher m = NUMBER.matcher(answer);
      OptionalInt answerKey = OptionalInt.empty();
      if (m.find() && m.group().length() <= 9) {
        answerKey = OptionalInt.of(Integer.parseInt(m.group()));
      }
      StateInspector.StateSize state =
          StateInspector.of(app.streams(), app.settings(), params.streamId());
      long tokens = text.length + doc.question().getBytes(StandardCharsets.UTF_8).length;
      double absorbSeconds = ((absorbEnd[0] == 0 ? t1 : absorbEnd[0]) - t0) / 1e9;
      return new Result(
          doc.key(),
          doc.needleOffset(),
          answer,
          answerKey,
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
