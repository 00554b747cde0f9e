// Package shim hands terraform-provider-random's provider to code outside its module.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns a fresh terraform-provider-random Plugin Framework provider.
func NewProvider() provider.Provider { return random.New() }
