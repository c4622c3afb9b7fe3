package io.infinistreams.training.eval;

import io.infinistreams.model.ModelConfig;
import io.infinistreams.model.WriteGate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The markdown summary of an eval run: one table per measurement, from what has been measured. */
final class Markdown {
  private Markdown() {}

  /**
   * Every page of an eval run, file name to markdown: {@code summary.md} (the header, a list of the
   * pages and every measurement) and one page per measurement that was run ({@code passkey.md},
   * {@code needle.md}, ..., {@code chat.md}, {@code lm.md}, {@code surprise.md}), each with the
   * same header (the command, the model and its fingerprints), so that each stands alone.
   */
  static Map<String, String> pages(Map<String, Object> s) {
    Map<String, String> sections = sections(s);
    String header = header(s);
    StringBuilder summary = new StringBuilder(header);
    if (!sections.isEmpty()) {
      summary.append("Pages: ");
      summary.append(
          String.join(
              ", ", sections.keySet().stream().map(n -> "[" + n + "](" + n + ".md)").toList()));
      summary.append(".\n\n");
    }
    sections.values().forEach(summary::append);
    Map<String, String> pages = new LinkedHashMap<>();
    pages.put("summary.md", summary.toString());
    sections.forEach((name, text) -> pages.put(name + ".md", header + text));
    return pages;
  }

  /** The markdown of {@code summary.md}: every measurement, after the header. */
  static String summary(Map<String, Object> s) {
    return pages(s).get("summary.md");
  }

  @SuppressWarnings("unchecked")
  private static String header(Map<String, Object> s) {
    StringBuilder md = new StringBuilder();
    md.append("# Evaluation results\n\n");
    md.append("Command: `").append(s.get("command")).append("`  \n");
    md.append("Model: ").append(s.get("model"));
    if (s.get("checkpointStep") instanceof Number step) {
      md.append(" (a training checkpoint, at step ").append(step.longValue()).append(")");
    }
    if (s.get("localHeads") instanceof List<?> heads) {
      md.append(" with heads ")
          .append(String.join(", ", (List<String>) heads))
          .append(
              " forced to the local branch (an ablation; the fingerprint is of the edited"
                  + " weights)");
    }
    if (s.get("writeTopK") instanceof Number k) {
      md.append(" with each head writing only a segment's ")
          .append(k.intValue())
          .append(" tokens of largest write logit");
    }
    if (s.get("readEps") instanceof Number eps) {
      md.append(s.get("writeTopK") instanceof Number ? " and" : " with")
          .append(" the read's eps set to ")
          .append(eps.floatValue());
    }
    if (s.get("writeTopK") instanceof Number || s.get("readEps") instanceof Number) {
      md.append(" (the fingerprint is of that configuration)");
    }
    if (s.get("writeThreshold") instanceof Number || s.get("writeScale") instanceof Number) {
      float x = s.get("writeThreshold") instanceof Number n ? n.floatValue() : 0f;
      float k = s.get("writeScale") instanceof Number n ? n.floatValue() : 1f;
      md.append(" with every head's write logit x replaced by ")
          .append(k)
          .append(" (x - ")
          .append(x)
          .append(")")
          .append(
              s.get("config") instanceof ModelConfig c && c.writeGate() == WriteGate.SPARSE
                  ? ", so that only a write logit above " + x + " writes"
                  : "")
          .append(" (an ablation; the fingerprint is of the edited weights)");
    }
    md.append(", fingerprint `").append(s.get("fingerprint")).append("`  \n");
    md.append(
            "Memory off: the same weights with every head's output gate forced to its local"
                + " branch, fingerprint `")
        .append(s.get("memoryOffFingerprint"))
        .append("`  \n");
    md.append("Config: `").append(s.get("config")).append("`\n\n");
    return md.toString();
  }

