package io.infinistreams.app.cli;

/**
 * A failure the user can fix (bad input, nothing listening, a timeout): printed without a stack
 * trace.
 */
public final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CliException(String message) {
    super(message);
  }

  public CliException(String message, Throwable cause) {
    super(message, cause);
  }
}
