package io.infinistreams.topology;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The input records a task began to apply and did not finish, with how many times each began, in a
 * small file outside Kafka Streams' stores.
 *
 * <p>Under exactly-once a process that dies while applying a record (a native crash, an {@code
 * OutOfMemoryError} that stops the stream thread, kill -9) aborts its transaction, so the stores
 * forget the attempt and the record is read again after the restart; if the record itself causes
 * the crash, the partition never moves past it. This journal is what remembers: {@link #begin}
 * counts an attempt before the record is applied and {@link #finish} forgets it once the record was
 * applied or dead-lettered, so a record still in the journal when it is read again crashed the
 * processor that many times. The processor dead-letters it once the count passes its limit.
 *
 * <p>The file is rewritten in place on every begin and finish, without fsync: a process that dies
 * leaves what it wrote in the operating system's cache, which is what this must survive. A machine
 * that loses power may lose the file; an unreadable file is logged and read as empty (counts start
 * over, nothing else depends on it). Counts are per instance: a record that crashes instance A and
 * then moves to instance B starts at zero there.
 */
final class AttemptJournal implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(AttemptJournal.class);
  private static final int MAX_ERROR_CHARS = 1000;

  /** Where a record was read from. */
  record Source(String topic, int partition, long offset) {
    @Override
    public String toString() {
      return topic + "/" + partition + "/" + offset;
    }
  }

  /**
   * How long a verdict ({@link #convict}) is kept once later records of its partition began: far
   * longer than a transaction may stay open, so a verdict outlives any abort that could replay its
   * record.
   */
  static final long VERDICT_KEEP_MILLIS = 10 * 60_000L;

  /**
   * A record that began and did not finish, or that was dead-lettered for its crashes.
   *
   * @param attempts how many times it began
   * @param lastError the last failure seen in this JVM while applying it (a stack summary), or ""
   *     when the process died without one (a native crash, kill -9)
   * @param convictedMillis when it was dead-lettered for its crashes (wall clock), or 0
   */
  record Entry(int attempts, String lastError, long convictedMillis) {
    boolean convicted() {
      return convictedMillis > 0;
    }
  }

  private final Path file;
  private final FileChannel channel;
  private final Map<Source, Entry> entries;

  private AttemptJournal(Path file, FileChannel channel, Map<Source, Entry> entries) {
    this.file = file;
    this.channel = channel;
    this.entries = entries;
  }

  /** Opens (creating it and its folders if needed) the journal in {@code file}. */
  static AttemptJournal open(Path file) {
    FileChannel channel = null;
    try {
      Files.createDirectories(file.getParent());
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      Map<Source, Entry> entries = read(file);
      if (!entries.isEmpty()) {
        log.warn(
            "{} record(s) began and did not finish before the last stop (a crash while applying"
                + " them), or were dead-lettered for their crashes: {}",
            entries.size(),
            entries);
      }
      return new AttemptJournal(file, channel, entries);
    } catch (IOException e) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw new UncheckedIOException("cannot open the attempt journal " + file, e);
    }
  }

  /**
   * Counts an attempt at {@code source} and returns its entry (attempts including this one); a
   * convicted record's entry is returned as it is. Forgets the entries of the same partition at
   * lower offsets (the partition has moved past them), but a conviction only {@link
   * #VERDICT_KEEP_MILLIS} after it was made: until its transaction commits, an abort (another
   * record's crash) replays the convicted record, which must then be dead-lettered again at once.
   */
  Entry begin(Source source, long nowMillis) {
    Iterator<Map.Entry<Source, Entry>> it = entries.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Source, Entry> e = it.next();
      Source s = e.getKey();
      boolean verdictKept =
          e.getValue().convicted()
              && nowMillis - e.getValue().convictedMillis() < VERDICT_KEEP_MILLIS;
      if (s.partition() == source.partition()
          && s.topic().equals(source.topic())
          && s.offset() < source.offset()
          && !verdictKept) {
        it.remove();
      }
    }
    Entry before = entries.get(source);
    if (before != null && before.convicted()) {
      return before;
    }
    Entry now =
        before == null
            ? new Entry(1, "", 0)
            : new Entry(before.attempts() + 1, before.lastError(), 0);
    entries.put(source, now);
    write();
    return now;
  }

  /**
   * Records that {@code source} was dead-lettered for its crashes: read again (its dead letter's
   * transaction aborted), it is dead-lettered again without being applied.
   */
  void convict(Source source, long nowMillis) {
    Entry e = entries.get(source);
    if (e != null && !e.convicted()) {
      entries.put(source, new Entry(e.attempts(), e.lastError(), nowMillis));
      write();
    }
  }

  /** Records what stopped the attempt at {@code source} (kept for its dead letter). */
  void failed(Source source, Throwable error) {
    Entry e = entries.get(source);
    if (e != null) {
      entries.put(
          source, new Entry(e.attempts(), Rejected.stackSummary(error), e.convictedMillis()));
      write();
    }
  }

  /** Forgets {@code source}: it was applied or dead-lettered. */
  void finish(Source source) {
    if (entries.remove(source) != null) {
      write();
    }
  }

  /** The unfinished and convicted records, in the order they began. */
  Map<Source, Entry> entries() {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  private void write() {
    StringBuilder sb = new StringBuilder();
    entries.forEach(
        (s, e) ->
            sb.append(s.topic())
                .append('\t')
                .append(s.partition())
                .append('\t')
                .append(s.offset())
                .append('\t')
                .append(e.attempts())
                .append('\t')
                .append(oneLine(e.lastError()))
                .append('\t')
                .append(e.convictedMillis())
                .append('\n'));
    ByteBuffer bytes = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
    try {
      int length = bytes.remaining();
      long at = 0;
      while (bytes.hasRemaining()) {
        at += channel.write(bytes, at);
      }
      channel.truncate(length);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the attempt journal " + file, e);
    }
  }

  private static String oneLine(String s) {
    String flat = s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    return flat.length() <= MAX_ERROR_CHARS ? flat : flat.substring(0, MAX_ERROR_CHARS);
  }

  /** The file's entries; an unreadable or malformed file reads as empty, with a warning. */
  private static Map<Source, Entry> read(Path file) {
    Map<Source, Entry> entries = new LinkedHashMap<>();
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      log.warn("attempt journal {} cannot be read ({}); starting it afresh", file, e.toString());
      return entries;
    }
    for (String line : text.split("\n", -1)) {
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split("\t", -1);
      try {
        if (f.length != 6) {
          throw new IllegalArgumentException("expected 6 fields, found " + f.length);
        }
        int attempts = Integer.parseInt(f[3]);
        if (attempts < 1) {
          throw new IllegalArgumentException("attempts " + attempts);
        }
        entries.put(
            new Source(f[0], Integer.parseInt(f[1]), Long.parseLong(f[2])),
            new Entry(attempts, f[4], Long.parseLong(f[5])));
      } catch (IllegalArgumentException e) {
        log.warn("attempt journal {}: line not understood ({}); starting it afresh", file, e);
        return new LinkedHashMap<>();
      }
    }
    return entries;
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      log.warn("closing the attempt journal {}", file, e);
    }
  }
}
