#!/usr/bin/env bash
# Runs `node <args>` with Node >= 22 (the machine's, or the one npm installed from the registry).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PATH="$(node_bin_dir):$PATH" exec node "$@"