  /** Each measurement's markdown by page name, in the order of the summary; empty ones left out. */
  @SuppressWarnings("unchecked")
  private static Map<String, String> sections(Map<String, Object> s) {
    Map<String, String> out = new LinkedHashMap<>();
    StringBuilder md = new StringBuilder();
    for (String name : List.of("passkey", "passkey-baseline")) {
      if (s.get(name) instanceof Map<?, ?> r) {
        passkey(md, name, (Map<String, Object>) r, ((ModelConfig) s.get("config")).segmentLength());
      }
    }
    put(out, "passkey", md);
    if (s.get("prose") instanceof Map<?, ?> prose
        && !((List<String>) prose.get("parts")).isEmpty()) { // else only the LM read the prose
      String intro = proseIntro((Map<String, Object>) prose);
      if (prose.get("skipped") instanceof String) {
        out.put("retrieval", intro);
      }
      for (String name : RetrievalEval.TASKS) {
        if (!out.containsKey("retrieval") && s.get(name) instanceof Map<?, ?> r) {
          md = new StringBuilder(intro);
          retrieval(md, name, (Map<String, Object>) r);
          put(out, name, md);
        }
      }
    }
    md = new StringBuilder();
    if (s.get("chat") instanceof Map<?, ?> chat) {
      md.append("## Chat recall (reply contains the stated value)\n\n");
      md.append("| distance (tokens) | with memory | memory off |\n|---|---|---|\n");
      List<ChatRecallEval.Row> with = (List<ChatRecallEval.Row>) chat.get("memory");
      List<ChatRecallEval.Row> without = (List<ChatRecallEval.Row>) chat.get("memoryOff");
      for (int i = 0; i < with.size(); i++) {
        String off =
            without != null && i < without.size()
                ? String.format(Locale.ROOT, "%.0f%%", 100 * without.get(i).accuracy())
                : "not run";
        md.append(
            String.format(
                Locale.ROOT,
                "| %d | %.0f%% (%d) | %s |%n",
                with.get(i).distance(),
                100 * with.get(i).accuracy(),
                with.get(i).trials().size(),
                off));
      }
      md.append('\n');
    }
    put(out, "chat", md);
    md = new StringBuilder();
    if (s.containsKey("lm") || s.containsKey("lmProse")) {
      md.append("## Held-out language modelling (bits per byte)\n\n");
    }
    if (s.get("lm") instanceof Map<?, ?> lm) {
      LmEval.Result with = (LmEval.Result) lm.get("memory");
      LmEval.Result without = (LmEval.Result) lm.get("memoryOff");
      md.append("Corpus: ")
          .append(lm.get("corpus"))
          .append(", held-out tail from byte ")
          .append(lm.get("heldOutFrom"))
          .append(", ")
          .append(with.bytes())
          .append(" bytes scored as one stream.\n\n");
      md.append("| | all | first segment | after the first segment |\n|---|---|---|---|\n");
      md.append(
          String.format(
              Locale.ROOT,
              "| with memory | %.3f | %.3f | %.3f |%n",
              with.bitsPerByte(),
              with.firstSegmentBpb(),
              with.laterBpb()));
      md.append(
          String.format(
              Locale.ROOT,
              "| memory off | %.3f | %.3f | %.3f |%n%n",
              without.bitsPerByte(),
              without.firstSegmentBpb(),
              without.laterBpb()));
    } else if (s.get("lm") instanceof String skipped) {
      md.append(skipped).append("\n\n");
    }
    if (s.containsKey("lm")
        && s.get("prose") instanceof Map<?, ?> prose
        && prose.get("skipped") instanceof String why) {
      md.append("Held-out prose: not run: ").append(why).append("\n\n");
    }
    if (s.get("lmProse") instanceof List<?> rows && !rows.isEmpty()) {
      md.append(
          "Held-out prose: per corpus a span from the start of a paragraph drawn at a fixed"
              + " seed, scored as one stream:\n\n| corpus | bytes | with memory | memory off | with"
              + " memory, after the first segment | memory off, after the first segment |\n"
              + "|---|---|---|---|---|---|\n");
      for (EvalCommand.ProseLm r : (List<EvalCommand.ProseLm>) rows) {
        md.append(
            String.format(
                Locale.ROOT,
                "| %s | %d | %.3f | %.3f | %.3f | %.3f |%n",
                r.corpus(),
                r.memory().bytes(),
                r.memory().bitsPerByte(),
                r.memoryOff().bitsPerByte(),
                r.memory().laterBpb(),
                r.memoryOff().laterBpb()));
      }
      md.append('\n');
    }
    put(out, "lm", md);
    md = new StringBuilder();
    if (s.get("surprise") instanceof Map<?, ?> surprise) {
      surprise(md, (Map<String, Object>) surprise);
    }
    put(out, "surprise", md);
    md = new StringBuilder();
    if (s.get("writes") instanceof Map<?, ?> writes) {
      writes(md, (Map<String, Object>) writes);
    } else if (s.get("writes") instanceof String why) {
      md.append("## Write strength\n\n").append(why).append("\n\n");
    }
    put(out, "writes", md);
    return out;
  }

