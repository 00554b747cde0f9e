#!/usr/bin/env bash
# Builds (or reuses) everything the real engine and the local cluster need, all pinned in
# versions.sh and cached under $TRADING_BOT_CACHE: the Pulumi CLI and Node.js language host,
# the Kubernetes and Random provider plugins, and etcd, Kubernetes and kwok for the local cluster.
set -euo pipefail
dir="$(dirname "$0")"
bash "$dir/build-pulumi.sh"
bash "$dir/build-random.sh"
bash "$dir/build-cluster.sh"
bash "$dir/build-lint.sh"
bash "$dir/build-images.sh"
