//go:build tools

// The binary built from this module (see local/toolchain/build-node.sh).
package tools

import _ "github.com/opencontainers/runc"
