package io.infinistreams.app.ops;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.state.HostInfo;

/**
 * Where a session request is answered, and how keys travel in URLs.
 *
 * <p>A stream's state lives on the instance whose active task holds the key's partition. {@link
 * #decide} turns Kafka Streams' {@link KeyQueryMetadata} for the key into a {@link Route}: answer
 * here, forward to the owner (the operations server proxies the request), or answer 503 because no
 * instance owns the key right now (a rebalance) or because a forwarded request reached an instance
 * that does not own the key either (ownership moved while the request was in flight; forwarding
 * again could loop).
 */
public final class KeyRouting {
  private KeyRouting() {}

  /** What to do with a request for one key. */
  public enum Kind {
    /** This instance owns the key: read the local stores. */
    LOCAL,
    /** Another instance owns the key: forward the request to {@link Route#owner()}. */
    REMOTE,
    /** No instance owns the key right now (rebalancing, or metadata not yet known). */
    UNAVAILABLE,
    /** A request forwarded here for a key this instance does not own. */
    MISROUTED
  }

  /**
   * A routing decision.
   *
   * @param owner the owner's advertised address; null when unknown
   * @param partition the key's partition; -1 when unknown
   */
  public record Route(Kind kind, HostInfo owner, int partition) {}

  /**
   * The route for a key with metadata {@code metadata} on the instance advertised as {@code self}.
   *
   * @param forwarded whether the request was already forwarded by another instance
   */
  public static Route decide(KeyQueryMetadata metadata, HostInfo self, boolean forwarded) {
    if (metadata == null
        || metadata.equals(KeyQueryMetadata.NOT_AVAILABLE)
        || metadata.activeHost() == null
        || metadata.activeHost().equals(HostInfo.unavailable())) {
      return new Route(Kind.UNAVAILABLE, null, metadata == null ? -1 : metadata.partition());
    }
    HostInfo owner = metadata.activeHost();
    if (owner.equals(self)) {
      return new Route(Kind.LOCAL, owner, metadata.partition());
    }
    return new Route(forwarded ? Kind.MISROUTED : Kind.REMOTE, owner, metadata.partition());
  }

  /**
   * Decodes a percent-encoded UTF-8 path segment. Strict: {@code +} stays {@code +}, every {@code
   * %} must start two hex digits, and the bytes must be valid UTF-8.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static String decodeKey(String encoded) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(encoded.length());
    for (int i = 0; i < encoded.length(); i++) {
      char c = encoded.charAt(i);
      if (c == '%') {
        if (i + 2 >= encoded.length()
            || Character.digit(encoded.charAt(i + 1), 16) < 0
            || Character.digit(encoded.charAt(i + 2), 16) < 0) {
          throw new IllegalArgumentException(
              "bad percent-encoding at character " + i + " of the key");
        }
        bytes.write(
            Character.digit(encoded.charAt(i + 1), 16) * 16
                + Character.digit(encoded.charAt(i + 2), 16));
        i += 2;
      } else if (c < 0x80) {
        bytes.write(c);
      } else {
        // a raw non-ASCII character (a client that did not encode): take its UTF-8
        byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        if (Character.isHighSurrogate(c) && i + 1 < encoded.length()) {
          utf8 = encoded.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
          i++;
        }
        bytes.write(utf8, 0, utf8.length);
      }
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("the key is not valid UTF-8 once percent-decoded", e);
    }
  }

  /** Percent-encodes {@code key}'s UTF-8 for a path segment: all but A-Z a-z 0-9 - . _ ~. */
  public static String encodeKey(String key) {
    StringBuilder sb = new StringBuilder();
    for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~') {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)));
        sb.append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  /** {@code host:port} (IPv6 hosts in brackets) as a HostInfo. */
  public static HostInfo parseHostPort(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("not host:port: " + hostPort);
    }
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new HostInfo(host, Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** {@code scheme://host:port} ({@link Tls#scheme}), IPv6 hosts in brackets. */
  public static String baseUrl(String scheme, HostInfo host) {
    String h = host.host();
    if (h.contains(":") && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    return scheme + "://" + h + ":" + host.port();
  }
}
