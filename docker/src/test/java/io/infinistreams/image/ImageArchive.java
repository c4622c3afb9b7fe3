package io.infinistreams.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * The image tar Jib writes (Docker's image archive: manifest.json, the config, gzipped layer tars),
 * read with Commons Compress and plain Java: its manifest and config, the files of its layers, and
 * their extraction into a directory.
 */
final class ImageArchive {
  private static final ObjectMapper JSON = new ObjectMapper();

  final Path tar;

  /** manifest.json's one image: Config, RepoTags, Layers. */
  final JsonNode manifest;

  /** The image configuration (architecture, os, config.Entrypoint, ..., rootfs.diff_ids). */
  final JsonNode config;

  private Map<String, Tar.Entry> files;

  private ImageArchive(Path tar, JsonNode manifest, JsonNode config) {
    this.tar = tar;
    this.manifest = manifest;
    this.config = config;
  }

  static ImageArchive open(Path tar) throws IOException {
    Map<String, byte[]> small = new LinkedHashMap<>();
    readMembers(
        tar,
        (entry, content) -> {
          if (entry.name().endsWith(".json")) {
            small.put(entry.name(), Tar.readAll(content));
          }
        });
    byte[] manifestBytes = small.get("manifest.json");
    if (manifestBytes == null) {
      throw new IOException(tar + " has no manifest.json: members " + small.keySet());
    }
    JsonNode manifests = JSON.readTree(manifestBytes);
    if (!manifests.isArray() || manifests.size() != 1) {
      throw new IOException("manifest.json is not an array of one image: " + manifests);
    }
    JsonNode manifest = manifests.get(0);
    byte[] configBytes = small.get(manifest.path("Config").asText());
    if (configBytes == null) {
      throw new IOException("no config member " + manifest.path("Config"));
    }
    return new ImageArchive(tar, manifest, JSON.readTree(configBytes));
  }

  List<String> layers() {
    List<String> layers = new ArrayList<>();
    manifest.path("Layers").forEach(layer -> layers.add(layer.asText()));
    return layers;
  }

  /** Every path of the image's file system (later layers over earlier ones), in layer order. */
  synchronized Map<String, Tar.Entry> files() throws IOException {
    if (files == null) {
      Map<String, Tar.Entry> all = new LinkedHashMap<>();
      forEachLayerEntry((entry, content) -> all.put(stripSlash(entry.name()), entry));
      files = all;
    }
    return files;
  }

  /** Writes the layers' files (those {@code which} accepts) under {@code root}, with modes. */
  void extract(Path root, Predicate<String> which) throws IOException {
    forEachLayerEntry(
        (entry, content) -> {
          String name = stripSlash(entry.name());
          if (name.isEmpty() || !which.test(name) || name.contains("..")) {
            return;
          }
          Path target = root.resolve(name);
          if (entry.isDirectory()) {
            Files.createDirectories(target);
          } else if (entry.isFile()) {
            Files.createDirectories(target.getParent());
            Files.copy(content, target, StandardCopyOption.REPLACE_EXISTING);
          } else if (entry.type() == '2') {
            throw new IOException("symbolic link in the image, not expected: " + name);
          } else {
            return;
          }
          Files.setPosixFilePermissions(target, permissions(entry.mode()));
        });
  }

  private void forEachLayerEntry(Tar.Visitor visitor) throws IOException {
    List<String> layers = layers();
    Map<String, Integer> order = new LinkedHashMap<>();
    for (int i = 0; i < layers.size(); i++) {
      order.put(layers.get(i), i);
    }
    // Jib writes the layers in manifest order; applied as they come, checked to be so.
    int[] next = {0};
    readMembers(
        tar,
        (member, content) -> {
          Integer index = order.get(member.name());
          if (index == null) {
            return;
          }
          if (index != next[0]) {
            throw new IOException("layer " + member.name() + " out of the manifest's order");
          }
          next[0]++;
          Tar.read(
              new BufferedInputStream(new GZIPInputStream(content, 1 << 16), 1 << 16), visitor);
        });
    if (next[0] != layers.size()) {
      throw new IOException("found " + next[0] + " of the manifest's " + layers.size() + " layers");
    }
  }

  private static void readMembers(Path tar, Tar.Visitor visitor) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(tar), 1 << 16)) {
      Tar.read(in, visitor);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static String stripSlash(String name) {
    return name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
  }

  static Set<PosixFilePermission> permissions(int mode) {
    PosixFilePermission[] bits = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_READ
    };
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < bits.length; i++) {
      if ((mode & (1 << i)) != 0) {
        set.add(bits[i]);
      }
    }
    return set;
  }
}
