#!/usr/bin/env bash
# Starts a real Kubernetes API server for tests, on loopback only: Debian's
# etcd-server and a kube-apiserver built from the k8s.io/kubernetes module
# (tools/kube-apiserver; no binary is downloaded), with the kubectl of the
# same version for the tests whose benchmark audits run it
# (tools/kube-apiserver/kubectl). The builds take several minutes (kubectl
# a minute or two more: it shares most of the build) and are cached in
# $BASELINE_CACHE (default ~/.cache/baseline).
#
#   scripts/kube-test-env.sh build       # install etcd-server, build kube-apiserver and kubectl (cached)
#   scripts/kube-test-env.sh start DIR   # start etcd and the API server; DIR/kubeconfig
#   scripts/kube-test-env.sh stop DIR
#
# The Go tests start their own servers (internal/kubetest); they need only
# `build`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && { [ -n "$dir" ] || [ "$cmd" = build ]; } || { echo "usage: $0 build | start|stop DIR" >&2; exit 2; }
cache=${BASELINE_CACHE:-$HOME/.cache/baseline}
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' tools/kube-apiserver/go.mod)
minor=$(echo "$version" | cut -d. -f2)
bin="$cache/kube-apiserver-$version"
kubectl="$cache/kubectl-$version"

case "$cmd" in
stop)
  for p in apiserver etcd; do
    [ -f "$dir/$p.pid" ] || continue
    pid=$(cat "$dir/$p.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$dir/$p.pid"
  done
  exit 0 ;;
start|build) ;;
*) echo "usage: $0 build | start|stop DIR" >&2; exit 2 ;;
esac

if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "kube-test-env: install etcd-server" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
fi
ldflags="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  echo "kube-test-env: building kube-apiserver $version (several minutes, cached in $cache)"
  (cd tools/kube-apiserver && go build -ldflags "$ldflags" -o "$bin.tmp" . && mv "$bin.tmp" "$bin")
fi
if [ ! -x "$kubectl" ]; then
  mkdir -p "$cache"
  echo "kube-test-env: building kubectl $version (about two minutes, cached in $cache)"
  (cd tools/kube-apiserver && go build -ldflags "$ldflags" -o "$kubectl.tmp" ./kubectl && mv "$kubectl.tmp" "$kubectl")
fi

[ "$cmd" = build ] && exit 0

mkdir -p "$dir/etcd" "$dir/certs"
etcd --data-dir "$dir/etcd" --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 >"$dir/etcd.log" 2>&1 &
echo $! >"$dir/etcd.pid"
[ -f "$dir/sa.key" ] || openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
token=$(openssl rand -hex 16)
echo "$token,baseline-admin,baseline-admin,system:masters" >"$dir/tokens.csv"
# argv[0] is the component's name, as on a node, so that node checks find it.
(exec -a kube-apiserver "$bin" --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --secure-port=6443 --cert-dir="$dir/certs" \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.key" \
  --service-account-signing-key-file="$dir/sa.key" --token-auth-file="$dir/tokens.csv" \
  --authorization-mode=Node,RBAC --service-cluster-ip-range=10.96.0.0/24 --anonymous-auth=false \
  --enable-admission-plugins=NodeRestriction --profiling=false) >"$dir/apiserver.log" 2>&1 &
echo $! >"$dir/apiserver.pid"
cat >"$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KC
for _ in $(seq 1 60); do
  # Ready, and the bootstrap namespaces (the cluster's identity) exist.
  if curl -sk -H "Authorization: Bearer $token" https://127.0.0.1:6443/readyz 2>/dev/null | grep -q ok &&
    curl -skf -o /dev/null -H "Authorization: Bearer $token" https://127.0.0.1:6443/api/v1/namespaces/kube-system; then
    echo "kube-test-env: API server ready; kubeconfig in $dir/kubeconfig"
    exit 0
  fi
  sleep 1
done
echo "kube-test-env: the API server did not become ready:" >&2
tail -20 "$dir/apiserver.log" >&2
exit 1
