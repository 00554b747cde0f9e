// Package provider maps terraform-provider-random onto the Pulumi package "random", with the
// tokens the @pulumi/random npm SDK uses (random:index/randomPassword:RandomPassword, ...).
package provider

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is the plugin's version, stamped at build time with
// -ldflags "-X local/toolchain/random/provider.Version=<version>"; it must equal the
// version of the @pulumi/random npm package the programs use.
var Version string

const (
	packageName = "random"
	moduleName  = "index"
)

// Resources lists every Terraform resource of the provider and the Pulumi type name it is
// exposed as. The module is always "index", as in the npm SDK.
var Resources = map[string]string{
	"random_bytes":    "RandomBytes",
	"random_id":       "RandomId",
	"random_integer":  "RandomInteger",
	"random_password": "RandomPassword",
	"random_pet":      "RandomPet",
	"random_shuffle":  "RandomShuffle",
	"random_string":   "RandomString",
	"random_uuid":     "RandomUuid",
	"random_uuid4":    "RandomUuid4",
	"random_uuid7":    "RandomUuid7",
}

// Token returns the Pulumi type token of a resource type name, e.g.
// RandomPassword -> random:index/randomPassword:RandomPassword.
func Token(typeName string) string {
	r := []rune(typeName)
	r[0] = unicode.ToLower(r[0])
	return fmt.Sprintf("%s:%s/%s:%s", packageName, moduleName, string(r), typeName)
}

// Info returns the bridge's description of the provider. metadata is the content of
// bridge-metadata.json as pulumi-tfgen-random last wrote it (empty before the first run).
func Info(metadata []byte) tfbridge.ProviderInfo {
	if Version == "" {
		panic("provider.Version is not set; build with -ldflags -X local/toolchain/random/provider.Version=<version>")
	}
	resources := map[string]*tfbridge.ResourceInfo{}
	for tf, name := range Resources {
		resources[tf] = &tfbridge.ResourceInfo{Tok: tokens.Type(Token(name))}
	}
	// random_bytes has no "id" attribute: its identity is its value.
	resources["random_bytes"].ComputeID = idFromAttribute("base64")

	return tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         packageName,
		Version:      Version,
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:     []string{"pulumi", "random"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-random",
		GitHubOrg:    "terraform-providers",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    resources,
		// As the published provider: plans computed values like `terraform plan` does, and
		// keeps the raw Terraform state delta in the Pulumi state.
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
}

// idFromAttribute makes a resource's ID the (string) value of one of its attributes, secret or not.
func idFromAttribute(attr resource.PropertyKey) func(context.Context, resource.PropertyMap) (resource.ID, error) {
	return func(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
		v, ok := state[attr]
		for ok && v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !ok || !v.IsString() || strings.TrimSpace(v.StringValue()) == "" {
			return "", fmt.Errorf("resource state has no string %q to use as its ID", attr)
		}
		return resource.ID(v.StringValue()), nil
	}
}
