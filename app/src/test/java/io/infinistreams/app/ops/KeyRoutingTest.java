package io.infinistreams.app.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.app.config.AppConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.state.HostInfo;
import org.junit.jupiter.api.Test;

/** Routing decisions, key encoding, health mapping and the advertised address. */
class KeyRoutingTest {
  private static final HostInfo SELF = new HostInfo("10.0.0.1", 8480);
  private static final HostInfo OTHER = new HostInfo("10.0.0.2", 8480);

  @Test
  void aKeyOwnedHereIsReadLocally() {
    KeyRouting.Route r =
        KeyRouting.decide(new KeyQueryMetadata(SELF, Set.of(OTHER), 2), SELF, false);
    assertEquals(KeyRouting.Kind.LOCAL, r.kind());
    assertEquals(2, r.partition());
    // a forwarded request for a key owned here is answered here too
    assertEquals(
        KeyRouting.Kind.LOCAL,
        KeyRouting.decide(new KeyQueryMetadata(SELF, Set.of(), 0), SELF, true).kind());
  }

  @Test
  void aKeyOwnedElsewhereIsForwardedOnceOnly() {
    KeyQueryMetadata elsewhere = new KeyQueryMetadata(OTHER, Set.of(SELF), 1);
    KeyRouting.Route r = KeyRouting.decide(elsewhere, SELF, false);
    assertEquals(KeyRouting.Kind.REMOTE, r.kind());
    assertEquals(OTHER, r.owner());
    // a standby copy here does not answer: only the active owner's state is current
    assertEquals(KeyRouting.Kind.MISROUTED, KeyRouting.decide(elsewhere, SELF, true).kind());
  }

  @Test
  void noOwnerMeansUnavailable() {
    assertEquals(
        KeyRouting.Kind.UNAVAILABLE,
        KeyRouting.decide(KeyQueryMetadata.NOT_AVAILABLE, SELF, false).kind());
    assertEquals(
        KeyRouting.Kind.UNAVAILABLE,
        KeyRouting.decide(new KeyQueryMetadata(HostInfo.unavailable(), Set.of(), 0), SELF, false)
            .kind());
    assertEquals(KeyRouting.Kind.UNAVAILABLE, KeyRouting.decide(null, SELF, false).kind());
  }

  @Test
  void keysRoundTripThroughPercentEncoding() {
    for (String key : new String[] {"alice", "a/b c", "Grüße", "東京", "😀+%", "~._-"}) {
      String encoded = KeyRouting.encodeKey(key);
      assertTrue(encoded.matches("[A-Za-z0-9%._~-]+"), encoded);
      assertEquals(key, KeyRouting.decodeKey(encoded));
    }
    assertEquals("a%2Fb%20c", KeyRouting.encodeKey("a/b c"));
    assertEquals("a+b", KeyRouting.decodeKey("a+b"), "'+' is not a space in a path");
    assertEquals("ü", KeyRouting.decodeKey("%c3%bc"), "lower-case hex");
    assertEquals("ü", KeyRouting.decodeKey("ü"), "unencoded non-ASCII is taken as is");
  }

  @Test
  void badEncodingsAreRefused() {
    for (String bad : new String[] {"%", "%4", "%zz", "a%2", "%ff", "%c3"}) {
      assertThrows(IllegalArgumentException.class, () -> KeyRouting.decodeKey(bad), bad);
    }
  }

  @Test
  void hostPortParsing() {
    assertEquals(new HostInfo("h", 1), KeyRouting.parseHostPort("h:1"));
    assertEquals(new HostInfo("::1", 8480), KeyRouting.parseHostPort("[::1]:8480"));
    assertEquals("http://[::1]:8480", KeyRouting.baseUrl("http", new HostInfo("::1", 8480)));
    assertEquals("http://h:1", KeyRouting.baseUrl("http", new HostInfo("h", 1)));
  }

  @Test
  void livenessFailsOnlyForAFailedOrStoppingInstance() {
    assertTrue(OperationsServer.live(null));
    for (KafkaStreams.State s : KafkaStreams.State.values()) {
      boolean expected =
          s == KafkaStreams.State.CREATED
              || s == KafkaStreams.State.REBALANCING
              || s == KafkaStreams.State.RUNNING;
      assertEquals(expected, OperationsServer.live(s), s.name());
    }
  }

  @Test
  void advertisedAddressComesFromConfigurationOrTheBind() {
    AppConfig defaults = AppConfig.defaults();
    assertEquals(
        new HostInfo("127.0.0.1", 40000),
        OperationsServer.advertisedAddress(defaults, "127.0.0.1", 40000));
    AppConfig advertised =
        AppConfig.builder().override("http.advertised.address", "ops-1.example:9000").build();
    assertEquals(
        new HostInfo("ops-1.example", 9000),
        OperationsServer.advertisedAddress(advertised, "0.0.0.0", 8480));
    HostInfo wildcard = OperationsServer.advertisedAddress(defaults, "0.0.0.0", 8480);
    assertEquals(8480, wildcard.port());
    assertFalse(wildcard.host().equals("0.0.0.0"), "a wildcard bind advertises the host name");
    AppConfig streams =
        AppConfig.builder().override("streams.application.server", "other:7000").build();
    assertEquals(
        new HostInfo("other", 7000),
        OperationsServer.advertisedAddress(streams, "127.0.0.1", 8480));
  }

  @Test
  void normsOfStoredFloats() {
    ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    buf.putFloat(3f).putFloat(-4f).flip();
    assertEquals(5.0, SessionQueries.l2Norm(buf), 1e-12);
    assertEquals(0.0, SessionQueries.l2Norm(ByteBuffer.allocate(0)));
  }

  @Test
  void storeOrderIsUtf8ByteOrder() {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 9F 98 80) by bytes,
    // although Java's String order (UTF-16 units) puts the surrogate pair first
    String fullwidth = "\uFF5E";
    String emoji = "😀";
    assertTrue(SessionQueries.KEY_ORDER.compare(fullwidth, emoji) < 0);
    assertTrue(fullwidth.compareTo(emoji) > 0);
  }
}
