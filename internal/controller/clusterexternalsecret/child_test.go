package clusterexternalsecret

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func testCES(mutate func(*esv1.ClusterExternalSecret)) *esv1.ClusterExternalSecret {
	ces := &esv1.ClusterExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", UID: "ces-uid"},
		Spec: esv1.ClusterExternalSecretSpec{ExternalSecretSpec: esv1.ExternalSecretSpec{
			SecretStoreRef:  &esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKindClusterSecretStore},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			Data:            []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db"}}},
		}},
	}
	if mutate != nil {
		mutate(ces)
	}
	return ces
}

func TestDesiredChild(t *testing.T) {
	for _, tc := range []struct {
		name            string
		ces             *esv1.ClusterExternalSecret
		wantName        string
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		{name: "defaults", ces: testCES(nil), wantName: "shared",
			wantLabels: map[string]string{LabelClusterExternalSecret: "shared"}, wantAnnotations: map[string]string{}},
		{name: "externalSecretName and metadata", ces: testCES(func(c *esv1.ClusterExternalSecret) {
			c.Spec.ExternalSecretName = "db-creds"
			c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"note": "x"}}
		}), wantName: "db-creds",
			wantLabels: map[string]string{"app": "db", LabelClusterExternalSecret: "shared"}, wantAnnotations: map[string]string{"note": "x"}},
		{name: "our label wins over metadata", ces: testCES(func(c *esv1.ClusterExternalSecret) {
			c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{LabelClusterExternalSecret: "spoof"}}
		}), wantName: "shared", wantLabels: map[string]string{LabelClusterExternalSecret: "shared"}, wantAnnotations: map[string]string{}},
		{name: "force-sync is copied, other annotations are not", ces: testCES(func(c *esv1.ClusterExternalSecret) {
			c.Annotations = map[string]string{esv1.AnnotationForceSync: "2026-01-01T00:00:00Z", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
		}), wantName: "shared", wantLabels: map[string]string{LabelClusterExternalSecret: "shared"},
			wantAnnotations: map[string]string{esv1.AnnotationForceSync: "2026-01-01T00:00:00Z"}},
		{name: "force-sync overrides metadata", ces: testCES(func(c *esv1.ClusterExternalSecret) {
			c.Annotations = map[string]string{esv1.AnnotationForceSync: "new"}
			c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Annotations: map[string]string{esv1.AnnotationForceSync: "old"}}
		}), wantName: "shared", wantLabels: map[string]string{LabelClusterExternalSecret: "shared"},
			wantAnnotations: map[string]string{esv1.AnnotationForceSync: "new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := desiredChild(tc.ces, "team-a")
			if got.Name != tc.wantName || got.Namespace != "team-a" {
				t.Errorf("child = %s/%s, want team-a/%s", got.Namespace, got.Name, tc.wantName)
			}
			if !mapsEqual(got.Labels, tc.wantLabels) {
				t.Errorf("labels = %v, want %v", got.Labels, tc.wantLabels)
			}
			if !mapsEqual(got.Annotations, tc.wantAnnotations) {
				t.Errorf("annotations = %v, want %v", got.Annotations, tc.wantAnnotations)
			}
			owner := metav1.GetControllerOf(got)
			if owner == nil || owner.UID != "ces-uid" || owner.Kind != "ClusterExternalSecret" || owner.Name != "shared" || owner.BlockOwnerDeletion == nil || !*owner.BlockOwnerDeletion {
				t.Errorf("controller owner = %+v", owner)
			}
			if !controlledBy(got, tc.ces) {
				t.Error("the desired child is not controlled by its ClusterExternalSecret")
			}
			// The spec is a copy: changing the child must not change the CES.
			got.Spec.Data[0].SecretKey = "changed"
			if tc.ces.Spec.ExternalSecretSpec.Data[0].SecretKey != "password" {
				t.Error("desiredChild shares the spec with the ClusterExternalSecret")
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("a", 100) + "." + strings.Repeat("b", 100)
	for _, tc := range []struct{ name, in string }{
		{"short name kept", "shared"},
		{"63 characters kept", strings.Repeat("x", 63)},
		{"long name shortened", long},
		{"long name with a dot at the cut", strings.Repeat("a", 45) + "." + strings.Repeat("b", 60)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := labelValue(tc.in)
			if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
				t.Fatalf("labelValue(%q) = %q: %v", tc.in, got, errs)
			}
			if len(tc.in) <= 63 && got != tc.in {
				t.Errorf("labelValue(%q) = %q, want it unchanged", tc.in, got)
			}
		})
	}
	if labelValue(long) == labelValue(long+"c") {
		t.Error("different long names share a label value")
	}
}

