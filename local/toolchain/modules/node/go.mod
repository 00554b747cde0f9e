// Small static programs for the local cluster's real node (local/toolchain/build-node.sh):
// hello-server (the real-node tests' HTTP server), packed as an image, and apiserver-proxy, which
// lets pods reach the API server. The pod sandbox's pause image is local/images/pause.
module local/toolchain/node

go 1.25.0
