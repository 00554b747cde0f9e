#!/usr/bin/env bash
# `npm run check -- --stack <name> [--expect-no-changes] [--refresh] [--skip-unit]`: the
# pull-request check. Runs the type-check and unit tests, kube-score over every stack's objects
# (scripts/lint/kubeScore.ts: a finding or a stale entry outside scripts/lint/kube-score-ignore.yaml
# fails), then `pulumi preview --diff` with the policy pack against the stack's cluster (the local
# one for dev, started if needed), and prints a one-line summary of the plan.
#
# Exit codes, for CI systems:
#   0  the plan is valid (and, with --expect-no-changes, empty)
#   1  the type-check or a unit test failed
#   2  --expect-no-changes, and the stack has drifted or the code changes it
#   3  a mandatory policy was violated
#   4  the preview failed (invalid config, unreachable cluster, program error)
#   5  kube-score found something not in its ignore list, an entry there is stale, or it could
#      not score (see its output)
#   64 bad arguments
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

stack="" unit=true preview_args=()
while (($#)); do
  case "$1" in
    --stack | -s) stack="${2:-}"; shift ;;
    --stack=*) stack="${1#--stack=}" ;;
    --expect-no-changes | --refresh) preview_args+=("$1") ;;
    --skip-unit) unit=false ;;
    -h | --help) sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check: unknown argument '$1' (see npm run check -- --help)" >&2; exit 64 ;;
  esac
  shift
done
[[ -n "$stack" ]] || { echo "check: name the stack: npm run check -- --stack dev" >&2; exit 64; }

bash scripts/install-node-modules.sh || exit 4
bash scripts/install-policy-modules.sh || exit 4

# Built before the unit tests, so that its tests there run rather than skip.
bash local/toolchain/build-lint.sh || exit 4

if $unit; then
  step "Type-check and unit tests"
  bash scripts/test.sh --unit || exit 1
fi

# Every stack, whichever one is previewed: the ignore list's entries name stacks, and a stale one fails.
step "kube-score over the objects of every stack (dev, staging, prod)"
bash scripts/node.sh -r ./runtime/register.js scripts/lint/kubeScore.ts || {
  echo "check FAILED for stack $stack: kube-score (see above; the ignore list is scripts/lint/kube-score-ignore.yaml)" >&2
  exit 5
}

if [[ "$stack" == dev || "$stack" == */dev ]]; then
  step "Local cluster (the dev stack's cluster)"
  bash local/toolchain/install.sh || exit 4
  bash local/cluster/cluster.sh up || exit 4
  # The local dev stack may not exist yet on a fresh clone; a preview of it is still meaningful.
  bash scripts/pulumi.sh stack select --create --stack dev --non-interactive >/dev/null || exit 4
fi

step "pulumi preview --stack $stack --diff --policy-pack policy ${preview_args[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash scripts/pulumi.sh preview --stack "$stack" --diff --non-interactive --policy-pack policy "${preview_args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Pulumi's own summary lines ("+ 3 to create", "~ 1 to update", "+-1 to replace", ...).
count() { grep -Eo "[0-9]+ to $1" "$log" | tail -n1 | grep -Eo '^[0-9]+' || echo 0; }
unchanged=$(grep -Eo '[0-9]+ unchanged' "$log" | tail -n1 | grep -Eo '^[0-9]+' || echo 0)
summary="creates $(count create), updates $(count update), replaces $(count replace), deletes $(count delete), unchanged $unchanged"

if ((status == 0)); then
  echo "check passed for stack $stack: $summary"
  exit 0
fi
if grep -q "mandatory" "$log" && grep -qi "policy" "$log"; then
  echo "check FAILED for stack $stack: a mandatory policy was violated (see above); $summary" >&2
  exit 3
fi
if grep -q "no changes were expected" "$log"; then
  echo "check FAILED for stack $stack: changes found where none were expected (drift or code change); $summary" >&2
  exit 2
fi
echo "check FAILED for stack $stack: the preview failed (see above)" >&2
exit 4