func TestConflict(t *testing.T) {
	ces := testCES(nil)
	es := func(owner *metav1.OwnerReference, deleting bool) *esv1.ExternalSecret {
		e := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: "ns"}}
		if owner != nil {
			e.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if deleting {
			e.DeletionTimestamp = &metav1.Time{}
		}
		return e
	}
	ref := func(apiVersion, kind, name string, uid types.UID, controller bool) *metav1.OwnerReference {
		return &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: &controller}
	}
	for _, tc := range []struct {
		name      string
		live      *esv1.ExternalSecret
		wantIn    string // "" = no conflict
		wantRetry bool
	}{
		{name: "ours", live: es(ref("external-secrets.io/v1", "ClusterExternalSecret", "shared", "ces-uid", true), false)},
		{name: "ours through v1beta1", live: es(ref("external-secrets.io/v1beta1", "ClusterExternalSecret", "shared", "ces-uid", true), false)},
		{name: "no owner", live: es(nil, false), wantIn: "exists and is not owned by this ClusterExternalSecret"},
		{name: "owned but not as controller", live: es(ref("external-secrets.io/v1", "ClusterExternalSecret", "shared", "ces-uid", false), false),
			wantIn: "exists and is not owned by this ClusterExternalSecret"},
		{name: "another ClusterExternalSecret", live: es(ref("external-secrets.io/v1", "ClusterExternalSecret", "other", "other-uid", true), false),
			wantIn: `controlled by ClusterExternalSecret "other"`},
		{name: "another kind", live: es(ref("argoproj.io/v1alpha1", "Application", "apps", "app-uid", true), false),
			wantIn: `controlled by Application "apps"`},
		{name: "earlier incarnation of the same name", live: es(ref("external-secrets.io/v1", "ClusterExternalSecret", "shared", "old-uid", true), false),
			wantIn: "being garbage collected", wantRetry: true},
		{name: "ours, being deleted", live: es(ref("external-secrets.io/v1", "ClusterExternalSecret", "shared", "ces-uid", true), true),
			wantIn: "is being deleted", wantRetry: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, retry := conflict(ces, tc.live)
			if tc.wantIn == "" {
				if reason != "" {
					t.Fatalf("conflict = %q, want none", reason)
				}
				return
			}
			if !contains(reason, tc.wantIn) || retry != tc.wantRetry {
				t.Errorf("conflict = %q retry %v, want it to contain %q, retry %v", reason, retry, tc.wantIn, tc.wantRetry)
			}
		})
	}
}

// applied returns a copy of want as the API server would return it after the
// field manager applied it: the given managed-fields labels and annotations.
func applied(want *esv1.ExternalSecret, ownedLabels, ownedAnnotations []string) *esv1.ExternalSecret {
	live := want.DeepCopy()
	fields := map[string]any{"f:metadata": map[string]any{"f:labels": keys(ownedLabels), "f:annotations": keys(ownedAnnotations)}}
	raw, _ := json.Marshal(fields)
	live.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: fieldManager, Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(string(raw))}}
	return live
}

func keys(ks []string) map[string]any {
	m := map[string]any{}
	for _, k := range ks {
		m["f:"+k] = map[string]any{}
	}
	return m
}

func TestUpToDate(t *testing.T) {
	ces := testCES(func(c *esv1.ClusterExternalSecret) {
		c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"note": "x"}}
	})
	want := desiredChild(ces, "ns")
	allLabels := []string{"app", LabelClusterExternalSecret}
	for _, tc := range []struct {
		name string
		live *esv1.ExternalSecret
		want bool
	}{
		{name: "identical", live: applied(want, allLabels, []string{"note"}), want: true},
		{name: "duration written differently", live: func() *esv1.ExternalSecret {
			l := applied(want, allLabels, []string{"note"})
			l.Spec.RefreshInterval = &metav1.Duration{Duration: 60 * time.Minute}
			return l
		}(), want: true},
		{name: "labels added by others are fine", live: func() *esv1.ExternalSecret {
			l := applied(want, allLabels, []string{"note"})
			l.Labels["someone"] = "else"
			return l
		}(), want: true},
		{name: "spec edited", live: func() *esv1.ExternalSecret {
			l := applied(want, allLabels, []string{"note"})
			l.Spec.RefreshInterval = &metav1.Duration{Duration: time.Minute}
			return l
		}()},
		{name: "label value edited", live: func() *esv1.ExternalSecret {
			l := applied(want, allLabels, []string{"note"})
			l.Labels["app"] = "web"
			return l
		}()},
		{name: "label we applied is no longer wanted", live: applied(want, append(allLabels, "old"), []string{"note"})},
		{name: "annotation we want is owned by someone else", live: applied(want, allLabels, nil)},
		{name: "never applied by us", live: func() *esv1.ExternalSecret {
			l := want.DeepCopy()
			l.ManagedFields = nil
			return l
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := upToDate(tc.live, want); got != tc.want {
				t.Errorf("upToDate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestApplyConfiguration(t *testing.T) {
	want := desiredChild(testCES(nil), "ns")
	ac, err := applyConfiguration(want)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ac)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	if obj["apiVersion"] != "external-secrets.io/v1" || obj["kind"] != "ExternalSecret" {
		t.Errorf("type = %v %v", obj["apiVersion"], obj["kind"])
	}
	if _, ok := obj["status"]; ok {
		t.Error("the apply request claims status")
	}
	md := obj["metadata"].(map[string]any)
	if _, ok := md["creationTimestamp"]; ok {
		t.Error("the apply request claims metadata.creationTimestamp")
	}
	if md["name"] != "shared" || md["namespace"] != "ns" {
		t.Errorf("metadata = %v", md)
	}
	if ri := obj["spec"].(map[string]any)["refreshInterval"]; ri != "1h0m0s" {
		t.Errorf("refreshInterval = %v", ri)
	}
}
