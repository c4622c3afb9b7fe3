package io.infinistreams.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image tar that jib:buildTar wrote in {@code package} (this test runs in {@code
 * integration-test}, after it): its manifest and config, the files of its layers, and, extracted
 * into a directory, its runtime started with its own dynamic loader and libraries only.
 */
class ImageTarTest {
  static final String RUNTIME = "opt/java/openjdk";
  static final String JAR = "app/infini-streams.jar";

  static ImageArchive image;

  @BeforeAll
  static void openImage() throws IOException {
    String tar = System.getProperty("image.tar");
    assertNotNull(tar, "system property image.tar (set by docker/pom.xml)");
    assertTrue(Files.isRegularFile(Path.of(tar)), tar + " missing: jib:buildTar runs in package");
    image = ImageArchive.open(Path.of(tar));
  }

  @Test
  void manifestNamesTheConfigAndTheLayers() {
    List<String> tags = new ArrayList<>();
    image.manifest.path("RepoTags").forEach(tag -> tags.add(tag.asText()));
    String name = System.getProperty("image.name", "infini-streams");
    assertTrue(tags.contains(name + ":latest"), "tags " + tags);
    assertEquals(image.layers().size(), image.config.path("rootfs").path("diff_ids").size());
    assertTrue(image.layers().size() >= 2, "layers " + image.layers());
    assertEquals("linux", image.config.path("os").asText());
  }

