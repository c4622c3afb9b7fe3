package io.infinistreams.image;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;

/**
 * Run by {@link ImageTarTest} on the runtime extracted from the image, with the fat jar on the
 * class path: loads every native library the application uses (libtorch through DJL, RocksDB, zstd,
 * lz4, snappy, jline, the JDK's own network and zip libraries), then prints each shared library
 * mapped into the process ("mapped PATH"), so that the test can check that all came from the
 * image's files.
 */
public final class NativeProbe {
  private NativeProbe() {}

  public static void main(String[] args) throws Exception {
    Object engine =
        Class.forName("ai.djl.engine.Engine")
            .getMethod("getEngine", String.class)
            .invoke(null, "PyTorch");
    System.out.println("engine " + engine.getClass().getMethod("getVersion").invoke(engine));
    Class.forName("org.rocksdb.RocksDB").getMethod("loadLibrary").invoke(null);
    System.out.println("rocksdb loaded");
    Class.forName("com.github.luben.zstd.util.Native").getMethod("load").invoke(null);
    System.out.println("zstd loaded");
    Object lz4 =
        Class.forName("net.jpountz.lz4.LZ4Factory").getMethod("nativeInstance").invoke(null);
    System.out.println("lz4 " + lz4);
    Object snappy =
        Class.forName("org.xerial.snappy.Snappy")
            .getMethod("maxCompressedLength", int.class)
            .invoke(null, 1024);
    System.out.println("snappy " + snappy);
    Object jline =
        Class.forName("org.jline.nativ.JLineNativeLoader").getMethod("initialize").invoke(null);
    System.out.println("jline " + jline);
    try (ServerSocket socket = new ServerSocket(0)) {
      System.out.println("socket " + socket.getLocalPort());
    }
    // every file mapped executable: shared libraries, also those unpacked under other names
    TreeSet<String> mapped = new TreeSet<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
      String[] fields = line.trim().split("\\s+", 6);
      if (fields.length == 6 && fields[1].contains("x") && fields[5].startsWith("/")) {
        mapped.add(fields[5].replace(" (deleted)", ""));
      }
    }
    mapped.forEach(path -> System.out.println("mapped " + path));
  }
}
