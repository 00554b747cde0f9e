//go:build tools

// Package tools pins the Pulumi CLI so that `go build` can produce it from this module.
// pkg/v3's own go.mod replaces sdk/v3 with a relative path, so `go install ...@v3.x` does
// not work; a wrapper module that requires both at the same version does.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
