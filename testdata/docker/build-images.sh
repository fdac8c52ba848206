#!/usr/bin/env bash
# Builds the local test images from Debian's busybox-static, without any
# registry: a root file system imported with `docker import`, then small
# Dockerfiles on top of it (the classic builder uses the local base image).
#   baseline-test/base:1      busybox only: no USER, no HEALTHCHECK
#   baseline-test/hardened:1  USER 1000, HEALTHCHECK, COPY only
#   baseline-test/add:1       an ADD instruction in its history
#   baseline-test/setuid:1    a setuid and a setgid file
set -euo pipefail
busybox=$(command -v busybox)
case "$(file -b "$busybox" 2>/dev/null || true)" in
  *dynamically*) echo "busybox at $busybox is not static; install busybox-static" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp "$busybox" "$work/rootfs/bin/busybox"
for app in sh ls cat sleep true id echo chmod touch; do ln -s busybox "$work/rootfs/bin/$app"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:1000:1000:nobody:/:/bin/sh\n' > "$work/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:1000:\n' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' - baseline-test/base:1 >/dev/null

build() { # tag, Dockerfile body
  mkdir -p "$work/$1"
  printf '%s\n' "$2" > "$work/$1/Dockerfile"
  echo hello > "$work/$1/hello.txt"
  DOCKER_BUILDKIT=0 docker build -q -t "baseline-test/$1:1" "$work/$1" >/dev/null
}
build hardened 'FROM baseline-test/base:1
COPY hello.txt /hello.txt
HEALTHCHECK --interval=30s CMD ["/bin/true"]
USER 1000'
build add 'FROM baseline-test/base:1
ADD hello.txt /hello.txt
USER 1000
HEALTHCHECK CMD ["/bin/true"]'
build setuid 'FROM baseline-test/base:1
COPY hello.txt /usr/local/bin/helper
RUN chmod 4755 /usr/local/bin/helper && cp /usr/local/bin/helper /usr/local/bin/helper2 && chmod 2755 /usr/local/bin/helper2
USER 1000
HEALTHCHECK CMD ["/bin/true"]'
docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep '^baseline-test/'
