package io.infinistreams.tasks.prose;

import java.util.List;

/**
 * Sentences that state a needle and questions that ask for it, with {@code {L}} for the label (see
 * {@link Labels}) and {@code {V}} for the value. Split by {@link Phrasing}: every third template is
 * for evaluation only.
 */
public final class NeedlePhrases {
  private NeedlePhrases() {}

  /** Statement templates (18: 12 train, 6 eval). */
  public static final List<String> STATEMENTS =
      List.of(
          "{L} is {V}.",
          "Remember this: {L} is {V}.",
          "Please note that {L} is {V}.",
          "For the record, {L} is {V}.",
          "{L} has been set to {V}.",
          "Write this down: {L} is {V}.",
          "Do not forget that {L} is {V}.",
          "Important: {L} is {V}.",
          "Someone mentioned that {L} is {V}.",
          "{L}, by the way, is {V}.",
          "It is worth knowing that {L} is {V}.",
          "A note on the table said that {L} is {V}.",
          "After the last change, {L} is {V}.",
          "Keep in mind that {L} is {V}.",
          "{V} is {L}.",
          "We were told that {L} is {V}.",
          "Make a note: {L} reads {V}.",
          "In case you need it, {L} is {V}.");

  /** Question templates (15: 10 train, 5 eval). */
  public static final List<String> QUESTIONS =
      List.of(
          "What is {L}?",
          "Which value was given for {L}?",
          "Do you remember {L}? What is it?",
          "What did the text say {L} is?",
          "Tell me {L}.",
          "Can you recall {L}?",
          "What was {L} set to?",
          "According to the text, what is {L}?",
          "What value does {L} have?",
          "Recall {L}.",
          "What is the value of {L}?",
          "Earlier a value was given for {L}. What was it?",
          "Find {L} in the text above. What is it?",
          "I need {L}. What is it?",
          "{L}, please: what is it?");
}
