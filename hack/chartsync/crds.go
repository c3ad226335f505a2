package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// syncCRDs makes dst hold exactly the *.yaml files of src, byte for byte:
// copies new and changed files and removes files whose CRD no longer exists.
func syncCRDs(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("reading the CRDs: %w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := writeIfChanged(filepath.Join(dst, e.Name()), raw); err != nil {
			return err
		}
		want[e.Name()] = true
	}
	if len(want) == 0 {
		return fmt.Errorf("no CRDs in %s: run controller-gen first (make generate)", src)
	}
	old, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	for _, e := range old {
		if !want[e.Name()] {
			if err := os.Remove(filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
