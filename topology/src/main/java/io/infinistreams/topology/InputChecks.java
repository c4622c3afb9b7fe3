package io.infinistreams.topology;

import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.errors.SerializationException;

/**
 * The checks of an input record that need no state: its key, its value's decoding (strict: see
 * {@link io.infinistreams.schemas.serde.AvroSerde}) and the event's own fields.
 */
final class InputChecks {
  private final TopologySettings settings;

  InputChecks(TopologySettings settings) {
    this.settings = settings;
  }

  String streamId(byte[] key) throws Rejected {
    if (key == null) {
      throw new Rejected(DeadLetterReason.NULL_KEY, "record has no key");
    }
    if (key.length > settings.maxStreamIdBytes()) {
      throw new Rejected(
          DeadLetterReason.INVALID_KEY,
          "key of " + key.length + " bytes, limit " + settings.maxStreamIdBytes());
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(key))
          .toString();
    } catch (CharacterCodingException e) {
      throw new Rejected(DeadLetterReason.INVALID_KEY, "key is not valid UTF-8");
    }
  }

  InputEvent decode(byte[] value) throws Rejected {
    if (value == null) {
      throw new Rejected(DeadLetterReason.UNDECODABLE, "record has no value");
    }
    try {
      return InfiniTopology.INPUT_SERDE.deserialize(null, value);
    } catch (SerializationException e) {
      throw new Rejected(DeadLetterReason.UNDECODABLE, e.getMessage());
    }
  }

  void validate(InputEvent event) throws Rejected {
    if (event.getKind() == null || event.getKind() == EventKind.UNKNOWN) {
      throw new Rejected(DeadLetterReason.UNKNOWN_KIND, "kind " + event.getKind());
    }
    if (event.getSeq() < 0) {
      throw new Rejected(DeadLetterReason.INVALID_SEQUENCE, "seq " + event.getSeq() + " < 0");
    }
    int textBytes = utf8Length(event.getText());
    if (textBytes > settings.maxEventTextBytes()) {
      throw new Rejected(
          DeadLetterReason.TEXT_TOO_LARGE,
          "text of " + textBytes + " bytes, limit " + settings.maxEventTextBytes());
    }
    if (event.getKind() == EventKind.GENERATE) {
      Generation g = event.getGeneration();
      if (g.getMaxNewTokens() < 0 || g.getMaxNewTokens() > settings.maxNewTokensLimit()) {
        throw new Rejected(
            DeadLetterReason.INVALID_SETTINGS,
            "maxNewTokens " + g.getMaxNewTokens() + " outside 0.." + settings.maxNewTokensLimit());
      }
      float t = g.getTemperature();
      if (!(t >= 0f) || Float.isInfinite(t)) {
        throw new Rejected(
            DeadLetterReason.INVALID_SETTINGS, "temperature " + t + " is not finite and >= 0");
      }
    }
  }

  private static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
