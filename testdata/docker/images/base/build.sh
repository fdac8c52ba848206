#!/usr/bin/env bash
# baseline-test/base: busybox only, no USER, no HEALTHCHECK. A root file
# system imported with `docker import` (no registry): Debian's
# busybox-static, a few applets, and the passwd and group files beside
# this script. Usage: build.sh BUSYBOX TAG (run in this directory).
set -euo pipefail
busybox=$1 tag=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp "$busybox" "$work/rootfs/bin/busybox"
for app in sh ls cat sleep true id echo chmod touch; do ln -s busybox "$work/rootfs/bin/$app"; done
cp passwd group "$work/rootfs/etc/"
chmod 0644 "$work/rootfs/etc/passwd" "$work/rootfs/etc/group"
tar -C "$work/rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' - "$tag" >/dev/null
