#!/usr/bin/env bash
# Installs the project's npm dependencies (and with them Node 22 from the registry) unless they
# are already installed for the current package-lock.json.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
npm_ci_once "$PROJECT_ROOT"
