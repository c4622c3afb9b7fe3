package io.infinistreams.schemas.serde;

import io.infinistreams.schemas.EventKind;
import io.infinistreams.schemas.Generation;
import io.infinistreams.schemas.InputEvent;
import io.infinistreams.schemas.OutputEvent;
import io.infinistreams.schemas.PromptFormat;
import io.infinistreams.schemas.SessionSnapshot;
import io.infinistreams.schemas.StoredHeadMemory;
import io.infinistreams.schemas.StoredSession;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * Avro 1.12 refuses to instantiate classes that are not explicitly trusted (its {@link
 * ClassSecurityValidator}), and that includes our own generated records when decoding or filling a
 * record-typed default. {@link #install()} adds the generated classes of this module to Avro's
 * global trusted set, keeping whatever was trusted before. Idempotent and thread-safe.
 *
 * <p>Every {@link AvroSerde} installs it when its class loads; code that builds records with
 * defaults before creating any serde (e.g. {@code InputEvent.newBuilder()...build()} leaving {@code
 * generation} unset) must call it first.
 */
public final class TrustedClasses {
  private static boolean installed;

  private TrustedClasses() {}

  public static synchronized void install() {
    if (installed) {
      return;
    }
    ClassSecurityValidator.ClassSecurityPredicate ours =
        ClassSecurityValidator.builder()
            .add(InputEvent.class)
            .add(OutputEvent.class)
            .add(StoredSession.class)
            .add(StoredHeadMemory.class)
            .add(SessionSnapshot.class)
            .add(Generation.class)
            .add(EventKind.class)
            .add(PromptFormat.class)
            .build();
    ClassSecurityValidator.setGlobal(
        ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), ours));
    installed = true;
  }
}
