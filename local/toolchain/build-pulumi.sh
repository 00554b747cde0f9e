#!/usr/bin/env bash
# Builds the Pulumi toolchain the project runs offline, from Go modules, into $TOOLCHAIN_BIN:
#   pulumi                   the CLI and engine (wrapper module local/toolchain/modules/pulumi)
#   pulumi-language-nodejs   our Node.js language host (local/language-host)
#   pulumi-resource-kubernetes, installed as a plugin into $PULUMI_HOME
# Each step is skipped when its output is there at the pinned version, so a run with nothing
# to do prints nothing. A `pulumi` already on PATH at exactly PULUMI_VERSION is used as is.
# Binaries are built beside their final name and moved into place, so an interrupted build
# never leaves a broken one behind and a running `pulumi` is not overwritten in place.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

export PULUMI_HOME="$TRADING_BOT_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
LOGS="$TOOLCHAIN_BUILD/logs"
CLI_MODULE="$PROJECT_ROOT/local/toolchain/modules/pulumi"
LANGUAGE_HOST_SRC="$PROJECT_ROOT/local/language-host"
mkdir -p "$TOOLCHAIN_BIN"

# version_of BINARY ARGS...: the binary's version output, or nothing when it cannot run.
version_of() {
  local out
  [[ -x "$1" ]] && out=$("$@" 2>/dev/null) && echo "${out%%$'\n'*}"
  return 0
}

# The CLI. The wrapper module must require the pinned version: a bump of PULUMI_VERSION moves
# it there (commit the go.mod/go.sum change), then the stale binary fails the check and rebuilds.
build_cli() {
  local ambient
  ambient=$(command -v pulumi || true)
  if [[ -n "$ambient" && "$ambient" != "$TOOLCHAIN_BIN/pulumi" &&
        "$(version_of "$ambient" version)" == "v$PULUMI_VERSION" ]]; then
    PULUMI_BIN="$ambient"
    # scripts/pulumi.sh puts $TOOLCHAIN_BIN first on PATH: a stale build there would win.
    rm -f "$TOOLCHAIN_BIN/pulumi"
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
      -o "$PULUMI_BIN.new" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv -f "$PULUMI_BIN.new" "$PULUMI_BIN"
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
      -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$bin.new" .
  mv -f "$bin.new" "$bin"
}

# The Kubernetes provider plugin, installed into $PULUMI_HOME where the engine looks for it.
build_kubernetes_provider() {
  local version="$KUBERNETES_PROVIDER_VERSION" installed
  # Not `plugin ls | grep -q`: grep stops reading at the first match, pulumi then dies of
  # SIGPIPE, and pipefail turns the match into a failure.
  installed=$("$PULUMI_BIN" plugin ls 2>/dev/null || true)
  grep -Eq "^kubernetes +resource +$version( |\$)" <<<"$installed" && return
  local module="github.com/pulumi/pulumi-kubernetes/provider/v4"
  local src="$TOOLCHAIN_BUILD/pulumi-kubernetes-$version"
  local bin="$TOOLCHAIN_BUILD/pulumi-kubernetes-$version-bin/pulumi-resource-kubernetes"
  step "Building the Kubernetes provider plugin v$version"

  # .prepared records the module version the copy was made from.
  if [[ "$(cat "$src/.prepared" 2>/dev/null)" != "$KUBERNETES_PROVIDER_MODULE_VERSION" ]]; then
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
    echo "$KUBERNETES_PROVIDER_MODULE_VERSION" >"$src/.prepared"
  fi

  mkdir -p "$(dirname "$bin")"
  run_logged "go build pulumi-resource-kubernetes" "$LOGS/pulumi-kubernetes.log" \
    env -C "$src" CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
      -o "$bin.new" ./cmd/pulumi-resource-kubernetes
  mv -f "$bin.new" "$bin"
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
