package io.infinistreams.training;

import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

/** The command lines that made a result, as the user typed them. */
public final class CommandLines {
  private CommandLines() {}

  /**
   * The command as typed, for manifests and results: its name and its own arguments (picocli's
   * original arguments, without those of {@code infini-train} before it). {@code fallback} when the
   * command was not run through picocli.
   */
  public static String typed(CommandSpec spec, String fallback) {
    if (spec == null || spec.commandLine().getParseResult() == null) {
      return fallback;
    }
    List<String> args = spec.commandLine().getParseResult().originalArgs();
    if (spec.commandLine().getParent() != null) {
      args = args.subList(args.indexOf(spec.name()) + 1, args.size());
    }
    return spec.name() + (args.isEmpty() ? "" : " " + String.join(" ", args));
  }
}
