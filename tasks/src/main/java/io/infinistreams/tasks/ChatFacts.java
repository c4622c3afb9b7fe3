package io.infinistreams.tasks;

import java.util.List;
import java.util.Random;

/**
 * Templates of personal facts a user states in a chat and asks about later, and of unrelated
 * small-talk turns that separate them. Every fact has one slot whose value is drawn at random, so
 * recalling it needs memory, not priors.
 */
public final class ChatFacts {

  /** A fact with its value filled in: what the user says, asks, and the reply that recalls it. */
  public record Fact(
      String kind, String value, String statement, String question, String answerPrefix) {
    /** The full recalling reply: {@code answerPrefix + value + "."}. */
    public String answer() {
      return answerPrefix + value + ".";
    }
  }

  private record Template(
      String kind, String statement, String question, String answerPrefix, Slot slot) {}

  private interface Slot {
    String draw(Random rng);
  }

  private static final List<String> NAMES =
      List.of(
          "Biscuit",
          "Pepper",
          "Luna",
          "Rocco",
          "Maple",
          "Ziggy",
          "Nala",
          "Otis",
          "Juniper",
          "Waffles",
          "Mochi",
          "Bruno",
          "Clover",
          "Pixel",
          "Tango",
          "Hazel",
          "Sprocket",
          "Olive",
          "Gizmo",
          "Falcon");
  private static final List<String> DAYS =
      List.of("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday");
  private static final List<String> CITIES =
      List.of(
          "Lisbon",
          "Oslo",
          "Nairobi",
          "Quito",
          "Hanoi",
          "Dublin",
          "Perth",
          "Krakow",
          "Montreal",
          "Osaka",
          "Tunis",
          "Lima",
          "Bergen",
          "Seville",
          "Tallinn",
          "Accra",
          "Denver",
          "Gdansk",
          "Porto",
          "Leeds");
  private static final List<String> COLOURS =
      List.of(
          "teal",
          "maroon",
          "amber",
          "violet",
          "olive",
          "coral",
          "indigo",
          "crimson",
          "silver",
          "turquoise",
          "beige",
          "magenta");
  private static final List<String> WORDS =
      List.of(
          "falcon", "marble", "cactus", "harbor", "velvet", "pepper", "glacier", "lantern",
          "meadow", "rocket", "saffron", "timber");

  private static Slot digits(int n) {
    return rng -> {
      StringBuilder sb = new StringBuilder(n);
      sb.append((char) ('1' + rng.nextInt(9)));
      for (int i = 1; i < n; i++) {
        sb.append((char) ('0' + rng.nextInt(10)));
      }
      return sb.toString();
    };
  }

  private static Slot oneOf(List<String> values) {
    return rng -> values.get(rng.nextInt(values.size()));
  }

  private static final List<Template> TEMPLATES =
      List.of(
          new Template(
              "locker",
              "My locker code is %s, please remember it.",
              "What is my locker code?",
              "Your locker code is ",
              digits(4)),
          new Template(
              "meeting",
              "Heads up: the meeting moved to %s.",
              "Which day is the meeting now?",
              "The meeting is on ",
              oneOf(DAYS)),
          new Template(
              "dog",
              "We adopted a dog and named her %s.",
              "What is my dog's name?",
              "Your dog is called ",
              oneOf(NAMES)),
          new Template(
              "sister",
              "My sister just moved to %s.",
              "Where does my sister live?",
              "Your sister lives in ",
              oneOf(CITIES)),
          new Template(
              "room",
              "I'm staying in room %s this week.",
              "Which room am I staying in?",
              "You are in room ",
              digits(3)),
          new Template(
              "colour",
              "My favourite colour is %s.",
              "What is my favourite colour?",
              "Your favourite colour is ",
              oneOf(COLOURS)),
          new Template(
              "wifi",
              "The wifi password is %s.",
              "What was the wifi password?",
              "The wifi password is ",
              rng -> WORDS.get(rng.nextInt(WORDS.size())) + (10 + rng.nextInt(90))),
          new Template(
              "flight",
              "My flight number is QX%s.",
              "What is my flight number?",
              "Your flight number is QX",
              digits(4)));

  private static final List<String[]> SMALL_TALK =
      List.of(
          new String[] {"How are you today?", "I'm doing well, thanks for asking."},
          new String[] {
            "Can you suggest a quick breakfast?", "Oatmeal with fruit takes five minutes."
          },
          new String[] {"What is the capital of France?", "The capital of France is Paris."},
          new String[] {"Tell me a fun fact.", "Octopuses have three hearts."},
          new String[] {"Is it going to rain?", "I can't see the weather, but take an umbrella."},
          new String[] {"How many days are in a leap year?", "A leap year has 366 days."},
          new String[] {"Give me a word that rhymes with cat.", "Hat rhymes with cat."},
          new String[] {"What should I read next?", "Try a short classic, like Treasure Island."},
          new String[] {"How do I boil an egg?", "Boil it for about nine minutes, then cool it."},
          new String[] {"What is two plus three?", "Two plus three is five."},
          new String[] {"Recommend a board game.", "Chess is a good place to start."},
          new String[] {"Why is the sky blue?", "Air scatters blue light more than red light."},
          new String[] {"Any tips for sleeping better?", "Keep a regular bedtime and a dark room."},
          new String[] {"What is a haiku?", "A haiku is a poem of five, seven and five syllables."},
          new String[] {"How far is the moon?", "About 384,000 kilometres from Earth."},
          new String[] {"Translate hello into Spanish.", "Hello in Spanish is hola."},
          new String[] {"What's a good name for a plant?", "How about Fernando the fern?"},
          new String[] {"I'm bored.", "Maybe go for a short walk outside."},
          new String[] {"How many legs does a spider have?", "A spider has eight legs."},
          new String[] {
            "What is the boiling point of water?", "Water boils at 100 degrees Celsius."
          },
          new String[] {"Thanks for the help!", "You're welcome, happy to help."},
          new String[] {"Which planet is the largest?", "Jupiter is the largest planet."},
          new String[] {"Write me a short greeting.", "Good morning, and have a lovely day!"},
          new String[] {"What colour are bananas?", "Ripe bananas are yellow."});

  /** Acknowledgements the assistant gives after a fact is stated. */
  private static final List<String> ACKS =
      List.of(
          "Got it, I'll remember that.",
          "Noted.",
          "Okay, I will keep that in mind.",
          "Thanks, noted.");

  private ChatFacts() {}

  /** Number of fact kinds. */
  public static int kinds() {
    return TEMPLATES.size();
  }

  /** A fact of kind index {@code kind} with a random value. */
  public static Fact fact(int kind, Random rng) {
    Template t = TEMPLATES.get(kind);
    String value = t.slot().draw(rng);
    return new Fact(
        t.kind(), value, String.format(t.statement(), value), t.question(), t.answerPrefix());
  }

  /** A random small-talk exchange: {user, assistant}. */
  public static String[] smallTalk(Random rng) {
    return SMALL_TALK.get(rng.nextInt(SMALL_TALK.size()));
  }

  /** A random acknowledgement of a stated fact. */
  public static String ack(Random rng) {
    return ACKS.get(rng.nextInt(ACKS.size()));
  }
}
