package io.infinistreams.image;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A reader of POSIX tar streams (ustar, pax extended headers, GNU long names): what Jib writes,
 * both the image archive and its layers. Plain Java, no archive library.
 */
final class Tar {
  private static final int BLOCK = 512;

  /** One member: its name without a leading "./" or "/", tar type flag, mode bits and size. */
  record Entry(String name, char type, int mode, long size) {
    boolean isDirectory() {
      return type == '5';
    }

    boolean isFile() {
      return type == '0' || type == '\0' || type == '7';
    }
  }

  /** Called for each member with its content (read as much as wanted; the rest is skipped). */
  interface Visitor {
    void visit(Entry entry, InputStream content) throws IOException;
  }

  private Tar() {}

  static void read(InputStream in, Visitor visitor) throws IOException {
    byte[] header = new byte[BLOCK];
    String longName = null;
    Long paxSize = null;
    while (true) {
      if (!readBlock(in, header)) {
        return; // end of stream without the two zero blocks
      }
      if (allZero(header)) {
        return;
      }
      String name = string(header, 0, 100);
      int mode = (int) number(header, 100, 8);
      long size = number(header, 124, 12);
      char type = (char) header[156];
      if ("ustar".equals(string(header, 257, 5))) {
        String prefix = string(header, 345, 155);
        if (!prefix.isEmpty()) {
          name = prefix + "/" + name;
        }
      }
      if (type == 'x' || type == 'g' || type == 'L') {
        byte[] data = in.readNBytes(Math.toIntExact(size));
        if (data.length != size) {
          throw new EOFException("truncated tar header of " + name);
        }
        in.skipNBytes(padding(size));
        if (type == 'L') {
          longName = new String(data, StandardCharsets.UTF_8).replaceAll("\0+$", "");
        } else if (type == 'x') {
          for (String[] record : paxRecords(data)) {
            if (record[0].equals("path")) {
              longName = record[1];
            } else if (record[0].equals("size")) {
              paxSize = Long.parseLong(record[1]);
            }
          }
        }
        continue;
      }
      if (longName != null) {
        name = longName;
      }
      if (paxSize != null) {
        size = paxSize;
      }
      longName = null;
      paxSize = null;
      while (name.startsWith("./") || name.startsWith("/")) {
        name = name.substring(name.startsWith("./") ? 2 : 1);
      }
      long contentSize = type == '5' || type == '1' || type == '2' ? 0 : size;
      Bounded content = new Bounded(in, contentSize);
      visitor.visit(new Entry(name, type, mode, contentSize), content);
      in.skipNBytes(content.remaining);
      in.skipNBytes(padding(contentSize));
    }
  }

  private static java.util.List<String[]> paxRecords(byte[] data) {
    java.util.List<String[]> records = new java.util.ArrayList<>();
    int at = 0;
    while (at < data.length) {
      int space = at;
      while (data[space] != ' ') {
        space++;
      }
      int length = Integer.parseInt(new String(data, at, space - at, StandardCharsets.US_ASCII));
      String record =
          new String(data, space + 1, length - (space + 1 - at) - 1, StandardCharsets.UTF_8);
      int equals = record.indexOf('=');
      records.add(new String[] {record.substring(0, equals), record.substring(equals + 1)});
      at += length;
    }
    return records;
  }

  private static boolean readBlock(InputStream in, byte[] block) throws IOException {
    int n = in.readNBytes(block, 0, BLOCK);
    if (n == 0) {
      return false;
    }
    if (n != BLOCK) {
      throw new EOFException("truncated tar block");
    }
    return true;
  }

  private static boolean allZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static long padding(long size) {
    return (BLOCK - size % BLOCK) % BLOCK;
  }

  private static String string(byte[] block, int offset, int length) {
    int end = offset;
    while (end < offset + length && block[end] != 0) {
      end++;
    }
    return new String(block, offset, end - offset, StandardCharsets.UTF_8);
  }

  /** An octal field, or a base-256 one (high bit set) for large sizes. */
  private static long number(byte[] block, int offset, int length) {
    if ((block[offset] & 0x80) != 0) {
      long value = block[offset] & 0x7f;
      for (int i = 1; i < length; i++) {
        value = (value << 8) | (block[offset + i] & 0xff);
      }
      return value;
    }
    String octal = string(block, offset, length).trim();
    return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
  }

  /** Reads all of a member's content into memory (manifest, config: small members). */
  static byte[] readAll(InputStream content) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    content.transferTo(out);
    return out.toByteArray();
  }

  /** The content of one member: at most its size, never closes the tar stream. */
  private static final class Bounded extends FilterInputStream {
    long remaining;

    Bounded(InputStream in, long size) {
      super(in);
      this.remaining = size;
    }

    @Override
    public int read() throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        remaining--;
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int n = in.read(buffer, offset, (int) Math.min(length, remaining));
      if (n > 0) {
        remaining -= n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      long skipped = in.skip(Math.min(n, remaining));
      remaining -= skipped;
      return skipped;
    }

    @Override
    public int available() throws IOException {
      return (int) Math.min(in.available(), remaining);
    }

    @Override
    public void close() {}
  }
}
