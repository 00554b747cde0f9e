# Every pinned version of the local toolchain, in one place.
# The npm side (package.json) must agree: PULUMI_VERSION == @pulumi/pulumi,
# KUBERNETES_PROVIDER_VERSION == @pulumi/kubernetes, RANDOM_PROVIDER_VERSION == @pulumi/random.
NODE_VERSION=22.23.3
PULUMI_VERSION=3.276.0
KUBERNETES_PROVIDER_VERSION=4.25.0
# pulumi-kubernetes publishes no provider/v4 tags; this is the provider module at the v4.25.0 release.
KUBERNETES_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBERNETES_VERSION=1.35.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.7.0
RANDOM_PROVIDER_VERSION=4.21.2
# terraform-provider-random's Go module path has no /v3, so its v3 releases exist only as pseudo-versions; this is
# its main of 2026-08-24 (provider code as released in v3.9.0), which has every resource @pulumi/random 4.21.2 declares.
RANDOM_TF_PROVIDER_MODULE_VERSION=v1.3.2-0.20260824155315-e1092b0cfc07
ACTIONLINT_VERSION=1.7.12
# kube-score, the second opinion on each stack's manifests (npm run check, npm test); v1.20.0 is the newest the Go
# module proxy serves (2026-11).
KUBE_SCORE_VERSION=1.20.0
# The local cluster's real node (local/toolchain/build-node.sh, local/cluster/node.sh): containerd 2.x and runc from Go
# (Debian's are 1.6 and 1.1.5), CoreDNS. build-node.sh's own image: hello-server for test/e2e/realnode.test.ts.
CONTAINERD_VERSION=2.4.2
RUNC_VERSION=1.5.3
COREDNS_VERSION=1.15.0
NODE_HELLO_IMAGE=localhost/trading-bot/hello-server:1
# Images of the real node's pods (local/toolchain/build-images.sh, local/images): built locally as docker-archive tars in
# $TRADING_BOT_CACHE/images, imported into containerd, never pulled. PostgreSQL and Redis come from Debian 12's packages
# of these major versions (the postgres tag's number names the package, postgresql-15); their exact Debian versions are
# the images' org.opencontainers.image.version labels.
PAUSE_IMAGE=trading-bot.local/pause:3.10
BOT_IMAGE=trading-bot.local/trading-bot:dev
POSTGRES_IMAGE=trading-bot.local/postgres:15-debian
REDIS_IMAGE=trading-bot.local/redis:7-debian
