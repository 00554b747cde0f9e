// Exposes terraform-provider-random's Plugin Framework provider to the bridge.
// The provider lives in an internal package; Go lets only import paths under
// github.com/terraform-providers/terraform-provider-random/ import it, so this module
// takes a path there. The parent module reaches it through a local replace.
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25.8

require (
	github.com/hashicorp/terraform-plugin-framework v1.19.0
	github.com/terraform-providers/terraform-provider-random v1.3.2-0.20260824155315-e1092b0cfc07
)
