#!/usr/bin/env bash
# Installs the policy pack's npm dependencies (policy/node_modules, from policy/package-lock.json)
# unless they are already installed for the current lock file. The engine runs the pack with
# policy/node_modules/@pulumi/pulumi/cmd/run-policy-pack, and the unit tests load the pack's
# policies from there too, so both need them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT/policy"
stamp=node_modules/.installed-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
step "Installing the policy pack's npm dependencies (npm ci in policy/)"
# Dependency install scripts stay off, as for the project's own dependencies; packages already in
# npm's cache are not fetched again.
run_logged "npm ci (policy)" "$TRADING_BOT_CACHE/logs/npm-ci-policy.log" npm ci --no-audit --no-fund --ignore-scripts --prefer-offline
echo "$want" >"$stamp"
