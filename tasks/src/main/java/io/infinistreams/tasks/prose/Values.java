package io.infinistreams.tasks.prose;

import java.util.List;
import java.util.Random;

/**
 * Values a needle can state: digits (4 to 8, no leading zero), a common English word, or a short
 * code such as {@code k7-Qm2x}. Every value is one "word" for {@link RetrievalDocument#firstWord}:
 * letters and digits, with at most an inner hyphen. Word values are split by {@link Phrasing} like
 * the templates.
 */
public final class Values {
  private Values() {}

  /** What kind of value a label takes. */
  public enum Kind {
    DIGITS,
    WORD,
    CODE
  }

  /** Common nouns, colours and animals (none of them a label word). */
  public static final List<String> WORDS =
      List.of(
          "falcon",
          "otter",
          "badger",
          "heron",
          "walrus",
          "panda",
          "lizard",
          "beetle",
          "salmon",
          "giraffe",
          "camel",
          "donkey",
          "rabbit",
          "turtle",
          "penguin",
          "parrot",
          "jaguar",
          "lobster",
          "moose",
          "hamster",
          "gecko",
          "pelican",
          "raven",
          "cobra",
          "bison",
          "ferret",
          "koala",
          "llama",
          "oyster",
          "sparrow",
          "scarlet",
          "amber",
          "violet",
          "crimson",
          "indigo",
          "ivory",
          "olive",
          "teal",
          "maroon",
          "coral",
          "cyan",
          "magenta",
          "beige",
          "khaki",
          "lilac",
          "ochre",
          "azure",
          "emerald",
          "marble",
          "cactus",
          "harbor",
          "velvet",
          "pepper",
          "glacier",
          "lantern",
          "meadow",
          "rocket",
          "saffron",
          "timber",
          "anchor",
          "basket",
          "candle",
          "compass",
          "feather",
          "hammer",
          "island",
          "jacket",
          "kettle",
          "ladder",
          "mirror",
          "needle",
          "orchard",
          "pillow",
          "quartz",
          "ribbon",
          "saddle",
          "tunnel",
          "umbrella",
          "violin",
          "whistle",
          "yogurt",
          "zipper",
          "blanket",
          "canyon",
          "dolphin",
          "engine",
          "forest",
          "guitar",
          "helmet",
          "igloo",
          "jigsaw",
          "kitten",
          "lemon",
          "magnet",
          "napkin",
          "oasis",
          "pebble",
          "quilt",
          "riddle",
          "spoon",
          "teapot",
          "walnut",
          "button",
          "copper",
          "thunder",
          "biscuit",
          "castle",
          "puzzle",
          "tulip",
          "cinnamon",
          "planet",
          "comet",
          "canvas",
          "pencil",
          "trumpet");

  private static final String LOWER = "abcdefghijkmnpqrstuvwxyz"; // no l, o
  private static final String UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"; // no I, O
  private static final String DIGIT = "0123456789";
  private static final String CODE_FIRST = LOWER;
  private static final String CODE_REST = LOWER + UPPER + "23456789";

  /** A random value of {@code kind}; words from the {@code phrasing} share of {@link #WORDS}. */
  public static String draw(Kind kind, Random rng, Phrasing phrasing) {
    return switch (kind) {
      case DIGITS -> digits(rng, 4 + rng.nextInt(5));
      case WORD -> Phrasing.pick(rng, phrasing.of(WORDS));
      case CODE -> code(rng);
    };
  }

  /** {@code n} digits, the first not 0. */
  public static String digits(Random rng, int n) {
    StringBuilder sb = new StringBuilder(n);
    sb.append((char) ('1' + rng.nextInt(9)));
    for (int i = 1; i < n; i++) {
      sb.append((char) ('0' + rng.nextInt(10)));
    }
    return sb.toString();
  }

  /** A code like {@code k7-Qm2x}: 2 characters, a hyphen, 4 characters. */
  public static String code(Random rng) {
    StringBuilder sb = new StringBuilder(7);
    sb.append(CODE_FIRST.charAt(rng.nextInt(CODE_FIRST.length())));
    sb.append(CODE_REST.charAt(rng.nextInt(CODE_REST.length())));
    sb.append('-');
    for (int i = 0; i < 4; i++) {
      sb.append(CODE_REST.charAt(rng.nextInt(CODE_REST.length())));
    }
    return sb.toString();
  }

  /**
   * A near copy of {@code value}: one or two of its letters or digits replaced by others of the
   * same class (digit by digit, lower by lower, upper by upper), the length and any hyphen kept, a
   * leading digit never 0. Always differs from {@code value}.
   */
  public static String nearCopy(Random rng, String value) {
    char[] c = value.toCharArray();
    int changes = 1 + rng.nextInt(2);
    int changeable = 0;
    for (char ch : c) {
      changeable += Character.isLetterOrDigit(ch) ? 1 : 0;
    }
    if (changeable == 0) {
      throw new IllegalArgumentException("no letter or digit to change in '" + value + "'");
    }
    changes = Math.min(changes, changeable);
    boolean[] done = new boolean[c.length];
    int made = 0;
    while (made < changes) {
      int i = rng.nextInt(c.length);
      if (done[i] || !Character.isLetterOrDigit(c[i])) {
        continue;
      }
      String pool =
          Character.isDigit(c[i])
              ? (i == 0 ? "123456789" : DIGIT)
              : Character.isUpperCase(c[i]) ? UPPER : LOWER;
      char r;
      do {
        r = pool.charAt(rng.nextInt(pool.length()));
      } while (r == c[i]);
      c[i] = r;
      done[i] = true;
      made++;
    }
    return new String(c);
  }
}
