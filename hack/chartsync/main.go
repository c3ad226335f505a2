// Command chartsync keeps the Helm chart in charts/secretbridge in step with
// its sources of truth, so nothing in the chart is maintained by hand twice:
//
//   - the CRDs in config/crd/bases are copied byte for byte into
//     charts/secretbridge/files/crds (templates/crds.yaml renders them);
//   - the rules of the generated ClusterRole config/rbac/role.yaml (from the
//     +kubebuilder:rbac markers) are split by scope into named templates in
//     charts/secretbridge/templates/_rbac_rules.tpl;
//   - the values table in charts/secretbridge/README.md is generated from the
//     "# --" comments in values.yaml, and a value without one is an error.
//
// It runs from `make generate`; `make verify` fails when its output differs
// from the commit.
//
// Usage: go run ./hack/chartsync [repository root, default "."]
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	if err := run(root); err != nil {
		fmt.Fprintln(os.Stderr, "chartsync:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	chart := filepath.Join(root, "charts", "secretbridge")
	if err := syncCRDs(filepath.Join(root, "config", "crd", "bases"), filepath.Join(chart, "files", "crds")); err != nil {
		return err
	}
	if err := syncRBAC(filepath.Join(root, "config", "rbac", "role.yaml"), filepath.Join(chart, "templates", "_rbac_rules.tpl")); err != nil {
		return err
	}
	return syncValuesTable(filepath.Join(chart, "values.yaml"), filepath.Join(chart, "README.md"))
}

// writeIfChanged writes data to path only when it differs, so an unchanged
// chart keeps its modification times.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
