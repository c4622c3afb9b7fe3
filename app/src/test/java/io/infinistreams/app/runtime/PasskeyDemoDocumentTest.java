package io.infinistreams.app.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.tasks.PasskeyDocument;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The document the demo streams: the standard passkey format, to the asked length. */
class PasskeyDemoDocumentTest {

  @Test
  void documentPlusQuestionIsExactlyTheAskedLengthInTokens() {
    for (int length : new int[] {400, 1000, 20_000, 1_000_000}) {
      PasskeyDocument doc = PasskeyDemo.passkeyDocument(length, 0.5, 42);
      int tokens =
          doc.document().getBytes(StandardCharsets.UTF_8).length
              + doc.question().getBytes(StandardCharsets.UTF_8).length;
      assertEquals(length, tokens);
    }
  }

  @Test
  void hasTheStandardIntroNeedleAndQuestion() {
    PasskeyDocument doc = PasskeyDemo.passkeyDocument(2000, 0.5, 7);
    String needle =
        "The pass key is " + doc.key() + ". Remember it. " + doc.key() + " is the pass key.";
    assertTrue(
        doc.document()
            .startsWith(
                "There is an important info hidden inside a lot of "
                    + "irrelevant text. Find it and memorize them. I will quiz you about the important "
                    + "information there."));
    assertTrue(doc.document().contains(needle));
    assertEquals(" What is the pass key? The pass key is", doc.question());
    assertTrue(
        doc.document()
            .contains(
                "The grass is green. The sky is blue. The sun is yellow. "
                    + "Here we go. There and back again."));
    assertEquals(
        1,
        doc.document().split(String.valueOf(doc.key()), -1).length - 2,
        "the key appears exactly twice, both in the needle");
  }

  @Test
  void keyComesFromTheSeedAndDepthMovesTheNeedle() {
    assertEquals(
        PasskeyDemo.passkeyDocument(2000, 0.5, 1).key(),
        PasskeyDemo.passkeyDocument(2000, 0.9, 1).key());
    PasskeyDocument early = PasskeyDemo.passkeyDocument(10_000, 0.0, 1);
    PasskeyDocument late = PasskeyDemo.passkeyDocument(10_000, 1.0, 1);
    assertTrue(early.needleOffset() < 300, "depth 0: right after the intro");
    assertTrue(late.needleOffset() > 9_000, "depth 1: right before the question");
  }
}
