//go:build tools

// Package tools pins the Vault server the tests run. It is a separate module
// so Vault's dependencies never enter the product's go.mod.
package tools

import _ "github.com/hashicorp/vault"
