package io.infinistreams.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Members of a tar stream (ustar, pax, GNU long names: what Jib writes, both the image archive and
 * its layers), read with Commons Compress.
 */
final class Tar {

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
    TarArchiveInputStream tar = new TarArchiveInputStream(in);
    InputStream content = new KeepOpen(tar); // the current member's bytes
    for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
      String name = e.getName();
      while (name.startsWith("./") || name.startsWith("/")) {
        name = name.substring(name.startsWith("./") ? 2 : 1);
      }
      char type = (char) e.getLinkFlag();
      long size = type == '5' || type == '1' || type == '2' ? 0 : e.getSize();
      visitor.visit(new Entry(name, type, e.getMode(), size), content);
    }
  }

  /** Reads all of a member's content into memory (manifest, config: small members). */
  static byte[] readAll(InputStream content) throws IOException {
    return content.readAllBytes();
  }

  /** The tar stream as a visitor sees it: closing it does not close the archive. */
  private static final class KeepOpen extends FilterInputStream {
    KeepOpen(InputStream in) {
      super(in);
    }

    @Override
    public void close() {}
  }
}
