// Package crd_test proves the generated CRDs against the real API server: they
// install and are Established, the seed's manifests apply verbatim as v1beta1
// and read back as v1, and invalid objects are refused with a message that
// names the offending field.
package crd_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const group = "external-secrets.io"

func TestCRDsAreEstablishedWithBothVersions(t *testing.T) {
	env := testenv.Get(t)
	want := map[string]struct {
		scope     apiextensionsv1.ResourceScope
		shortName string
	}{
		"externalsecrets":        {apiextensionsv1.NamespaceScoped, "es"},
		"clusterexternalsecrets": {apiextensionsv1.ClusterScoped, "ces"},
		"secretstores":           {apiextensionsv1.NamespaceScoped, "ss"},
		"clustersecretstores":    {apiextensionsv1.ClusterScoped, "css"},
	}
	for plural, w := range want {
		t.Run(plural, func(t *testing.T) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := env.Client.Get(t.Context(), client.ObjectKey{Name: plural + "." + group}, &crd); err != nil {
				t.Fatal(err)
			}
			established := false
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				t.Errorf("not Established: %+v", crd.Status.Conditions)
			}
			if crd.Spec.Scope != w.scope {
				t.Errorf("scope %s, want %s", crd.Spec.Scope, w.scope)
			}
			if !slicesContains(crd.Spec.Names.ShortNames, w.shortName) {
				t.Errorf("short names %v lack %q", crd.Spec.Names.ShortNames, w.shortName)
			}
			if crd.Spec.Conversion == nil || crd.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
				t.Errorf("conversion %+v, want None", crd.Spec.Conversion)
			}
			if len(crd.Spec.Versions) != 2 {
				t.Fatalf("versions %d, want v1 and v1beta1", len(crd.Spec.Versions))
			}
			v1, beta := crd.Spec.Versions[0], crd.Spec.Versions[1]
			if v1.Name != "v1" || !v1.Served || !v1.Storage || beta.Name != "v1beta1" || !beta.Served || beta.Storage {
				t.Errorf("versions %s(served=%v storage=%v) %s(served=%v storage=%v), want v1 served+storage, v1beta1 served",
					v1.Name, v1.Served, v1.Storage, beta.Name, beta.Served, beta.Storage)
			}
			if !reflect.DeepEqual(v1.Schema, beta.Schema) || !reflect.DeepEqual(v1.AdditionalPrinterColumns, beta.AdditionalPrinterColumns) {
				t.Error("v1 and v1beta1 differ in schema or printer columns")
			}
			if !reflect.DeepEqual(crd.Status.AcceptedNames.ShortNames, crd.Spec.Names.ShortNames) {
				t.Errorf("accepted short names %v", crd.Status.AcceptedNames.ShortNames)
			}
		})
	}
}

// The seed's two manifests, byte for byte as the article prints them, apply as
// v1beta1 and read back as v1 with the same spec.
func TestSeedManifestsApplyAsV1beta1AndReadBackAsV1(t *testing.T) {
	env := testenv.Get(t)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	for _, file := range []string{"clustersecretstore.yaml", "externalsecret.yaml"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(env.RepoRoot, "test", "testdata", "seed", file))
			if err != nil {
				t.Fatal(err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
				t.Fatal(err)
			}
			if obj.GetAPIVersion() != group+"/v1beta1" {
				t.Fatalf("seed apiVersion %s, want %s/v1beta1", obj.GetAPIVersion(), group)
			}
			gvr := schema.GroupVersionResource{Group: group, Version: "v1beta1", Resource: strings.ToLower(obj.GetKind()) + "s"}
			var res dynamic.ResourceInterface = dyn.Resource(gvr)
			if obj.GetKind() == "ExternalSecret" {
				res = dyn.Resource(gvr).Namespace(ns)
			}
			created, err := res.Create(t.Context(), obj, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("creating the seed %s: %v", obj.GetKind(), err)
			}
			t.Cleanup(func() { _ = res.Delete(context.Background(), created.GetName(), metav1.DeleteOptions{}) })

			gvr.Version = "v1"
			res = dyn.Resource(gvr)
			if obj.GetKind() == "ExternalSecret" {
				res = dyn.Resource(gvr).Namespace(ns)
			}
			got, err := res.Get(t.Context(), created.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetAPIVersion() != group+"/v1" {
				t.Errorf("read back as %s", got.GetAPIVersion())
			}
			if !reflect.DeepEqual(got.Object["spec"], obj.Object["spec"]) {
				gotYAML, _ := yaml.Marshal(got.Object["spec"])
				wantYAML, _ := yaml.Marshal(obj.Object["spec"])
				t.Errorf("spec changed on the way through the API server\n--- applied\n%s--- read back\n%s", wantYAML, gotYAML)
			}
		})
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
