#!/usr/bin/env bash
# Assembles the root file system that Jib lays on top of `scratch` for the application image
# (docker/pom.xml runs it in `package`, before jib:buildTar): everything comes from the build
# machine itself, nothing is downloaded.
#
#   docker/image-root.sh JDK_HOME FAT_JAR OUT_DIR WORK_DIR
#
#   OUT_DIR/opt/java/openjdk      a Java runtime made by JDK_HOME's jlink (the modules below)
#   OUT_DIR/lib*/..., usr/lib/... the shared libraries that runtime and the fat jar's Linux
#                                 native libraries (libtorch, DJL's JNI, RocksDB, zstd, lz4,
#                                 snappy, jline, JNA) need, as `ldd` resolves them here: the dynamic
#                                 loader, libc, libm, libstdc++, libgcc_s, libz, ...
#   OUT_DIR/etc/passwd, etc/group the image's user, infini (uid and gid 10001)
#   OUT_DIR/data, cache/djl, tmp  empty directories (Jib makes them writable by every user)
#
# The result depends only on the JDK, the jar and this machine's libraries (the same inputs give
# the same files): the image is as up to date as this machine's packages.
set -euo pipefail

die() { echo "image-root.sh: $*" >&2; exit 1; }

[[ $# -eq 4 ]] || die "usage: image-root.sh JDK_HOME FAT_JAR OUT_DIR WORK_DIR"
jdk="$1" jar="$2" out="$3" work="$4"

[[ "$(uname -s)" == Linux ]] || die "the image is assembled from this machine's libraries: Linux only, not $(uname -s)"
command -v ldd >/dev/null 2>&1 || die "ldd not found (glibc's ldd, Debian package libc-bin): it resolves the libraries the image needs"
for tool in jlink jar; do
  [[ -x "$jdk/bin/$tool" ]] || die "$jdk/bin/$tool not found: build with a full JDK (jlink needs its jmods directory), not a JRE"
done
[[ -d "$jdk/jmods" ]] || die "$jdk/jmods not found: jlink needs the JDK's jmods (Debian package openjdk-17-jmods)"
[[ -f "$jar" ]] || die "$jar not found: build the application first (mvn -B -pl app -am package -DskipTests)"
jar="$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")"

# The modules of the runtime: `jdeps --print-module-deps --ignore-missing-deps` on the fat jar
# (java.base, java.compiler, java.desktop, java.instrument, java.naming, java.net.http, java.rmi,
# java.scripting, java.security.jgss, java.security.sasl, java.sql, jdk.management,
# jdk.unsupported) and what the JDK provides through services: logging, JMX, XML, EC crypto, the
# zip file system. jdeps takes half a minute on the fat jar, so the list is fixed here.
modules=java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management
modules+=,java.naming,java.net.http,java.rmi,java.scripting,java.security.jgss
modules+=,java.security.sasl,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.unsupported
modules+=,jdk.zipfs

# The runtime's libraries of windows, sound and fonts are left out (their X11, ALSA, FreeType
# dependencies are not in the image): the application runs headless.
gui_libs='libawt_xawt.so|libsplashscreen.so|libjsound.so|libjawt.so|libfontmanager.so|liblcms.so|libjavajpeg.so'

case "$(uname -m)" in
  x86_64)
    natives=(pytorch/cpu/linux-x86_64/ jnilib/linux-x86_64/cpu/ librocksdbjni-linux64.so linux/amd64/
      net/jpountz/util/linux/amd64/ org/xerial/snappy/native/Linux/x86_64/ org/jline/nativ/Linux/x86_64/ com/sun/jna/linux-x86-64/) ;;
  aarch64)
    natives=(pytorch/cpu/linux-aarch64/ jnilib/linux-aarch64/cpu/ librocksdbjni-linux-aarch64.so linux/aarch64/
      net/jpountz/util/linux/aarch64/ org/xerial/snappy/native/Linux/aarch64/ org/jline/nativ/Linux/arm64/ com/sun/jna/linux-aarch64/) ;;
  *) die "no list of the fat jar's native libraries for $(uname -m)" ;;
esac

rm -rf "$out" "$work"
mkdir -p "$out" "$work"
out="$(cd "$out" && pwd)" work="$(cd "$work" && pwd)"
rt="$out/opt/java/openjdk"

# 1. The runtime. jlink's legal/ has symbolic links: copied as files (Jib keeps no links).
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --output "$work/runtime"
mkdir -p "$(dirname "$rt")"
cp -RL "$work/runtime" "$rt"
rm -rf "$work/runtime"

# 2. The fat jar's native libraries for this platform, only to ask ldd what they need (they stay
#    in the jar: DJL, RocksDB and the others unpack them at run time).
entries=()
while IFS= read -r entry; do
  for prefix in "${natives[@]}"; do
    if [[ "$entry" == "$prefix"* && "$entry" != */ ]]; then entries+=("$entry"); fi
  done
done < <("$jdk/bin/jar" tf "$jar")
[[ ${#entries[@]} -gt 0 ]] || die "no Linux $(uname -m) native libraries in $jar"
(cd "$work" && "$jdk/bin/jar" xf "$jar" "${entries[@]}")

# 3. Every library those files need, outside the runtime and the jar's own.
files=("$rt/bin/java" "$rt/lib/server/libjvm.so")
for so in "$rt"/lib/*.so; do
  [[ "$(basename "$so")" =~ ^($gui_libs)$ ]] || files+=("$so")
done
native_dirs=""
for entry in "${entries[@]}"; do
  files+=("$work/$entry")
  native_dirs+=":$work/$(dirname "$entry")"
done
libs="$work/libs.txt"
: >"$libs"
for file in "${files[@]}"; do
  listing="$(LD_LIBRARY_PATH="$rt/lib/server:$rt/lib$native_dirs" ldd "$file" 2>&1)" \
    || die "ldd $file failed: $listing"
  if grep -q 'not found' <<<"$listing"; then
    die "ldd $file: a library is missing on this machine:"$'\n'"$(grep 'not found' <<<"$listing")"
  fi
  # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$listing" >>"$libs"
done
count=0
while IFS= read -r lib; do
  [[ "$lib" == "$rt/"* || "$lib" == "$work/"* ]] && continue
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib" # the name ldd resolved (the SONAME), with the content of its target
  count=$((count + 1))
done < <(sort -u "$libs")
[[ $count -gt 0 ]] || die "ldd resolved no system library"

# 4. The user and the directories it writes.
mkdir -p "$out/etc" "$out/data" "$out/cache/djl" "$out/tmp"
echo 'root:x:0:0:root:/root:/sbin/nologin' >"$out/etc/passwd"
echo 'infini:x:10001:10001:infini:/data:/sbin/nologin' >>"$out/etc/passwd"
printf 'root:x:0:\ninfini:x:10001:\n' >"$out/etc/group"

echo "image-root.sh: a runtime of $modules and $count libraries of this machine:" >&2
sort -u "$libs" | grep -v -e "^$rt/" -e "^$work/" | sed 's/^/  /' >&2
rm -rf "$work"