  private static void put(Map<String, String> out, String name, StringBuilder md) {
    if (md.length() > 0) {
      out.put(name, md.toString());
    }
  }

  @SuppressWarnings("unchecked")
  private static void writes(StringBuilder md, Map<String, Object> r) {
    md.append("## Write strength: how selectively the memory writes\n\n");
    md.append(
        String.format(
            Locale.ROOT,
            "Mean write strength beta (0..1) of the gated rule per layer and head, over %s"
                + " documents of %,d tokens of held-out prose of the %s task (%s phrasing, its"
                + " statements placed as in training): on the tokens of the answering statement's"
                + " value, on the rest of the statements, and on the prose around them. Every"
                + " write also erases a little of"
                + " what the head held"
                + " along its key, so a fact lasts only as long as the prose written after it stays"
                + " weak: selectivity is value / prose. Prose written is the share of the prose"
                + " tokens the head writes at all (beta above 0; under the logistic gate every"
                + " token writes a little).%n%n",
            r.get("trials"),
            (Integer) r.get("length"),
            r.getOrDefault("task", "needle"),
            r.getOrDefault("phrasing", "EVAL")));
    md.append(
        "| layer | head | value | statement | prose | selectivity | prose written |\n"
            + "|---|---|---|---|---|---|---|\n");
    for (WritesEval.Row row : (List<WritesEval.Row>) r.get("rows")) {
      md.append(
          String.format(
              Locale.ROOT,
              "| %d | %d | %.4f | %.4f | %.4f | %.1f | %.1f %% |%n",
              row.layer(),
              row.head(),
              row.value(),
              row.statement(),
              row.prose(),
              row.selectivity(),
              100 * row.proseWritten()));
    }
    md.append('\n');
  }

