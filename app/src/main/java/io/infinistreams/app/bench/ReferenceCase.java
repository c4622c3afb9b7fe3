package io.infinistreams.app.bench;

import io.infinistreams.model.AbsorbResult;
import io.infinistreams.model.HeadMemory;
import io.infinistreams.model.InfiniModel;
import io.infinistreams.model.StreamState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A reference case: what this model computes for a text, written for the PyTorch reference to
 * recompute ({@code model/reference/infini_reference.py check DIR}). {@link #write} absorbs the
 * tokens into a new stream in calls of {@code chunk} tokens with per-token log-probabilities and
 * writes, in {@code DIR}:
 *
 * <ul>
 *   <li>{@code checkpoint/}: the model ({@code manifest.json}, {@code model.safetensors});
 *   <li>{@code case.json}: {@code format} ({@link #FORMAT}), {@code fingerprint}, {@code config}
 *       (the canonical line), {@code checkpoint} (the folder's name), {@code chunk}, {@code tokens}
 *       (the ids absorbed), {@code logProbs} (natural log, one per token, null for NaN) and {@code
 *       state}: the counters {@code tokensAbsorbed} and {@code segmentsAbsorbed}, the {@code open}
 *       segment, the {@code context} and every (layer, head)'s memory as {@code {layer, head,
 *       updates, m (K x V row-major), z (K)}}.
 * </ul>
 *
 * Floats are written with {@link Float#toString}, which reads back to the same fp32 value.
 */
final class ReferenceCase {
  static final String FORMAT = "infini-streams-reference-case/1";
  static final String FILE = "case.json";
  static final String CHECKPOINT = "checkpoint";

  private ReferenceCase() {}

  /** Absorbs {@code tokens} into a new stream and writes the case into {@code dir}. */
  static StreamState write(InfiniModel model, int[] tokens, int chunk, Path dir, String howMade) {
    StreamState state = model.newState();
    float[] logProbs = new float[tokens.length];
    for (int from = 0; from < tokens.length; from += chunk) {
      int[] piece = Arrays.copyOfRange(tokens, from, Math.min(tokens.length, from + chunk));
      AbsorbResult r = model.absorb(state, piece, true);
      System.arraycopy(r.logProbs(), 0, logProbs, from, piece.length);
      state = r.state();
    }
    try {
      Files.createDirectories(dir);
      model.save(dir.resolve(CHECKPOINT), howMade);
      Files.writeString(
          dir.resolve(FILE), json(model, tokens, chunk, logProbs, state), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the reference case to " + dir, e);
    }
    return state;
  }

  static String json(
      InfiniModel model, int[] tokens, int chunk, float[] logProbs, StreamState state) {
    StringBuilder b = new StringBuilder(1 << 16);
    b.append("{\n  \"format\": \"").append(FORMAT).append("\",\n");
    b.append("  \"fingerprint\": \"").append(model.fingerprint()).append("\",\n");
    b.append("  \"config\": \"").append(model.config().canonical()).append("\",\n");
    b.append("  \"checkpoint\": \"").append(CHECKPOINT).append("\",\n");
    b.append("  \"chunk\": ").append(chunk).append(",\n");
    b.append("  \"tokens\": ");
    ints(b, tokens);
    b.append(",\n  \"logProbs\": ");
    floats(b, logProbs);
    b.append(",\n  \"state\": {\n");
    b.append("    \"tokensAbsorbed\": ").append(state.tokensAbsorbed()).append(",\n");
    b.append("    \"segmentsAbsorbed\": ").append(state.segmentsAbsorbed()).append(",\n");
    b.append("    \"open\": ");
    ints(b, state.openTokens());
    b.append(",\n    \"context\": ");
    ints(b, state.contextTokens());
    b.append(",\n    \"memories\": [");
    for (int l = 0; l < state.layers(); l++) {
      for (int h = 0; h < state.heads(); h++) {
        HeadMemory m = state.memory(l, h);
        b.append(l + h == 0 ? "\n" : ",\n");
        b.append("      {\"layer\": ").append(l).append(", \"head\": ").append(h);
        b.append(", \"updates\": ").append(m.updates()).append(", \"m\": ");
        floats(b, m.m());
        b.append(", \"z\": ");
        floats(b, m.z());
        b.append('}');
      }
    }
    b.append("\n    ]\n  }\n}\n");
    return b.toString();
  }

  private static void ints(StringBuilder b, int[] values) {
    b.append('[');
    for (int i = 0; i < values.length; i++) {
      b.append(i == 0 ? "" : ", ").append(values[i]);
    }
    b.append(']');
  }

  private static void floats(StringBuilder b, float[] values) {
    b.append('[');
    for (int i = 0; i < values.length; i++) {
      b.append(i == 0 ? "" : ", ");
      float v = values[i];
      b.append(Float.isFinite(v) ? Float.toString(v) : "null");
    }
    b.append(']');
  }
}
