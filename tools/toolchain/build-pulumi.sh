#!/usr/bin/env bash
# Builds the Pulumi toolchain the project runs offline, from Go modules, into $TOOLCHAIN_BIN:
#   pulumi                   the CLI and engine (wrapper module tools/toolchain/modules/pulumi)
#   pulumi-language-nodejs   our Node.js language host (tools/language-host)
#   pulumi-resource-kubernetes, installed as a plugin into $PULUMI_HOME
# Each step is skipped when its output is there at the pinned version, so a run with nothing
# to do prints nothing. A `pulumi` already on PATH at exactly PULUMI_VERSION is used as is.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

export PULUMI_HOME="$TRADING_BOT_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
LOGS="$TOOLCHAIN_BUILD/logs"
CLI_MODULE="$PROJECT_ROOT/tools/toolchain/modules/pulumi"
LANGUAGE_HOST_SRC="$PROJECT_ROOT/tools/language-host"
mkdir -p "$TOOLCHAIN_BIN"

# version_of BINARY ARGS...: the binary's version output, or nothing when it cannot run.
version_of() { [[ -x "$1" ]] && "$@" 2>/dev/null | head -n 1 || true; }

# The CLI. The wrapper module must require the pinned version: a bump of PULUMI_VERSION moves
# it there (commit the go.mod/go.sum change), then the stale binary fails the check and rebuilds.
build_cli() {
  local ambient
  ambient=$(command -v pulumi || true)
  if [[ -n "$ambient" && "$ambient" != "$TOOLCHAIN_BIN/pulumi" &&
        "$(version_of "$ambient" version)" == "v$PULUMI_VERSION" ]]; then
    PULUMI_BIN="$ambient"
    return
  fi
  PULUMI_BIN="$TOOLCHAIN_BIN/pulumi"
  [[ "$(version_of "$PULUMI_BIN" version)" == "v$PULUMI_VERSION" ]] && return

  step "Building the Pulumi CLI v$PULUMI_VERSION"
  if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION\$" "$CLI_MODULE/go.mod"; then
    info "moving $CLI_MODULE/go.mod to v$PULUMI_VERSION (commit the change)"
    (cd "$CLI_MODULE" &&
      go get "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" &&
      go mod tidy) >"$LOGS/pulumi-go-get.log" 2>&1 || die "go get failed; see $LOGS/pulumi-go-get.log"
  fi
  # Upstream's release flags: static, no cgo user lookup, no gRPC tracing, version stamped.
  run_logged "go build pulumi" "$LOGS/pulumi.log" \
    env -C "$CLI_MODULE" CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$PULUMI_BIN" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

# The language host: rebuilt when the pinned version changes or any of its sources is newer.
build_language_host() {
  local bin="$TOOLCHAIN_BIN/pulumi-language-nodejs"
  if [[ "$(version_of "$bin" -version)" == "$PULUMI_VERSION" ]] &&
     [[ -z "$(find "$LANGUAGE_HOST_SRC" -newer "$bin" \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print -quit)" ]]; then
    return
  fi
  step "Building the Node.js language host"
  run_logged "go build pulumi-language-nodejs" "$LOGS/pulumi-language-nodejs.log" \
    env -C "$LANGUAGE_HOST_SRC" CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$bin" .
}

# The Kubernetes provider plugin, installed into $PULUMI_HOME where the engine looks for it.
build_kubernetes_provider() {
  local version="$KUBERNETES_PROVIDER_VERSION"
  if "$PULUMI_BIN" plugin ls 2>/dev/null | grep -Eq "^kubernetes +resource +$version( |\$)"; then
    return
  fi
  local module="github.com/pulumi/pulumi-kubernetes/provider/v4"
  local src="$TOOLCHAIN_BUILD/pulumi-kubernetes-$version"
  local bin="$TOOLCHAIN_BUILD/pulumi-kubernetes-$version-bin/pulumi-resource-kubernetes"
  step "Building the Kubernetes provider plugin v$version"

  if [[ ! -f "$src/.prepared" ]]; then
    # The module cache is read-only and lacks the generated embeds, so work on a copy.
    local dir
    dir=$(go mod download -json "$module@$KUBERNETES_PROVIDER_MODULE_VERSION" |
          sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -d "$dir" ]] || die "could not download $module@$KUBERNETES_PROVIDER_MODULE_VERSION"
    rm -rf "$src" && mkdir -p "$(dirname "$src")" && cp -r "$dir" "$src" && chmod -R u+w "$src"
    # go.mod points sdk/v4 at ../sdk, which the module zip does not contain: use the
    # published sdk/v4 of the same release instead.
    (cd "$src" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
                               -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@v$version")
    # main.go go:embeds schema-embed.json and terraform-mapping-embed.json; upstream's
    # Makefile generates them from the committed schema.json with the release version.
    run_logged "generate the provider schema" "$LOGS/pulumi-kubernetes-generate.log" \
      env -C "$src/cmd/pulumi-resource-kubernetes" VERSION="$version" go run generate.go
    touch "$src/.prepared"
  fi

  mkdir -p "$(dirname "$bin")"
  run_logged "go build pulumi-resource-kubernetes" "$LOGS/pulumi-kubernetes.log" \
    env -C "$src" CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
      -o "$bin" ./cmd/pulumi-resource-kubernetes
  "$PULUMI_BIN" plugin install resource kubernetes "$version" --file "$bin" --reinstall >"$LOGS/pulumi-kubernetes-install.log" 2>&1 ||
    { cat "$LOGS/pulumi-kubernetes-install.log" >&2; die "pulumi plugin install resource kubernetes $version failed"; }
  info "installed plugin resource kubernetes $version into $PULUMI_HOME"
}

mkdir -p "$LOGS"
# Two commands started at once (say, a preview in each of two terminals) must not build into
# the same files: the second waits for the first, then finds everything built.
exec 9>"$TOOLCHAIN_BUILD/.build-pulumi.lock"
if ! flock -n 9; then
  info "waiting for another build of the Pulumi toolchain to finish"
  flock 9
fi
build_cli
build_language_host
build_kubernetes_provider
