// Command crdversions rewrites the CRDs that controller-gen made from api/v1 so
// that each one serves v1 (the storage version) and v1beta1 with the identical
// schema, columns and subresources, and conversion strategy None. One set of Go
// types therefore backs both versions and a v1beta1 manifest reads back as v1.
//
// Usage: go run ./hack/crdversions DIR
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	storageVersion = "v1"
	extraVersion   = "v1beta1"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdversions DIR")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*.yaml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no CRD files in %s", os.Args[1])
	}
	for _, f := range files {
		if err != nil {
			break
		}
		err = rewrite(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdversions:", err)
		os.Exit(1)
	}
}

func rewrite(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var storage *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == storageVersion {
			storage = &crd.Spec.Versions[i]
		}
	}
	if storage == nil {
		return fmt.Errorf("%s: no %s version", path, storageVersion)
	}
	storage.Served, storage.Storage = true, true
	beta := *storage.DeepCopy()
	beta.Name, beta.Storage = extraVersion, false
	crd.Spec.Versions = []apiextensionsv1.CustomResourceDefinitionVersion{*storage, beta}
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}

	out, err := yaml.Marshal(&crd)
	if err != nil {
		return err
	}
	// Drop the empty status and creationTimestamp the typed round trip adds.
	out = bytes.Replace(out, []byte("  creationTimestamp: null\n"), nil, 1)
	if i := bytes.LastIndex(out, []byte("\nstatus:\n")); i >= 0 {
		out = out[:i+1]
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}
