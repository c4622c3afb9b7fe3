package io.infinistreams.training.eval;

import io.infinistreams.model.ModelConfig;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The markdown summary of an eval run: one table per measurement, from what has been measured. */
final class Markdown {
  private Markdown() {}

  @SuppressWarnings("unchecked")
  static String summary(Map<String, Object> s) {
    StringBuilder md = new StringBuilder();
    md.append("# Evaluation results\n\n");
    md.append("Command: `").append(s.get("command")).append("`  \n");
    md.append("Model: ").append(s.get("model"));
    if (s.get("localHeads") instanceof List<?> heads) {
      md.append(" with heads ").append(String.join(", ", (List<String>) heads))
          .append(" forced to the local branch (an ablation; the fingerprint is of the edited"
              + " weights)");
    }
    md.append(", fingerprint `").append(s.get("fingerprint")).append("`  \n");
    md.append("Memory off: the same weights with every head's output gate forced to its local"
        + " branch, fingerprint `").append(s.get("memoryOffFingerprint")).append("`  \n");
    md.append("Config: `").append(s.get("config")).append("`\n\n");
    for (String name : List.of("passkey", "passkey-baseline")) {
      if (s.get(name) instanceof Map<?, ?> r) {
        passkey(md, name, (Map<String, Object>) r, ((ModelConfig) s.get("config")).segmentLength());
      }
    }
    if (s.get("chat") instanceof Map<?, ?> chat) {
      md.append("## Chat recall (reply contains the stated value)\n\n");
      md.append("| distance (tokens) | with memory | memory off |\n|---|---|---|\n");
      List<ChatRecallEval.Row> with = (List<ChatRecallEval.Row>) chat.get("memory");
      List<ChatRecallEval.Row> without = (List<ChatRecallEval.Row>) chat.get("memoryOff");
      for (int i = 0; i < with.size(); i++) {
        String off = without != null && i < without.size()
            ? String.format(Locale.ROOT, "%.0f%%", 100 * without.get(i).accuracy())
            : "not run";
        md.append(String.format(Locale.ROOT, "| %d | %.0f%% (%d) | %s |%n",
            with.get(i).distance(), 100 * with.get(i).accuracy(), with.get(i).trials().size(),
            off));
      }
      md.append('\n');
    }
    if (s.get("lm") instanceof Map<?, ?> lm) {
      LmEval.Result with = (LmEval.Result) lm.get("memory");
      LmEval.Result without = (LmEval.Result) lm.get("memoryOff");
      md.append("## Held-out language modelling (bits per byte)\n\n");
      md.append("Corpus: ").append(lm.get("corpus")).append(", held-out tail from byte ")
          .append(lm.get("heldOutFrom")).append(", ").append(with.bytes())
          .append(" bytes scored as one stream.\n\n");
      md.append("| | all | first segment | after the first segment |\n|---|---|---|---|\n");
      md.append(String.format(Locale.ROOT, "| with memory | %.3f | %.3f | %.3f |%n",
          with.bitsPerByte(), with.firstSegmentBpb(), with.laterBpb()));
      md.append(String.format(Locale.ROOT, "| memory off | %.3f | %.3f | %.3f |%n%n",
          without.bitsPerByte(), without.firstSegmentBpb(), without.laterBpb()));
    } else if (s.get("lm") instanceof String skipped) {
      md.append("## Held-out language modelling\n\n").append(skipped).append("\n\n");
    }
    return md.toString();
  }

  private static String share(int[] passAndCount) {
    return passAndCount[1] == 0 ? "no trial"
        : String.format(Locale.ROOT, "%d/%d (%.0f%%)", passAndCount[0], passAndCount[1],
            100.0 * passAndCount[0] / passAndCount[1]);
  }

