#!/usr/bin/env bash
# Builds the local test images from Debian's busybox-static, without any
# registry. Each image NAME has its recipe in images/NAME/ (see README.md):
# a build.sh that imports a root file system (`docker import`), or a
# Dockerfile on top of another local test image (classic builder).
#
# An image is tagged baseline-test/NAME:recipe-HASH, HASH the first 12 hex
# digits of a sha256 over its recipe's files and what it is built from (the
# busybox binary, or its FROM image's HASH), and baseline-test/NAME:1, the
# tag the tests use, points at the current one. An image whose hash tag
# exists is reused; an edited recipe gives a new HASH, so it (and the
# images built on it) are rebuilt at the next run. Prints `built TAG` or
# `reused TAG` per image. (The engine lists an image's tags in lexical
# order and a scan names an image by its first tag: `recipe-` keeps :1
# first.)
set -euo pipefail
cd "$(dirname "$0")/images"
busybox=$(command -v busybox || true)
if [ -z "$busybox" ]; then
  echo "busybox is not installed; install busybox-static" >&2
  exit 1
fi
case "$(file -b "$busybox" 2>/dev/null || true)" in
  *dynamically*) echo "busybox at $busybox is not static; install busybox-static" >&2; exit 1 ;;
esac

# One build at a time on this engine (it may be shared by several checkouts).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/baseline-test-images.lock"
  flock 9
fi

declare -A hash=()

# parent NAME: the local test image NAME's Dockerfile is built FROM, if any.
parent() {
  [ -f "$1/Dockerfile" ] || return 0
  sed -n 's|^FROM[[:space:]]\{1,\}baseline-test/\([^:[:space:]]*\).*|\1|p' "$1/Dockerfile" | head -1
}

# image NAME: makes sure baseline-test/NAME:recipe-HASH exists (its parent first)
# and points baseline-test/NAME:1 at it.
image() {
  local name=$1 from h tag work out
  [ -n "${hash[$name]:-}" ] && return 0
  if [ ! -f "$name/build.sh" ] && [ ! -f "$name/Dockerfile" ]; then
    echo "images/$name: neither build.sh nor Dockerfile" >&2
    exit 1
  fi
  from=$(parent "$name")
  [ -z "$from" ] || image "$from"
  h=$( {
    (cd "$name" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum)
    if [ -n "$from" ]; then echo "from baseline-test/$from:${hash[$from]}"; else sha256sum <"$busybox"; fi
  } | sha256sum | cut -c1-12)
  hash[$name]=$h
  tag=baseline-test/$name:recipe-$h
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "reused $tag"
  else
    if [ -f "$name/build.sh" ]; then
      (cd "$name" && bash build.sh "$busybox" "$tag")
    else
      # Built from a copy whose FROM names the parent's hash tag.
      work=$(mktemp -d)
      cp -R "$name/." "$work/"
      [ -z "$from" ] || sed -i "s|^\(FROM[[:space:]]\{1,\}\)baseline-test/$from:[^[:space:]]*|\1baseline-test/$from:recipe-${hash[$from]}|" "$work/Dockerfile"
      # The classic builder's deprecation notice is shown only on failure.
      if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" 2>&1); then
        rm -rf "$work"
        echo "building $tag:" >&2
        echo "$out" >&2
        exit 1
      fi
      rm -rf "$work"
    fi
    echo "built $tag"
  fi
  docker tag "$tag" "baseline-test/$name:1"
}

for dir in */; do
  image "${dir%/}"
done