  @Test
  void configRunsTheJarAsANonRootUser() {
    JsonNode config = image.config.path("config");
    List<String> entrypoint = strings(config.path("Entrypoint"));
    assertEquals("/" + RUNTIME + "/bin/java", entrypoint.get(0));
    assertEquals(
        List.of("-jar", "/" + JAR), entrypoint.subList(entrypoint.size() - 2, entrypoint.size()));
    for (String flag :
        List.of(
            "-Xmx4g",
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-DENGINE_CACHE_DIR=/cache/djl")) {
      assertTrue(entrypoint.contains(flag), flag + " in " + entrypoint);
    }
    assertEquals(List.of("run"), strings(config.path("Cmd")));

    String user = config.path("User").asText();
    String uid = uid(user);
    assertTrue(uid.matches("[0-9]+"), "numeric user: " + user);
    assertNotEquals("0", uid, "not root");

    List<String> env = strings(config.path("Env"));
    for (String variable :
        List.of(
            "ENGINE_CACHE_DIR=/cache/djl",
            "INFINI_JAR=/" + JAR,
            "INFINI_STATE_DIR=/data/state",
            "INFINI_EMBEDDED_BROKER_DIR=/data/kafka",
            "OMP_NUM_THREADS=1",
            "MKL_NUM_THREADS=1",
            "JAVA_HOME=/" + RUNTIME,
            "PATH=/" + RUNTIME + "/bin")) {
      assertTrue(env.contains(variable), variable + " in " + env);
    }
    assertTrue(config.path("ExposedPorts").has("8480/tcp"), "port: " + config.path("ExposedPorts"));
    assertTrue(config.path("Volumes").has("/data"), "volumes: " + config.path("Volumes"));
    assertTrue(config.path("Volumes").has("/cache/djl"), "volumes: " + config.path("Volumes"));
  }

  @Test
  void layersHoldTheJarTheRuntimeAndItsLibraries() throws IOException {
    Map<String, Tar.Entry> files = image.files();
    for (String file :
        List.of(
            JAR,
            "app/bin/infini",
            "app/bin/lib/launch.sh",
            "app/classes/io/infinistreams/image/HealthCheck.class",
            RUNTIME + "/bin/java",
            RUNTIME + "/lib/server/libjvm.so",
            RUNTIME + "/lib/libjli.so",
            RUNTIME + "/lib/modules",
            RUNTIME + "/lib/security/cacerts",
            "etc/passwd")) {
      Tar.Entry entry = files.get(file);
      assertNotNull(entry, file + " in the image");
      assertTrue(entry.isFile() && entry.size() > 0, file + " a non-empty file: " + entry);
    }
    assertTrue(files.get(JAR).size() > 100_000_000, "the fat jar, libtorch inside");
    assertEquals(0755, files.get(RUNTIME + "/bin/java").mode() & 0777);
    // libc and the others the libraries need, under the multiarch directory ldd found them in
    for (String library :
        List.of("libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1")) {
      assertTrue(
          files.keySet().stream()
              .anyMatch(
                  path -> path.matches("(usr/)?lib(64)?/([^/]+/)?" + library.replace("+", "\\+"))),
          library + " in the image");
    }
    // the user's directories: writable by it (Jib sets no owner: by everyone)
    for (String dir : List.of("data", "cache/djl", "tmp")) {
      Tar.Entry entry = files.get(dir);
      assertNotNull(entry, dir + " in the image");
      assertTrue(entry.isDirectory(), dir + " a directory");
      assertEquals(0777, entry.mode() & 0777, dir + " writable by uid 10001");
    }
  }

  @Test
  void extractedRuntimeRunsOnTheImagesOwnLibraries(@TempDir Path root) throws Exception {
    image.extract(root, path -> true);
    Path java = root.resolve(RUNTIME + "/bin/java");
    String interpreter = Elf.interpreter(Files.readAllBytes(java));
    assertNotNull(interpreter, "bin/java names a dynamic loader");
    Path loader = root.resolve(interpreter.substring(1));
    assertTrue(Files.isRegularFile(loader), interpreter + " (bin/java's PT_INTERP) in the image");
    assertTrue(Files.isExecutable(loader), interpreter + " executable");
    String passwd = Files.readString(root.resolve("etc/passwd"), StandardCharsets.UTF_8);
    String uid = uid(image.config.path("config").path("User").asText());
    assertTrue(passwd.contains(":x:" + uid + ":"), "the user in /etc/passwd: " + passwd);

    Result version = runJava(root, loader, List.of("-version"));
    assertEquals(0, version.exit, version.output);
    assertTrue(version.output.contains("64-Bit Server VM"), version.output);

    Result app = runJava(root, loader, List.of("-jar", root.resolve(JAR).toString(), "--version"));
    assertEquals(0, app.exit, app.output);
    assertTrue(app.output.strip().length() > 0, "a version printed");

    Path testClasses =
        Path.of(NativeProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Result probe =
        runJava(
            root,
            loader,
            List.of(
                "-XX:-UsePerfData", // no /tmp/hsperfdata_*
                "-Dai.djl.offline=true",
                "-DENGINE_CACHE_DIR=" + root.resolve("cache/djl"),
                "-Djava.io.tmpdir=" + root.resolve("tmp"),
                "-Djna.tmpdir=" + root.resolve("tmp"),
                // the image's library directories instead of the host's (the JDK's default
                // java.library.path, JNA's from `ldconfig -p`): RocksDB's loader tries
                // System.loadLibrary("z"), DJL asks JNA for libcudart; absent from the image, both
                // are optional
                "-Djava.library.path=" + libraryPath(root),
                "-Djna.library.path=" + libraryPath(root),
                "-Djna.platform.library.path=" + libraryPath(root),
                "-cp",
                root.resolve(JAR) + ":" + testClasses,
                NativeProbe.class.getName()));
    assertEquals(0, probe.exit, probe.output);
    List<String> mapped = new ArrayList<>();
    for (String line : probe.output.lines().toList()) {
      if (line.startsWith("mapped ")) {
        mapped.add(line.substring("mapped ".length()));
      }
    }
    assertTrue(
        mapped.stream().anyMatch(p -> p.endsWith("/libtorch_cpu.so")),
        "libtorch loaded: " + probe.output);
    assertTrue(
        mapped.stream().anyMatch(p -> p.contains("rocksdbjni")), "RocksDB loaded: " + probe.output);
    assertTrue(
        mapped.stream().anyMatch(p -> p.endsWith("/libc.so.6")), "libc mapped: " + probe.output);
    String prefix = root.toRealPath() + "/";
    List<String> outside =
        mapped.stream().filter(p -> !p.startsWith(prefix) && !p.startsWith(root + "/")).toList();
    assertTrue(outside.isEmpty(), "libraries loaded from outside the image's files: " + outside);
  }

  /**
   * Runs the extracted bin/java through the extracted dynamic loader, with only the image's library
   * directories to search: the host's libraries would show in the probe's mapped list.
   */
  private static Result runJava(Path root, Path loader, List<String> args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(loader.toString());
    command.add("--inhibit-cache"); // not the host's /etc/ld.so.cache
    command.add("--library-path");
    command.add(libraryPath(root));
    command.add(root.resolve(RUNTIME + "/bin/java").toString());
    command.add("-Xmx512m");
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().remove("LD_LIBRARY_PATH");
    builder.environment().remove("JAVA_TOOL_OPTIONS");
    builder.environment().remove("JDK_JAVA_OPTIONS");
    builder.environment().put("OMP_NUM_THREADS", "1");
    builder.environment().put("MKL_NUM_THREADS", "1");
    builder.environment().put("ENGINE_CACHE_DIR", root.resolve("cache/djl").toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(5, TimeUnit.MINUTES), "java " + args + " finished");
    return new Result(process.exitValue(), String.join(" ", command) + "\n" + output);
  }

  /** The image's library directories, as the host's would be searched. */
  private static String libraryPath(Path root) {
    List<String> dirs = new ArrayList<>();
    for (String dir :
        List.of(
            "lib/x86_64-linux-gnu",
            "usr/lib/x86_64-linux-gnu",
            "lib/aarch64-linux-gnu",
            "usr/lib/aarch64-linux-gnu",
            "lib64",
            "lib",
            "usr/lib")) {
      if (Files.isDirectory(root.resolve(dir))) {
        dirs.add(root.resolve(dir).toString());
      }
    }
    return String.join(":", dirs);
  }

  private record Result(int exit, String output) {}

  /** The uid of a config's User, "uid" or "uid:gid". */
  private static String uid(String user) {
    int colon = user.indexOf(':');
    return colon < 0 ? user : user.substring(0, colon);
  }

  private static List<String> strings(JsonNode array) {
    List<String> list = new ArrayList<>();
    array.forEach(node -> list.add(node.asText()));
    return list;
  }
}