  @SuppressWarnings("unchecked")
  private static void passkey(StringBuilder md, String name, Map<String, Object> r,
      int segmentLength) {
    List<Integer> lengths = (List<Integer>) r.get("lengths");
    List<Double> depths = (List<Double>) r.get("depths");
    int n = (Integer) r.get("trialsPerCell");
    List<PasskeyEval.Row> rows = (List<PasskeyEval.Row>) r.get("rows");
    md.append("## ").append(name.equals("passkey") ? "Passkey retrieval, memory on"
        : "Passkey retrieval, memory off (every output gate forced to the local branch)")
        .append("\n\n");
    md.append("Exact-key accuracy (%), ").append(n).append(" trials per cell, seed ")
        .append(r.get("seed")).append(".\n\n| length |");
    depthColumns(md, depths);
    md.append(" mean | seconds |\n|---|").append("---|".repeat(depths.size() + 2)).append('\n');
    for (int length : lengths) {
      md.append("| ").append(EvalCommand.tokens(length)).append(" |");
      PasskeyEval.Row row = rows.stream().filter(x -> x.length() == length).findFirst()
          .orElse(null);
      if (row == null) {
        md.append(" not run |".repeat(depths.size() + 2)).append('\n');
        continue;
      }
      int[] p = row.passes(depths.size());
      int sum = 0;
      for (int v : p) {
        md.append(' ').append(Math.round(100.0 * v / n)).append(" |");
        sum += v;
      }
      md.append(String.format(Locale.ROOT, " %.1f | %.0f |%n", 100.0 * sum / (n * depths.size()),
          row.seconds()));
    }
    md.append("\nBy where the question ends in its segment (each trial's document is shorter than "
        + "its row's length by 0..N-1 tokens): wholly in the open segment, or partly compressed "
        + "into memory with the answer near the start of a segment; and, of the first, the "
        + "trials whose answer a segment boundary cuts (one of the key's digits is predicted by "
        + "the first position of a new segment, the digits before it already in memory):\n\n"
        + "| length | question in the open segment | question partly in memory | answer cut by a "
        + "boundary |\n|---|---|---|---|\n");
    for (PasskeyEval.Row row : rows) {
      int[] in = row.byQuestionPlacement(true);
      int[] out = row.byQuestionPlacement(false);
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" | ")
          .append(share(in)).append(" | ").append(share(out)).append(" | ")
          .append(share(row.byAnswerCut(segmentLength))).append(" |\n");
    }
    md.append("\nBy where the needle lies among the segments when the question is asked (the "
        + "needle is ~60 tokens, so about half of all needles cross a segment boundary):\n\n"
        + "| length |");
    for (PasskeyEval.NeedlePlacement p : PasskeyEval.NeedlePlacement.values()) {
      md.append(' ').append(p.label()).append(" |");
    }
    md.append("\n|---|").append("---|".repeat(PasskeyEval.NeedlePlacement.values().length))
        .append('\n');
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (PasskeyEval.NeedlePlacement p : PasskeyEval.NeedlePlacement.values()) {
        md.append(' ').append(share(row.byNeedlePlacement(p))).append(" |");
      }
      md.append('\n');
    }
    md.append("\nNeedles from memory into the open segment, by what of the needle memory holds "
        + "(the boundary of the open segment cuts the needle there; the rest, and the overlap's "
        + "tokens before the boundary, local attention sees):\n\n| length |");
    for (PasskeyEval.IntoOpenCut c : PasskeyEval.IntoOpenCut.values()) {
      md.append(' ').append(c.label()).append(" |");
    }
    md.append("\n|---|").append("---|".repeat(PasskeyEval.IntoOpenCut.values().length))
        .append('\n');
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (PasskeyEval.IntoOpenCut c : PasskeyEval.IntoOpenCut.values()) {
        md.append(' ').append(share(row.byIntoOpenCut(c, segmentLength))).append(" |");
      }
      md.append('\n');
    }
    md.append("\nTeacher-forced NLL of each answer digit (nats; chance ln 10 = 2.30), mean over "
        + "the row's trials:\n\n| length | 1st | 2nd | 3rd | 4th | 5th |\n"
        + "|---|---|---|---|---|---|\n");
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (double v : row.meanDigitNll()) {
        md.append(String.format(Locale.ROOT, " %.2f |", v));
      }
      md.append('\n');
    }
    md.append("\nTeacher-forced NLL of the whole key (nats, the sum over its five digits, so "
        + "-ln P(key); chance 11.5), mean per cell: it shows a key growing uncertain before "
        + "exact-key accuracy loses it:\n\n| length |");
    depthColumns(md, depths);
    md.append("\n|---|").append("---|".repeat(depths.size())).append('\n');
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (double v : row.meanKeyNllByDepth(depths.size())) {
        md.append(Double.isNaN(v) ? " - |" : String.format(Locale.ROOT, " %.3f |", v));
      }
      md.append('\n');
    }
    md.append('\n');
  }

  /** The depth columns of a header row: " 0% | 10% | ...". */
  private static void depthColumns(StringBuilder md, List<Double> depths) {
    for (double d : depths) {
      md.append(' ').append(Math.round(d * 100)).append("% |");
    }
  }
}
