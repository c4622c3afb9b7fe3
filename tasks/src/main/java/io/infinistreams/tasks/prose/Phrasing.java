package io.infinistreams.tasks.prose;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Which share of every template and value list a task draws from. Each list is split once and for
 * all: every third element (indices 2, 5, 8, ...) is {@link #EVAL}, the others {@link #TRAIN}. A
 * task built for evaluation uses only EVAL phrasings, so its score measures retrieval asked in
 * words training never saw.
 */
public enum Phrasing {
  TRAIN,
  EVAL;

  /** The elements of {@code all} that belong to this share, in order. */
  public <T> List<T> of(List<T> all) {
    List<T> out = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      if ((i % 3 == 2) == (this == EVAL)) {
        out.add(all.get(i));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("a list of " + all.size() + " has no " + this + " share");
    }
    return Collections.unmodifiableList(out);
  }

  /** A uniformly random element of the share {@code share} (as returned by {@link #of}). */
  static <T> T pick(Random rng, List<T> share) {
    return share.get(rng.nextInt(share.size()));
  }
}
