#!/usr/bin/env bash
# Installs the npm dependencies (and with them Node 22 from the registry) unless they are
# already installed for the current package-lock.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
stamp=node_modules/.installed-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
step "Installing npm dependencies (npm ci)"
# Dependency install scripts stay off: @pulumi/kubernetes' would try to download its plugin.
run_logged "npm ci" "$TRADING_BOT_CACHE/logs/npm-ci.log" npm ci --no-audit --no-fund --ignore-scripts
echo "$want" >"$stamp"
