#!/usr/bin/env bash
# The linters the tests and `npm run check` run, built from their Go modules at the versions pinned in
# versions.sh: actionlint (on .github/workflows) and kube-score (on each stack's manifests).
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
mkdir -p "$TOOLCHAIN_BIN"

# Read each version into a variable first: a pipe into `grep -q` can SIGPIPE the binary under pipefail.
bin="$TOOLCHAIN_BIN/actionlint"
if ! { [[ -x "$bin" ]] && version=$("$bin" -version 2>/dev/null) && [[ "${version%%$'\n'*}" == "$ACTIONLINT_VERSION" ]]; }; then
  step "Building actionlint $ACTIONLINT_VERSION"
  run_logged "actionlint" "$TRADING_BOT_CACHE/logs/build-actionlint.log" \
    env GOBIN="$TOOLCHAIN_BIN" GOFLAGS= go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
fi

# kube-score prints "kube-score version: 1.20.0, commit: ..., built: ..." (the version is stamped below).
# Cold build (empty Go module and build caches): about 2 min on 2 cores busy with the toolchain
# build (1.8 to 2.4 min, 40 to 72 s of CPU); with warm Go caches 5 s.
bin="$TOOLCHAIN_BIN/kube-score"
if ! { [[ -x "$bin" ]] && version=$("$bin" version 2>/dev/null) && [[ "$version" == "kube-score version: $KUBE_SCORE_VERSION,"* ]]; }; then
  step "Building kube-score $KUBE_SCORE_VERSION"
  run_logged "kube-score" "$TRADING_BOT_CACHE/logs/build-kube-score.log" \
    env GOBIN="$TOOLCHAIN_BIN" GOFLAGS= go install -trimpath -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" "github.com/zegl/kube-score/cmd/kube-score@v$KUBE_SCORE_VERSION"
fi