  @SuppressWarnings("unchecked")
  private static void surprise(StringBuilder md, Map<String, Object> r) {
    md.append("## Surprise: another kind of text among held-out prose\n\n");
    md.append(
        String.format(
            Locale.ROOT,
            "%s streams per row of %d events of about %d bytes of held-out prose; event %d is"
                + " replaced by the row's text, and its bits per byte (what the processor reports"
                + " as `surprise`) is compared with its two neighbours on each side. Apart: the"
                + " replacement is above all four (below all four for a repeat of an event at"
                + " least %d bytes earlier).%n%n",
            r.get("trials"),
            SurpriseEval.EVENTS,
            SurpriseEval.EVENT_BYTES,
            SurpriseEval.REPLACED + 1,
            SurpriseEval.REPEAT_DISTANCE));
    md.append(
        "| replacement | with memory: it / around it | apart | memory off: it / around it |"
            + " apart |\n|---|---|---|---|---|\n");
    List<SurpriseEval.Row> with = (List<SurpriseEval.Row>) r.get("memory");
    List<SurpriseEval.Row> without = (List<SurpriseEval.Row>) r.get("memoryOff");
    for (int i = 0; i < with.size(); i++) {
      SurpriseEval.Row a = with.get(i);
      SurpriseEval.Row b = without.get(i);
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %.3f / %.3f | %.0f%% | %.3f / %.3f | %.0f%% |%n",
              SURPRISE_TEXT.get(a.kind()),
              a.injectedBpb(),
              a.neighboursBpb(),
              100 * a.separated(),
              b.injectedBpb(),
              b.neighboursBpb(),
              100 * b.separated()));
    }
    md.append('\n');
  }

  private static final Map<SurpriseEval.Kind, String> SURPRISE_TEXT =
      Map.of(
          SurpriseEval.Kind.SHUFFLED, "its own bytes shuffled",
          SurpriseEval.Kind.LOG_LINES, "application log lines",
          SurpriseEval.Kind.REPEATED, "a copy of an earlier event");

  /** What each retrieval task asks, after "<task>: ". */
  private static final Map<String, String> TASK_TEXT =
      Map.of(
          "needle",
              "one value (a number, a word or a code) stated once in the prose; the question"
                  + " asks for it.",
          "multikey",
              "2 to 8 values with different labels stated in the prose; the question asks for"
                  + " the one at the depth.",
          "multikey-near",
              "2 to 8 values stated with the same sentence, their labels one word apart"
                  + " and their values one or two characters apart; the question asks for the one at the"
                  + " depth. A wrong answer that is another statement's value took a near copy.",
          "facts",
              "people move between six rooms (2 to 20 moves, bAbI task 1 in prose); the asked"
                  + " person's last move lies at the depth, their earlier moves before it; the question"
                  + " asks where they are.",
          "chat-facts",
              "a chat session of pasted prose turns in which the user states personal"
                  + " facts and changes some; the asked fact's last statement lies at the depth.");

  /** Lengths in GPT-2 tokens: bytes / {@value}, about right for English prose. */
  static final double BYTES_PER_GPT2_TOKEN = 4.0;

  /**
   * The introduction of the retrieval grids on held-out prose (each task's page starts with it),
   * or, if they were skipped, why.
   */
  private static String proseIntro(Map<String, Object> prose) {
    @SuppressWarnings("unchecked")
    List<String> parts = (List<String>) prose.get("parts");
    StringBuilder md = new StringBuilder("## Retrieval from held-out prose\n\n");
    if (prose.get("skipped") instanceof String why) {
      return md.append("Not run (")
          .append(String.join(", ", parts))
          .append("): ")
          .append(why)
          .append("\n\n")
          .toString();
    }
    md.append("Each task hides statements in held-out prose (")
        .append(prose.get("source"))
        .append(
            "TRAIN".equals(prose.get("phrasing"))
                ? " of the documents; corpora that training never reads) with templates and"
                    + " values of the training share (`--phrasing TRAIN`), the words training"
                    + " reads. A trial absorbs the"
                : " of the documents; corpora that training never reads) with templates and"
                    + " values of the evaluation share, which training never uses. A trial"
                    + " absorbs the")
        .append(" document, then generates greedily after the question (up to ")
        .append(RetrievalEval.MAX_NEW_TOKENS)
        .append(
            " tokens, stopping at EOS); it is correct"
                + " when the first word generated is the value. Memory off: the same documents, every"
                + " head's output gate forced to its local branch. Depth: where the answering"
                + " statement lies in the document. Lengths are in the model's tokens (bytes);"
                + " \"GPT-2\" is the length / ")
        .append(String.format(Locale.ROOT, "%.0f", BYTES_PER_GPT2_TOKEN))
        .append(", at about 4 bytes per GPT-2 token for English");
    if (prose.get("bytesPerWord") instanceof Double w) {
      md.append(
          String.format(
              Locale.ROOT,
              " (this prose has %.2f bytes per whitespace-separated"
                  + " word, so about %.1f bytes per GPT-2 token at 0.75 words per token)",
              w,
              0.75 * w));
    }
    md.append(".\n\n");
    return md.toString();
  }

  @SuppressWarnings("unchecked")
  private static void retrieval(StringBuilder md, String name, Map<String, Object> r) {
    List<Integer> lengths = (List<Integer>) r.get("lengths");
    List<Double> depths = (List<Double>) r.get("depths");
    int n = (Integer) r.get("trialsPerCell");
    List<RetrievalEval.Row> rows = (List<RetrievalEval.Row>) r.get("rows");
    md.append("### ")
        .append(name)
        .append("\n\n")
        .append(Character.toUpperCase(TASK_TEXT.get(name).charAt(0)))
        .append(TASK_TEXT.get(name).substring(1))
        .append(' ')
        .append(n)
        .append(" trials per cell, seed ")
        .append(r.get("seed"))
        .append(".\n\n");
    for (boolean memory : new boolean[] {true, false}) {
      md.append(memory ? "Memory on, accuracy (%):" : "Memory off, accuracy (%):")
          .append("\n\n| length | GPT-2 |");
      depthColumns(md, depths);
      md.append(" mean |")
          .append(memory ? " seconds |" : "")
          .append("\n|---|---|")
          .append("---|".repeat(depths.size() + (memory ? 2 : 1)))
          .append('\n');
      for (int length : lengths) {
        md.append("| ")
            .append(EvalCommand.tokens(length))
            .append(" | ")
            .append(EvalCommand.tokens((int) Math.round(length / BYTES_PER_GPT2_TOKEN)))
            .append(" |");
        RetrievalEval.Row row =
            rows.stream().filter(x -> x.length() == length).findFirst().orElse(null);
        if (row == null) {
          md.append(" not run |".repeat(depths.size() + (memory ? 2 : 1))).append('\n');
          continue;
        }
        for (int v : row.correct(depths.size(), memory)) {
          md.append(' ').append(Math.round(100.0 * v / n)).append(" |");
        }
        md.append(String.format(Locale.ROOT, " %.1f |", 100 * row.accuracy(memory)));
        md.append(memory ? String.format(Locale.ROOT, " %.0f |", row.seconds()) : "").append('\n');
      }
      md.append('\n');
    }
    boolean one = name.equals("needle"); // one statement: no other value to take
    md.append(
        "Mean distance from the answering statement to the question, and the share of"
            + " trials answered with another statement's value (a distractor):\n\n| length | mean"
            + " distance (tokens) | distractor, memory on | distractor, memory off |\n"
            + "|---|---|---|---|\n");
    for (RetrievalEval.Row row : rows) {
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f | %s | %s |%n",
              EvalCommand.tokens(row.length()),
              row.meanDistance(),
              one ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * row.distractorShare(true)),
              one ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * row.distractorShare(false))));
    }
    md.append('\n');
  }

  private static String share(int[] passAndCount) {
    return passAndCount[1] == 0
        ? "no trial"
        : String.format(
            Locale.ROOT,
            "%d/%d (%.0f%%)",
            passAndCount[0],
            passAndCount[1],
            100.0 * passAndCount[0] / passAndCount[1]);
  }

  @SuppressWarnings("unchecked")
  private static void passkey(
      StringBuilder md, String name, Map<String, Object> r, int segmentLength) {
    List<Integer> lengths = (List<Integer>) r.get("lengths");
    List<Double> depths = (List<Double>) r.get("depths");
    int n = (Integer) r.get("trialsPerCell");
    List<PasskeyEval.Row> rows = (List<PasskeyEval.Row>) r.get("rows");
    md.append("## ")
        .append(
            name.equals("passkey")
                ? "Passkey retrieval, memory on"
                : "Passkey retrieval, memory off (every output gate forced to the local branch)")
        .append("\n\n");
    md.append("Exact-key accuracy (%), ")
        .append(n)
        .append(" trials per cell, seed ")
        .append(r.get("seed"))
        .append(".\n\n| length |");
    depthColumns(md, depths);
    md.append(" mean | seconds |\n|---|").append("---|".repeat(depths.size() + 2)).append('\n');
    for (int length : lengths) {
      md.append("| ").append(EvalCommand.tokens(length)).append(" |");
      PasskeyEval.Row row =
          rows.stream().filter(x -> x.length() == length).findFirst().orElse(null);
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
      md.append(
          String.format(
              Locale.ROOT, " %.1f | %.0f |%n", 100.0 * sum / (n * depths.size()), row.seconds()));
    }
    md.append(
        "\nBy where the question ends in its segment (each trial's document is shorter than "
            + "its row's length by 0..N-1 tokens): wholly in the open segment, or partly compressed "
            + "into memory with the answer near the start of a segment; and, of the first, the "
            + "trials whose answer a segment boundary cuts (one of the key's digits is predicted by "
            + "the first position of a new segment, the digits before it already in memory):\n\n"
            + "| length | question in the open segment | question partly in memory | answer cut by a "
            + "boundary |\n|---|---|---|---|\n");
    for (PasskeyEval.Row row : rows) {
      int[] in = row.byQuestionPlacement(true);
      int[] out = row.byQuestionPlacement(false);
      md.append("| ")
          .append(EvalCommand.tokens(row.length()))
          .append(" | ")
          .append(share(in))
          .append(" | ")
          .append(share(out))
          .append(" | ")
          .append(share(row.byAnswerCut(segmentLength)))
          .append(" |\n");
    }
    md.append(
        "\nBy where the needle lies among the segments when the question is asked (the "
            + "needle is ~60 tokens, so about half of all needles cross a segment boundary):\n\n"
            + "| length |");
    for (PasskeyEval.NeedlePlacement p : PasskeyEval.NeedlePlacement.values()) {
      md.append(' ').append(p.label()).append(" |");
    }
    md.append("\n|---|")
        .append("---|".repeat(PasskeyEval.NeedlePlacement.values().length))
        .append('\n');
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (PasskeyEval.NeedlePlacement p : PasskeyEval.NeedlePlacement.values()) {
        md.append(' ').append(share(row.byNeedlePlacement(p))).append(" |");
      }
      md.append('\n');
    }
    md.append(
        "\nNeedles from memory into the open segment, by what of the needle memory holds "
            + "(the boundary of the open segment cuts the needle there; the rest, and the overlap's "
            + "tokens before the boundary, local attention sees):\n\n| length |");
    for (PasskeyEval.IntoOpenCut c : PasskeyEval.IntoOpenCut.values()) {
      md.append(' ').append(c.label()).append(" |");
    }
    md.append("\n|---|")
        .append("---|".repeat(PasskeyEval.IntoOpenCut.values().length))
        .append('\n');
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (PasskeyEval.IntoOpenCut c : PasskeyEval.IntoOpenCut.values()) {
        md.append(' ').append(share(row.byIntoOpenCut(c, segmentLength))).append(" |");
      }
      md.append('\n');
    }
    md.append(
        "\nTeacher-forced NLL of each answer digit (nats; chance ln 10 = 2.30), mean over "
            + "the row's trials:\n\n| length | 1st | 2nd | 3rd | 4th | 5th |\n"
            + "|---|---|---|---|---|---|\n");
    for (PasskeyEval.Row row : rows) {
      md.append("| ").append(EvalCommand.tokens(row.length())).append(" |");
      for (double v : row.meanDigitNll()) {
        md.append(String.format(Locale.ROOT, " %.2f |", v));
      }
      md.append('\n');
    }
    md.append(
        "\nTeacher-forced NLL of the whole key (nats, the sum over its five digits, so "
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
