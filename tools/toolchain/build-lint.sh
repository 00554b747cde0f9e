#!/usr/bin/env bash
# actionlint, which the tests run on .github/workflows, built from its Go module.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
bin="$TOOLCHAIN_BIN/actionlint"
# Read the version into a variable first: a pipe into `grep -q` can SIGPIPE the binary under pipefail.
if [[ -x "$bin" ]] && version=$("$bin" -version 2>/dev/null) && [[ "${version%%$'\n'*}" == "$ACTIONLINT_VERSION" ]]; then
  exit 0
fi
step "Building actionlint $ACTIONLINT_VERSION"
mkdir -p "$TOOLCHAIN_BIN"
run_logged "actionlint" "$TRADING_BOT_CACHE/logs/build-actionlint.log" \
  env GOBIN="$TOOLCHAIN_BIN" GOFLAGS= go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
