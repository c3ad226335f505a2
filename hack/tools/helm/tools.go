//go:build tools

// Package tools pins the helm CLI the chart tests run (helm lint, helm
// template). It is a separate module so the Helm SDK and its dependencies
// never enter the product's go.mod.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
