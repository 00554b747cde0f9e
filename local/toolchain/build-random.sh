#!/usr/bin/env bash
# Builds the Pulumi resource provider plugin "random" at RANDOM_PROVIDER_VERSION (the version of
# the @pulumi/random npm package) from Go modules: terraform-provider-random bridged with
# pulumi-terraform-bridge (wrapper module local/toolchain/modules/random), and installs it as a
# plugin into $PULUMI_HOME when a `pulumi` CLI is there to do it.
#   1. pulumi-tfgen-random writes schema.json and bridge-metadata.json into the build directory;
#   2. pulumi-resource-random is built with both embedded and the version stamped.
# The binary stays in the build directory, not in $TOOLCHAIN_BIN: that directory is on PATH for
# `pulumi`, and the engine warns on every run about a provider plugin it finds on PATH.
# A run with nothing to do (same version, same sources, plugin installed) prints nothing.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

export PULUMI_HOME="$TRADING_BOT_CACHE/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
VERSION="$RANDOM_PROVIDER_VERSION"
TF_MODULE=github.com/terraform-providers/terraform-provider-random
MODULE="$PROJECT_ROOT/local/toolchain/modules/random"
LOGS="$TOOLCHAIN_BUILD/logs"
WORK="$TOOLCHAIN_BUILD/pulumi-random"
SRC="$WORK/src"              # a copy of $MODULE, plus the generated files main.go embeds
SCHEMA_DIR="$WORK/schema"    # tfgen output, kept between builds (tfgen reads its old metadata)
BIN="$WORK/bin/pulumi-resource-random"
STAMP="$WORK/bin/sources.sha256"
LDFLAGS="-s -w -X local/toolchain/random/provider.Version=$VERSION"

# The wrapper module must require the pinned terraform-provider-random: a bump of the pin moves
# go.mod there (commit the go.mod/go.sum change), which then changes the sources hash below.
pin_tf_provider() {
  grep -Eq "^[[:space:]]*$TF_MODULE $RANDOM_TF_PROVIDER_MODULE_VERSION( |\$)" "$MODULE/go.mod" && return
  info "moving $MODULE/go.mod to $TF_MODULE $RANDOM_TF_PROVIDER_MODULE_VERSION (commit the change)"
  mkdir -p "$LOGS"
  (cd "$MODULE/shim" && go mod edit -require="$TF_MODULE@$RANDOM_TF_PROVIDER_MODULE_VERSION" &&
    cd "$MODULE" && go get "$TF_MODULE@$RANDOM_TF_PROVIDER_MODULE_VERSION" && go mod tidy) \
    >"$LOGS/pulumi-random-go-get.log" 2>&1 || die "go get failed; see $LOGS/pulumi-random-go-get.log"
}

# Everything the binary is made of: the module's files, the versions, the Go toolchain, this
# script's contents (not its path: the project may live anywhere).
sources_hash() {
  {
    (cd "$MODULE" && find . -type f ! -name schema.json ! -name bridge-metadata.json -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum)
    echo "$VERSION $RANDOM_TF_PROVIDER_MODULE_VERSION $(go env GOVERSION) $GOFLAGS $CGO_ENABLED"
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -d' ' -f1
}

build_provider() {
  local hash
  hash=$(sources_hash)
  if [[ -x "$BIN" && "$(timeout 20 "$BIN" -version 2>/dev/null)" == "$VERSION" && "$(cat "$STAMP" 2>/dev/null)" == "$hash" ]]; then
    return
  fi
  step "Building the Random provider plugin v$VERSION"
  mkdir -p "$LOGS" "$SCHEMA_DIR" "$WORK/bin"
  rm -rf "$SRC" && cp -r "$MODULE" "$SRC" && chmod -R u+w "$SRC"
  rm -f "$SRC/cmd/pulumi-resource-random/schema.json" "$SRC/cmd/pulumi-resource-random/bridge-metadata.json"

  run_logged "go build pulumi-tfgen-random" "$LOGS/pulumi-random-tfgen-build.log" \
    env -C "$SRC" go build -trimpath -ldflags "$LDFLAGS" -o "$WORK/bin/pulumi-tfgen-random" ./cmd/pulumi-tfgen-random
  # Run from provider/: the bridge looks up terraform-provider-random's docs through go.mod
  # there. Examples are skipped: converting them needs converter plugins we do not have.
  run_logged "generate the schema" "$LOGS/pulumi-random-tfgen.log" \
    env -C "$SRC/provider" "$WORK/bin/pulumi-tfgen-random" schema --out "$SCHEMA_DIR" --skip-examples
  cp "$SCHEMA_DIR/schema.json" "$SCHEMA_DIR/bridge-metadata.json" "$SRC/cmd/pulumi-resource-random/"

  run_logged "go build pulumi-resource-random" "$LOGS/pulumi-random.log" \
    env -C "$SRC" go build -trimpath -ldflags "$LDFLAGS" -o "$BIN.tmp" ./cmd/pulumi-resource-random
  local got
  got=$(timeout 20 "$BIN.tmp" -version 2>/dev/null || true)
  [[ "$got" == "$VERSION" ]] || die "pulumi-resource-random reports version '$got', want $VERSION"
  mv -f "$BIN.tmp" "$BIN"
  echo "$hash" >"$STAMP"
  info "built $BIN"
}

# Installs the binary as plugin resource random $VERSION, unless that exact binary is installed.
install_plugin() {
  local pulumi
  pulumi=$(command -v pulumi || true)
  [[ -n "$pulumi" ]] || { [[ -x "$TOOLCHAIN_BIN/pulumi" ]] && pulumi="$TOOLCHAIN_BIN/pulumi"; }
  if [[ -z "$pulumi" ]]; then
    info "no pulumi CLI yet: plugin resource random $VERSION not installed (run this again after build-pulumi.sh)"
    return
  fi
  cmp -s "$BIN" "$PULUMI_HOME/plugins/resource-random-v$VERSION/pulumi-resource-random" && return
  mkdir -p "$LOGS"
  "$pulumi" plugin install resource random "$VERSION" --file "$BIN" --reinstall >"$LOGS/pulumi-random-install.log" 2>&1 ||
    { cat "$LOGS/pulumi-random-install.log" >&2; die "pulumi plugin install resource random $VERSION failed"; }
  info "installed plugin resource random $VERSION into $PULUMI_HOME"
}

pin_tf_provider
build_provider
install_plugin
