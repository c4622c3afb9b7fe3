package io.infinistreams.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.infinistreams.tasks.Sample;
import io.infinistreams.tasks.TaskMix;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class TaskMixesTest {

  private static TaskMix parse(String mix) {
    return TaskMixes.build(TrainConfig.tiny(1, 10).withData(mix, 0.5, 5f));
  }

  private static Set<String> tasksAt(TaskMix mix, long step) {
    List<Sample> batch = mix.batch(7, step, 16, 4, 64);
    return batch.stream().map(s -> s.task().split("/")[0]).collect(Collectors.toSet());
  }

  @Test
  void everyListedTaskBuildsAndNoOtherName() {
    for (String name : TaskMixes.TASK_NAMES) {
      TaskMix mix = parse(name + "=1");
      // 16 samples of 4 segments of the recipes' 128 tokens
      Sample first = mix.batch(7, 0, 16, 4, 128).get(0);
      assertEquals(name.split("-")[0], first.task().split("[-/]")[0], name);
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> parse("copy-recnet=1"));
    assertTrue(e.getMessage().contains("copy-recent"), e.getMessage());
    assertEquals(
        List.of("copy", "passkey", "text", "copy"),
        TaskMixes.taskNames("copy=1;100:passkey=0.5, text=0.5;200:copy=1"));
  }

  @Test
  void aCurriculumSwitchesTasksAtItsPhaseSteps() {
    TaskMix mix = parse("copy=1;100:passkey=1;250:passkey=1,copy=1");
    assertEquals(3, mix.phases().size());
    assertEquals(Set.of("copy"), tasksAt(mix, 0));
    assertEquals(Set.of("copy"), tasksAt(mix, 99));
    assertEquals(Set.of("passkey"), tasksAt(mix, 100));
    assertEquals(Set.of("passkey"), tasksAt(mix, 249));
    assertEquals(Set.of("passkey", "copy"), tasksAt(mix, 250));
    assertEquals("copy:1.0; from 100: passkey:1.0; from 250: passkey:1.0,copy:1.0", mix.describe());
  }

  /**
   * The prose tasks, here on the synthetic corpus's paragraphs: every one is built, samples have
   * the requested length and BOS first, and answers carry the answer weight.
   */
  @Test
  void theProseTasksMakeSamplesOfTheRequestedLength() {
    TaskMix mix = parse("text=1,needle=1,multikey=1,multikey-near=1,facts=1,chat-facts=1");
    List<Sample> batch = mix.batch(3, 0, 60, 24, 64);
    Set<String> names = batch.stream().map(s -> s.task().split("/")[0]).collect(Collectors.toSet());
    assertEquals(6, names.size(), names.toString());
    for (Sample s : batch) {
      assertEquals(24 * 64 + 1, s.tokens().length, s.task());
      assertEquals(io.infinistreams.model.ByteTokenizer.BOS, s.tokens()[0]);
      float max = 0;
      for (float w : s.weights()) {
        max = Math.max(max, w);
      }
      assertEquals(s.task().startsWith("text") ? 1f : 5f, max, s.task());
    }
  }

  @Test
  void aSinglePhaseMixIsTheWholeRun() {
    TaskMix mix = parse("passkey=0.5,copy=0.5");
    assertEquals(1, mix.phases().size());
    assertTrue(tasksAt(mix, 1_000_000).size() == 2);
  }

  @Test
  void malformedCurriculaAreRejectedWithTheReason() {
    assertThrows(IllegalArgumentException.class, () -> parse("copy=1;passkey=1"));
    assertThrows(IllegalArgumentException.class, () -> parse("copy=1;x:passkey=1"));
    assertThrows(IllegalArgumentException.class, () -> parse("copy=1;200:passkey=1;100:copy=1"));
    assertThrows(IllegalArgumentException.class, () -> parse("5:copy=1"));
    assertThrows(IllegalArgumentException.class, () -> parse("nosuch=1"));
  }
}
