#!/usr/bin/env bash
# Installs the policy pack's npm dependencies (policy/node_modules) unless they are already
# installed for policy/package-lock.json. The engine runs the pack with
# policy/node_modules/@pulumi/pulumi/cmd/run-policy-pack, and the unit tests load it from there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
npm_ci_once "$PROJECT_ROOT/policy"
