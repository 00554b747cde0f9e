#!/usr/bin/env bash
# `npm start`: deploys the dev stack to the local cluster. Installs or builds whatever is missing
# (npm packages, Node 22, the Pulumi toolchain, the Kubernetes binaries), starts the local cluster
# if it is not running, runs `pulumi up --stack dev --yes` and prints the stack outputs.
# A second run changes nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

bash scripts/install-node-modules.sh
bash scripts/install-policy-modules.sh
step "Toolchain: Pulumi CLI, language host, providers, Kubernetes"
bash local/toolchain/install.sh
step "Local cluster"
bash local/cluster/cluster.sh up

# The dev stack's pods run as real containers on the cluster's real node (Pulumi.dev.yaml places
# them there): without it they could never be scheduled, and the deploy would wait for nothing.
node_status=$(head -n1 "$LOCAL_STATE/cluster/node/status" 2>/dev/null || echo "unavailable: no status recorded")
if [[ "$node_status" != ready ]]; then
  die "the local cluster's real node is ${node_status} (npm run cluster -- status). The dev stack's pods run there; fix the cause and run npm start again"
fi

pulumi() { bash scripts/pulumi.sh "$@"; }
step "Deploying the dev stack (pulumi up --stack dev)"
pulumi stack select --create --stack dev >/dev/null
pulumi up --stack dev --yes --skip-preview --suppress-progress --suppress-outputs --policy-pack policy
step "Stack outputs"
pulumi stack output --stack dev
