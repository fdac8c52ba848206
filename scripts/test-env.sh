#!/usr/bin/env bash
# Makes sure what the tests need is here: a running Docker engine (Debian's
# docker.io, started by hand when no service manager runs it), the
# local test images built from Debian's busybox-static without any registry,
# and Debian's chromium with the Liberation fonts for the browser test of
# the HTML export (report/htmltest); Debian's etcd-server, and a
# kube-apiserver and kubectl built from source (scripts/kube-test-env.sh
# build: about six minutes the first time, kubectl a minute or two more,
# then cached) for the Kubernetes tests; Debian's postgresql for the
# PostgreSQL store's tests; Debian's containerd and runc for the container
# runtime tests (each starts its own containerd).
# Installs packages only when they are missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
# PostgreSQL's server binaries (initdb, pg_ctl): each test binary starts a
# private cluster of its own (internal/pgtest), never the packaged service.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "test-env: missing ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "test-env: installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-env: no Docker engine answers and only root can start dockerd" >&2
    exit 1
  fi
  log=$(mktemp -t dockerd.XXXXXX.log)
  echo "test-env: starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "test-env: dockerd did not come up:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
fi

# Rebuilds only the images whose recipe (testdata/docker/images/NAME)
# changed; errors show.
bash testdata/docker/build-images.sh | sed -n 's/^built /test-env: built /p'
bash scripts/kube-test-env.sh build
echo "test-env: Docker $(docker version --format '{{.Server.Version}}') ready with the test images"
