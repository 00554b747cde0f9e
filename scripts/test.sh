#!/usr/bin/env bash
# `npm test`: every test. Installs or builds whatever is missing (and reuses what is there),
# then runs, in order: the type-check, the unit tests (mocks), and the end-to-end tests
# (the real Pulumi engine and providers against the local cluster, which it starts if needed).
#   npm test                 everything
#   npm test -- --unit       type-check and unit tests only (no toolchain, no cluster; the kube-score
#                            tests skip, saying so, unless local/toolchain/build-lint.sh has built it)
#   npm test -- --e2e FILE...  type-check, unit tests and only the given end-to-end files
#                            (e.g. test/e2e/reliability.test.ts: bad input, killed deploys, a stopped
#                            API server; ~6 min)
# Ends with one line "N passed, N failed" over all suites, and exits non-zero on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

unit_only=false e2e=()
case "${1:-}" in
  --unit) unit_only=true ;;
  --e2e) shift; e2e=("$@") ;;
  "") ;;
  *) die "usage: npm test [-- --unit | --e2e test/e2e/<file>.test.ts...]" ;;
esac
((${#e2e[@]})) || e2e=(test/e2e/*.test.ts)

bash scripts/install-node-modules.sh
bash scripts/install-policy-modules.sh
export PATH="$(node_bin_dir):$PATH"

summary=$(mktemp)
export TEST_SUMMARY_FILE="$summary"
failed_steps=()
mocha() {
  node node_modules/mocha/bin/mocha.js --reporter test/support/summary-reporter.js "$@"
}

step "Type-checking the program and the tests"
if node node_modules/typescript/bin/tsc --noEmit -p tsconfig.check.json; then
  echo "1 0" >>"$summary"
else
  echo "0 1" >>"$summary"; failed_steps+=("type-check")
fi

if ! $unit_only; then
  # The unit tests run kube-score (test/unit/kubeScore.test.ts); without it they would skip.
  step "Linters: actionlint, kube-score"
  bash local/toolchain/build-lint.sh
fi

step "Unit tests (Pulumi mocks)"
mocha 'test/unit/**/*.test.ts' || failed_steps+=("unit tests")

if ! $unit_only; then
  step "Toolchain: Pulumi CLI, language host, providers, Kubernetes"
  bash local/toolchain/install.sh
  step "Local cluster"
  bash local/cluster/cluster.sh up
  step "End-to-end tests (real engine, real cluster)"
  mocha --timeout 1800000 "${e2e[@]}" || failed_steps+=("end-to-end tests")
fi

read -r passed failed < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$summary")
rm -f "$summary"
if ((${#failed_steps[@]})); then
  info "failed: ${failed_steps[*]}"
fi
echo "$passed passed, $failed failed"
((${#failed_steps[@]} == 0 && failed == 0))
