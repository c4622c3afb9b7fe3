package io.infinistreams.tasks.prose;

import io.infinistreams.tasks.prose.Values.Kind;
import java.util.List;
import java.util.Random;

/**
 * Labels of needles: what a value is the value of. A label is a classic ("the pass key", "the
 * special magic number", ...) or composed from a word list in one of three forms:
 *
 * <pre>
 * MODIFIER_FIRST  the blue door code            (modifier, object, kind)
 * KIND_FIRST      the password for the north gate
 * POSSESSIVE      Maria's locker PIN            (person, object, kind)
 * </pre>
 *
 * <p>The kind decides the values a label takes (a "number" takes digits, a "password" a word or a
 * code). Classics, modifiers, objects and persons are split by {@link Phrasing}, so train and eval
 * labels never coincide; the kinds are shared.
 */
public final class Labels {
  private Labels() {}

  /** How a composed label is worded; CLASSIC for the fixed ones. */
  public enum Form {
    CLASSIC,
    MODIFIER_FIRST,
    KIND_FIRST,
    POSSESSIVE
  }

  /**
   * A label.
   *
   * @param text as it appears in a sentence, e.g. "the blue door code"
   * @param form how it is worded
   * @param first the modifier or person (empty for a classic)
   * @param object the object (empty for a classic)
   * @param kind the kind word ("code", "number", ...; empty for a classic)
   * @param values the value kinds it takes
   */
  public record Label(
      String text, Form form, String first, String object, String kind, List<Kind> values) {}

  private record KindWord(String word, List<Kind> values) {}

  /** Fixed labels, each with the value kinds it takes. */
  public static final List<Label> CLASSICS =
      List.of(
          classic("the pass key", Kind.DIGITS, Kind.WORD, Kind.CODE),
          classic("the special magic number", Kind.DIGITS),
          classic("the secret word", Kind.WORD),
          classic("the vault number", Kind.DIGITS),
          classic("the access code", Kind.DIGITS, Kind.CODE),
          classic("the magic word", Kind.WORD),
          classic("the launch code", Kind.DIGITS, Kind.CODE),
          classic("the ticket number", Kind.DIGITS),
          classic("the wifi password", Kind.WORD, Kind.CODE),
          classic("the reference number", Kind.DIGITS),
          classic("the serial number", Kind.DIGITS, Kind.CODE),
          classic("the confirmation code", Kind.DIGITS, Kind.CODE));

  public static final List<String> MODIFIERS =
      List.of(
          "blue", "red", "green", "yellow", "white", "black", "grey", "north", "south", "east",
          "west", "upper", "lower", "front", "back", "side", "main", "old", "new", "spare", "inner",
          "outer", "small", "large");

  public static final List<String> OBJECTS =
      List.of(
          "door",
          "gate",
          "locker",
          "safe",
          "vault",
          "garage",
          "cellar",
          "shed",
          "archive",
          "mailbox",
          "cabinet",
          "server",
          "laptop",
          "storeroom",
          "studio",
          "warehouse",
          "boathouse",
          "attic",
          "workshop",
          "printer",
          "alarm");

  public static final List<String> PERSONS =
      List.of(
          "Maria", "Tom", "Aisha", "Ben", "Chen", "Dmitri", "Elena", "Femi", "Grace", "Hugo",
          "Ines", "Jonas", "Kofi", "Lena", "Mateo");

  private static final List<KindWord> KINDS =
      List.of(
          new KindWord("code", List.of(Kind.DIGITS, Kind.CODE)),
          new KindWord("number", List.of(Kind.DIGITS)),
          new KindWord("password", List.of(Kind.WORD, Kind.CODE)),
          new KindWord("PIN", List.of(Kind.DIGITS)),
          new KindWord("combination", List.of(Kind.DIGITS)),
          new KindWord("key", List.of(Kind.DIGITS, Kind.CODE)));

  private static Label classic(String text, Kind... values) {
    return new Label(text, Form.CLASSIC, "", "", "", List.of(values));
  }

  /** Probability that {@link #random} returns a classic label. */
  static final double CLASSIC_SHARE = 0.3;

  /** A random label of the {@code phrasing} share: a classic or a composed one. */
  public static Label random(Random rng, Phrasing phrasing) {
    if (rng.nextDouble() < CLASSIC_SHARE) {
      return Phrasing.pick(rng, phrasing.of(CLASSICS));
    }
    return composed(rng, phrasing);
  }

  /** A random composed label (never a classic) of the {@code phrasing} share. */
  public static Label composed(Random rng, Phrasing phrasing) {
    Form form = Form.values()[1 + rng.nextInt(3)];
    String first = Phrasing.pick(rng, phrasing.of(form == Form.POSSESSIVE ? PERSONS : MODIFIERS));
    String object = Phrasing.pick(rng, phrasing.of(OBJECTS));
    KindWord kind = KINDS.get(rng.nextInt(KINDS.size()));
    return make(form, first, object, kind.word(), kind.values());
  }

  /**
   * A composed label one word away from {@code label}: same form and kind, and either the
   * modifier/person or the object replaced by another of the same share ("the blue door code" and
   * "the red door code"). Never equal to {@code label}.
   */
  public static Label oneWordOff(Random rng, Label label, Phrasing phrasing) {
    if (label.form() == Form.CLASSIC) {
      throw new IllegalArgumentException("a classic label has no word to change: " + label.text());
    }
    boolean changeFirst = rng.nextBoolean();
    List<String> pool =
        changeFirst
            ? phrasing.of(label.form() == Form.POSSESSIVE ? PERSONS : MODIFIERS)
            : phrasing.of(OBJECTS);
    String current = changeFirst ? label.first() : label.object();
    String other;
    do {
      other = Phrasing.pick(rng, pool);
    } while (other.equals(current));
    return changeFirst
        ? make(label.form(), other, label.object(), label.kind(), label.values())
        : make(label.form(), label.first(), other, label.kind(), label.values());
  }

  private static Label make(
      Form form, String first, String object, String kind, List<Kind> values) {
    String text =
        switch (form) {
          case MODIFIER_FIRST -> "the " + first + " " + object + " " + kind;
          case KIND_FIRST -> "the " + kind + " for the " + first + " " + object;
          case POSSESSIVE -> first + "'s " + object + " " + kind;
          case CLASSIC -> throw new IllegalArgumentException("not a composed form");
        };
    return new Label(text, form, first, object, kind, values);
  }
}
