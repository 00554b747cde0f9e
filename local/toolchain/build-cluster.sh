#!/usr/bin/env bash
# Builds the local Kubernetes control plane into $TOOLCHAIN_BIN from Go modules:
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (Kubernetes), etcd, kwok,
# and the cluster's own volume provisioner (local-provisioner).
# Each part is skipped when its binaries exist and report the version pinned in versions.sh,
# and rebuilt when the pin changes; local-provisioner, which has no version, when its sources are
# newer than its binary.
#
# Usage: build-cluster.sh [kubernetes|etcd|kwok|local-provisioner|kubelet]...
#        (no argument: all of them but kubelet, which local/cluster/node.sh builds for the real node)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

MODULES="$PROJECT_ROOT/local/toolchain/modules"
LOGS="$TOOLCHAIN_BUILD/logs"

# kube_version_flags: the -X flags that stamp the pinned version into Kubernetes binaries (without
# them they report v0.0.0, which clients such as pulumi-kubernetes refuse).
kube_version_flags() {
  local v="$KUBERNETES_VERSION" major minor pkg
  IFS=. read -r major minor _ <<<"$v"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=v%s -X %s.gitMajor=%s -X %s.gitMinor=%s ' "$pkg" "$v" "$pkg" "$major" "$pkg" "$minor"
  done
  printf -- '-X k8s.io/component-base/version.gitTreeState=clean'
}

build_kubernetes() {
  local v="$KUBERNETES_VERSION"
  if reports kube-apiserver "Kubernetes v$v" --version &&
    reports kube-controller-manager "Kubernetes v$v" --version &&
    reports kube-scheduler "Kubernetes v$v" --version &&
    reports kubectl "Client Version: v$v" version --client; then
    return
  fi
  require_pin kubernetes k8s.io/kubernetes "$v"
  step "Building Kubernetes v$v (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl); a cold build takes tens of minutes"
  (cd "$MODULES/kubernetes" && run_logged "go build kubernetes" "$LOGS/kubernetes.log" \
    go build -trimpath -ldflags "-s -w $(kube_version_flags)" -o "$TOOLCHAIN_BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  reports kube-apiserver "Kubernetes v$v" --version || die "kube-apiserver does not report v$v after the build"
}

# The real node's kubelet and kube-proxy (local/cluster/node.sh), from the same module and version
# stamp as the control plane. Not part of the default build: node.sh asks for it.
build_kubelet() {
  local v="$KUBERNETES_VERSION"
  if reports kubelet "Kubernetes v$v" --version && reports kube-proxy "Kubernetes v$v" --version; then
    return
  fi
  require_pin kubernetes k8s.io/kubernetes "$v"
  step "Building Kubernetes v$v kubelet and kube-proxy"
  (cd "$MODULES/kubernetes" && run_logged "go build kubelet" "$LOGS/kubelet.log" \
    go build -trimpath -ldflags "-s -w $(kube_version_flags)" -o "$TOOLCHAIN_BIN/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  reports kubelet "Kubernetes v$v" --version || die "kubelet does not report v$v after the build"
}

# build_module <name> <module> <version> <main package> <expected version text> <version args...>
# Builds one binary from the wrapper module local/toolchain/modules/<name>, whose go.mod pins <module>.
build_module() {
  local name="$1" module="$2" version="$3" pkg="$4" want="$5"; shift 5
  if reports "$name" "$want" "$@"; then
    return
  fi
  require_pin "$name" "$module" "$version"
  step "Building $name v$version"
  (cd "$MODULES/$name" && run_logged "go build $name" "$LOGS/$name.log" \
    go build -trimpath -ldflags "-s -w" -o "$TOOLCHAIN_BIN/$name" "$pkg")
  reports "$name" "$want" "$@" || die "$name does not report v$version after the build"
}

build_etcd() {
  # etcd prints "etcd Version: 3.6.16" (no v).
  build_module etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "etcd Version: $ETCD_VERSION" --version
}

build_kwok() {
  build_module kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "kwok version v$KWOK_VERSION" --version
}

# Our provisioner (local/toolchain/modules/kubernetes/cmd/local-provisioner) lives in the Kubernetes
# wrapper module, so it builds against the control plane's client-go from the same build cache (a
# link of some 15 s). Rebuilt when its sources or the module's go.mod/go.sum (the k8s.io versions)
# are newer than the binary.
build_local-provisioner() {
  local bin="$TOOLCHAIN_BIN/local-provisioner" module="$MODULES/kubernetes"
  if [[ -x "$bin" && -z "$(find "$module/cmd/local-provisioner" "$module/go.mod" "$module/go.sum" -newer "$bin" -print -quit)" ]]; then
    return
  fi
  require_pin kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION"
  step "Building local-provisioner (local/toolchain/modules/kubernetes/cmd/local-provisioner)"
  (cd "$module" && run_logged "go build local-provisioner" "$LOGS/local-provisioner.log" \
    go build -trimpath -ldflags "-s -w" -o "$bin" ./cmd/local-provisioner)
  # go build leaves an output that is already up to date untouched; mark it as checked against the sources.
  touch "$bin"
}

mkdir -p "$TOOLCHAIN_BIN"
parts=("$@")
(( ${#parts[@]} )) || parts=(kubernetes etcd kwok local-provisioner)
for part in "${parts[@]}"; do
  case "$part" in
    kubernetes | etcd | kwok | local-provisioner | kubelet) "build_$part" ;;
    *) die "unknown part '$part' (expected kubernetes, etcd, kwok, local-provisioner or kubelet)" ;;
  esac
done
