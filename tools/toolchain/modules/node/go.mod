// Small static programs for the local cluster's real node (tools/toolchain/build-node.sh): the pod
// sandbox's pause process and hello-server (the real-node tests' HTTP server), each packed as an
// image, and apiserver-proxy, which lets pods reach the API server.
module local/toolchain/node

go 1.25.0
