// Package chart proves the Helm chart in charts/secretbridge and the
// Dockerfile against the real servers: helm lint and template (with the helm
// binary built into bin/ by hack/build-tools.sh), a server-side dry-run apply
// of the rendered manifests, the controller binary built exactly as the
// Dockerfile builds it, running with exactly the chart's RBAC, and the list
// of rules the chart grants.
package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// helm returns bin/helm, or fails with the command that builds it.
func helm(t *testing.T, env *testenv.Env) string {
	t.Helper()
	path := filepath.Join(env.RepoRoot, "bin", "helm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make tools` in %s (or `hack/build-tools.sh helm`); a cold build takes about 4 minutes", path, env.RepoRoot)
	}
	return path
}

// chartDir is the chart under test.
func chartDir(env *testenv.Env) string { return filepath.Join(env.RepoRoot, "charts", "secretbridge") }

// runHelm runs bin/helm with args and returns stdout, stderr and the error.
func runHelm(t *testing.T, env *testenv.Env, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(helm(t, env), args...)
	cmd.Dir = env.RepoRoot
	// HOME and the helm directories point into the test's temp dir, so no
	// user configuration or repository cache leaks into the result.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// renderRaw runs `helm template` for a release in ns with the given values
// and returns the manifests as helm printed them.
func renderRaw(t *testing.T, env *testenv.Env, release, ns string, values map[string]any) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "values.json")
	raw, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runHelm(t, env, "template", release, chartDir(env), "--namespace", ns, "--values", file)
	if err != nil {
		return "", errors.New(stderr)
	}
	return out, nil
}

// render runs `helm template` and parses every object it prints.
func render(t *testing.T, env *testenv.Env, release, ns string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	out, err := renderRaw(t, env, release, ns, values)
	if err != nil {
		t.Fatalf("helm template with values %v: %v", values, err)
	}
	objs, err := parseManifests(out)
	if err != nil {
		t.Fatalf("parsing helm template's output: %v", err)
	}
	return objs
}

// parseManifests splits a multi-document YAML stream into objects, skipping
// empty documents.
func parseManifests(s string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewBufferString(s)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

// find returns the rendered objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single rendered object of a kind, converted to a typed object.
func one[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) *T {
	t.Helper()
	found := find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("rendered %d %s objects, want 1", len(found), kind)
	}
	var typed T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(found[0].Object, &typed); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return &typed
}
