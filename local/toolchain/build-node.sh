#!/usr/bin/env bash
# Builds the local cluster's real node (local/cluster/node.sh) into $TOOLCHAIN_BIN, besides the
# kubelet and kube-proxy that build-cluster.sh builds with the control plane:
#   containerd   containerd 2.x, its runc shim and ctr (Debian's containerd is 1.6)
#   runc         runc with seccomp (cgo, Debian's libseccomp-dev): Debian's 1.1.5 hides why a
#                container fails to start ("can't get final child's PID from pipe: EOF")
#   coredns      CoreDNS with the plugins the node's Corefile uses
#   node         from local/toolchain/modules/node: apiserver-proxy (lets pods reach the API server),
#                and hello-server (the real-node tests' HTTP server, a single static Go binary) as a
#                docker-archive tar in $NODE_IMAGES; the sandbox image is build-images.sh's pause
# The CNI plugins, iptables and conntrack are Debian's (containernetworking-plugins, iptables,
# conntrack). Each part is skipped when its output reports the version pinned in versions.sh (the
# node part: when its outputs are newer than their sources).
#
# Usage: build-node.sh [containerd|runc|coredns|node]...   (no argument: all of them)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

MODULES="$PROJECT_ROOT/local/toolchain/modules"
LOGS="$TOOLCHAIN_BUILD/logs"
NODE_IMAGES="$TRADING_BOT_CACHE/node-images"


# newer_sources <output> <module dir>: the output is missing or older than the module's sources.
newer_sources() {
  [[ ! -s "$1" || -n "$(find "$2" "$PROJECT_ROOT/local/toolchain/versions.sh" "${BASH_SOURCE[0]}" -newer "$1" -print -quit)" ]]
}

build_containerd() {
  local v="$CONTAINERD_VERSION" pkg=github.com/containerd/containerd/v2
  if reports containerd "containerd $pkg v$v" --version && reports ctr "ctr github.com/containerd/containerd/v2 v$v" --version &&
    [[ -x "$TOOLCHAIN_BIN/containerd-shim-runc-v2" ]]; then
    return
  fi
  require_pin containerd "$pkg" "$v"
  step "Building containerd v$v (containerd, containerd-shim-runc-v2, ctr)"
  # Static, without the btrfs and devmapper snapshotters (cgo, and unused: the node uses overlayfs).
  (cd "$MODULES/containerd" && CGO_ENABLED=0 run_logged "go build containerd" "$LOGS/containerd.log" \
    go build -trimpath -tags "no_btrfs no_devmapper" -ldflags "-s -w -X $pkg/version.Version=v$v" \
    -o "$TOOLCHAIN_BIN/" "$pkg/cmd/containerd" "$pkg/cmd/containerd-shim-runc-v2" "$pkg/cmd/ctr")
  reports containerd "containerd $pkg v$v" --version || die "containerd does not report v$v after the build"
}

build_runc() {
  local v="$RUNC_VERSION"
  if reports runc "runc version $v" --version && [[ "$("$TOOLCHAIN_BIN/runc" --version)" == *libseccomp:* ]]; then
    return
  fi
  require_pin runc github.com/opencontainers/runc "$v"
  [[ -f /usr/include/seccomp.h ]] || die "runc needs libseccomp's headers: apt-get install libseccomp-dev"
  command -v gcc >/dev/null || die "runc needs a C compiler (cgo): apt-get install gcc"
  step "Building runc v$v (with seccomp)"
  # cgo: runc's nsenter is C, and seccomp filters come from libseccomp. upstream's libpathrs tag
  # needs a Rust library Debian does not package; without it runc uses its Go path resolution.
  (cd "$MODULES/runc" && CGO_ENABLED=1 run_logged "go build runc" "$LOGS/runc.log" \
    go build -trimpath -tags "seccomp urfave_cli_no_docs" -ldflags "-s -w" -o "$TOOLCHAIN_BIN/runc" \
    github.com/opencontainers/runc)
  reports runc "runc version $v" --version || die "runc does not report v$v after the build"
}

build_coredns() {
  local v="$COREDNS_VERSION"
  # Our main decides which plugins are linked: rebuilt when it changes too.
  if reports coredns "CoreDNS-$v" -version && ! newer_sources "$TOOLCHAIN_BIN/coredns" "$MODULES/coredns"; then
    return
  fi
  require_pin coredns github.com/coredns/coredns "$v"
  step "Building CoreDNS v$v"
  (cd "$MODULES/coredns" && CGO_ENABLED=0 run_logged "go build coredns" "$LOGS/coredns.log" \
    go build -trimpath -ldflags "-s -w" -o "$TOOLCHAIN_BIN/coredns" .)
  touch "$TOOLCHAIN_BIN/coredns"
  reports coredns "CoreDNS-$v" -version || die "coredns does not report v$v after the build"
}

# docker_archive <binary> <image reference> <output tar>: an image whose only layer holds the
# binary at /<name>, run as its entrypoint. The format `ctr images import` reads: manifest.json,
# the config JSON (named by its digest) and the layer tar.
docker_archive() {
  local bin="$1" ref="$2" out="$3" name work layer_digest config config_digest
  name=$(basename "$bin")
  work=$(mktemp -d)
  mkdir -p "$work/rootfs"
  cp "$bin" "$work/rootfs/$name"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" "$name"
  layer_digest=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  config=$(printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/%s"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"local/toolchain/build-node.sh"}]}' "$name" "$layer_digest")
  config_digest=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$work/$config_digest.json"
  mv "$work/layer.tar" "$work/$layer_digest.tar"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s.tar"]}]' "$config_digest" "$ref" "$layer_digest" >"$work/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" \
    manifest.json "$config_digest.json" "$layer_digest.tar"
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

build_node() {
  local module="$MODULES/node" name ref
  if newer_sources "$TOOLCHAIN_BIN/apiserver-proxy" "$module/apiserver-proxy"; then
    step "Building apiserver-proxy"
    (cd "$module" && CGO_ENABLED=0 run_logged "go build apiserver-proxy" "$LOGS/apiserver-proxy.log" \
      go build -trimpath -ldflags "-s -w" -o "$TOOLCHAIN_BIN/apiserver-proxy" ./apiserver-proxy)
    touch "$TOOLCHAIN_BIN/apiserver-proxy"
  fi
  mkdir -p "$NODE_IMAGES"
  for name in hello-server; do
    ref="$NODE_HELLO_IMAGE"
    newer_sources "$NODE_IMAGES/$name.tar" "$module/$name" || continue
    step "Building the $name image ($ref)"
    (cd "$module" && CGO_ENABLED=0 run_logged "go build $name" "$LOGS/$name.log" \
      go build -trimpath -ldflags "-s -w" -o "$TOOLCHAIN_BUILD/node-images/$name" "./$name")
    docker_archive "$TOOLCHAIN_BUILD/node-images/$name" "$ref" "$NODE_IMAGES/$name.tar"
    info "$name: $NODE_IMAGES/$name.tar"
  done
}

mkdir -p "$TOOLCHAIN_BIN"
parts=("$@")
(( ${#parts[@]} )) || parts=(containerd runc coredns node)
for part in "${parts[@]}"; do
  case "$part" in
    containerd | runc | coredns | node) "build_$part" ;;
    *) die "unknown part '$part' (expected containerd, runc, coredns or node)" ;;
  esac
done
