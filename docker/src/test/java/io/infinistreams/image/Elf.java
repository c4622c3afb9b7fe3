package io.infinistreams.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** The one thing the tests need of an ELF file: its program interpreter (PT_INTERP). */
final class Elf {
  private static final int PT_INTERP = 3;

  private Elf() {}

  /** The PT_INTERP path of a 64-bit ELF executable, or null when it has none. */
  static String interpreter(byte[] elf) {
    if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F') {
      throw new IllegalArgumentException("not an ELF file");
    }
    if (elf[4] != 2) {
      throw new IllegalArgumentException("not a 64-bit ELF file");
    }
    ByteBuffer buffer =
        ByteBuffer.wrap(elf).order(elf[5] == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
    long phoff = buffer.getLong(0x20);
    int phentsize = Short.toUnsignedInt(buffer.getShort(0x36));
    int phnum = Short.toUnsignedInt(buffer.getShort(0x38));
    for (int i = 0; i < phnum; i++) {
      int header = Math.toIntExact(phoff + (long) i * phentsize);
      if (buffer.getInt(header) == PT_INTERP) {
        int offset = Math.toIntExact(buffer.getLong(header + 8));
        int size = Math.toIntExact(buffer.getLong(header + 32));
        int end = offset;
        while (end < offset + size && elf[end] != 0) {
          end++;
        }
        return new String(elf, offset, end - offset, StandardCharsets.US_ASCII);
      }
    }
    return null;
  }
}
