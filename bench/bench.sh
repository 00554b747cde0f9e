#!/usr/bin/env bash
# `npm run bench [-- options]`: how fast a deploy converges and a PR check answers, side by side
# with the kubectl floor, on the local cluster. Prints a Markdown table (the README's
# "Performance" section holds the latest one) and keeps the raw samples in .local/bench/.
#   --runs N         cold deploys (each variant) and kubectl floors; previews and diffs: 2 per run (default 3)
#   --eval-runs N    program evaluations under mocks per bot count, each in a fresh process (default 3)
#   --unit-runs N    unit test suite and type-check runs (default 3)
#   --skip-cluster | --skip-eval | --skip-unit   leave a part out
#   --loaders L,...  evaluate under each TypeScript loader, interleaved, cold and warm cache: register
#                    (runtime/register.js), tsx, tsx-cjs, swc, strip (node's own), js (precompiled),
#                    each optionally +start (runtime/start.js first); e.g. register,tsx,swc,strip
# Like `npm start`, it first installs or builds whatever is missing and starts the local cluster.
# Every cluster run uses its own namespace (bench-pulumi-*, bench-kubectl-*) and a scratch copy of
# the project with its own Pulumi file backend, and cleans up after itself.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$PROJECT_ROOT"

case " $* " in
  *" -h "* | *" --help "*) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

bash scripts/install-node-modules.sh
bash scripts/install-policy-modules.sh
if [[ " $* " != *" --skip-cluster "* ]]; then
  step "Toolchain: Pulumi CLI, language host, providers, Kubernetes"
  bash local/toolchain/install.sh
  step "Local cluster"
  bash local/cluster/cluster.sh up
fi
step "Benchmark"
PATH="$(node_bin_dir):$PATH" exec node -r ./runtime/register.js bench/bench.ts "$@"
