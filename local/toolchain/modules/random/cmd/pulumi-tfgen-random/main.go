// pulumi-tfgen-random generates the Pulumi package schema (schema.json) and the bridge
// metadata (bridge-metadata.json) of the random provider:
//
//	pulumi-tfgen-random schema --out DIR
//
// It reads DIR/bridge-metadata.json when present, so that history the bridge keeps there
// carries over from one run to the next. Run it from the module's provider/ directory (or
// its parent) so that the bridge finds terraform-provider-random's docs through go.mod.
package main

import (
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"local/toolchain/random/provider"
)

func main() {
	tfgen.Main("random", provider.Info(previousMetadata(os.Args[1:])))
}

// previousMetadata returns the bridge-metadata.json in the --out/-o directory, if any.
func previousMetadata(args []string) []byte {
	for i, a := range args {
		var dir string
		switch {
		case (a == "--out" || a == "-o") && i+1 < len(args):
			dir = args[i+1]
		case len(a) > 6 && a[:6] == "--out=":
			dir = a[6:]
		default:
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "bridge-metadata.json")); err == nil {
			return b
		}
	}
	return nil
}
