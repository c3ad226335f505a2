package clusterexternalsecret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// wait bounds every Eventually: the watches make reactions near-instant, the
// bound only absorbs a busy machine.
const wait = 30 * time.Second

// countingClient counts the writes and the reconciles (each lists the
// children) of the reconciler under test.
type countingClient struct {
	client.Client
	mu         sync.Mutex
	applies    map[string]int // by namespace/name
	reconciles int
}

func (c *countingClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if o, ok := obj.(interface {
		GetNamespace() string
		GetName() string
	}); ok {
		c.mu.Lock()
		c.applies[o.GetNamespace()+"/"+o.GetName()]++
		c.mu.Unlock()
	}
	return c.Client.Apply(ctx, obj, opts...)
}

func (c *countingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*esv1.ExternalSecretList); ok {
		c.mu.Lock()
		c.reconciles++
		c.mu.Unlock()
	}
	return c.Client.List(ctx, list, opts...)
}

func (c *countingClient) counts(key string) (applies, reconciles int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applies[key], c.reconciles
}

// recorder keeps the Events the reconciler emits.
type recorder struct {
	mu     sync.Mutex
	events []string // "<name> <type> <reason> <note>"
}

func (r *recorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	name := ""
	if o, ok := regarding.(client.Object); ok {
		name = o.GetName()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s %s %s %s", name, eventtype, reason, fmt.Sprintf(note, args...)))
}

func (r *recorder) of(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if strings.HasPrefix(e, name+" ") {
			out = append(out, strings.TrimPrefix(e, name+" "))
		}
	}
	return out
}

// harness is one running manager with the reconciler under test.
type harness struct {
	env    *testenv.Env
	client *countingClient
	events *recorder
}

var setLogger sync.Once

// start runs the reconciler in a manager of its own until the test ends.
func start(t *testing.T) *harness {
	t.Helper()
	setLogger.Do(func() { ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true))) })
	h := &harness{env: testenv.Get(t), events: &recorder{}}
	mgr, err := manager.New(h.env.Config, manager.Options{MetricsAddr: "0", ProbeAddr: "0"}, func(mgr ctrl.Manager, _ manager.Options) error {
		h.client = &countingClient{Client: mgr.GetClient(), applies: map[string]int{}}
		r := &Reconciler{Client: h.client, Recorder: h.events, skipNameValidation: true}
		return r.SetupWithManager(mgr, 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return h
}

// uniqueLabel returns a label that only this test's namespaces carry.
func uniqueLabel() map[string]string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return map[string]string{"secretbridge.test/ces": hex.EncodeToString(b)}
}

func selector(labels map[string]string) []*metav1.LabelSelector {
	return []*metav1.LabelSelector{{MatchLabels: labels}}
}

// namespace creates a namespace with labels (the test's own namespaces come
// from env.Namespace; this is for the ones created while the controller runs).
func (h *harness) namespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := h.env.Namespace(t)
	if len(labels) > 0 {
		h.setNamespaceLabels(t, ns, labels)
	}
	return ns
}

func (h *harness) setNamespaceLabels(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	var ns corev1.Namespace
	if err := h.env.Client.Get(t.Context(), types.NamespacedName{Name: name}, &ns); err != nil {
		t.Fatal(err)
	}
	before := ns.DeepCopy()
	ns.Labels = map[string]string{corev1.LabelMetadataName: name}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	if err := h.env.Client.Patch(t.Context(), &ns, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
}

// newCES creates a ClusterExternalSecret with a generated name and deletes it
// when the test ends.
func (h *harness) newCES(t *testing.T, mutate func(*esv1.ClusterExternalSecret)) *esv1.ClusterExternalSecret {
	t.Helper()
	prefix := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	ces := &esv1.ClusterExternalSecret{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix[:min(len(prefix), 40)] + "-"},
		Spec: esv1.ClusterExternalSecretSpec{ExternalSecretSpec: esv1.ExternalSecretSpec{
			SecretStoreRef:  &esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKindClusterSecretStore},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			Data:            []esv1.ExternalSecretData{{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "password"}}},
		}},
	}
	if mutate != nil {
		mutate(ces)
	}
	if err := h.env.Client.Create(t.Context(), ces); err != nil {
		t.Fatalf("creating ClusterExternalSecret: %v", err)
	}
	t.Cleanup(func() {
		if err := h.env.Client.Delete(context.Background(), ces); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting ClusterExternalSecret %s: %v", ces.Name, err)
		}
	})
	return ces
}

// update changes a ClusterExternalSecret with a merge patch.
func (h *harness) update(t *testing.T, ces *esv1.ClusterExternalSecret, mutate func(*esv1.ClusterExternalSecret)) {
	t.Helper()
	var live esv1.ClusterExternalSecret
	if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(ces), &live); err != nil {
		t.Fatal(err)
	}
	before := live.DeepCopy()
	mutate(&live)
	if err := h.env.Client.Patch(t.Context(), &live, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
}

// child reads an ExternalSecret directly from the API server; nil if absent.
func (h *harness) child(t *testing.T, ns, name string) *esv1.ExternalSecret {
	t.Helper()
	var es esv1.ExternalSecret
	err := h.env.Client.Get(t.Context(), types.NamespacedName{Namespace: ns, Name: name}, &es)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return &es
}

// waitStatus waits until the ClusterExternalSecret reports exactly these
// provisioned and failed namespaces and the given Ready status, and returns it.
func (h *harness) waitStatus(t *testing.T, name string, ready corev1.ConditionStatus, provisioned, failed []string) *esv1.ClusterExternalSecret {
	t.Helper()
	var ces esv1.ClusterExternalSecret
	slices.Sort(provisioned)
	testenv.Eventually(t, wait, func() error {
		if err := h.env.Client.Get(t.Context(), types.NamespacedName{Name: name}, &ces); err != nil {
			return err
		}
		var gotFailed []string
		for _, f := range ces.Status.FailedNamespaces {
			gotFailed = append(gotFailed, f.Namespace)
		}
		c := findCondition(ces.Status.Conditions, esv1.ConditionReady)
		if !slices.Equal(ces.Status.ProvisionedNamespaces, provisioned) || !slices.Equal(gotFailed, failed) || c.Status != ready {
			return fmt.Errorf("status: provisioned %v failed %v Ready %s %q; want provisioned %v failed %v Ready %s",
				ces.Status.ProvisionedNamespaces, gotFailed, c.Status, c.Message, provisioned, failed, ready)
		}
		return nil
	})
	return &ces
}

// waitChild waits until ns holds an ExternalSecret called name that check
// accepts (nil check: any), and returns it.
func (h *harness) waitChild(t *testing.T, ns, name string, check func(*esv1.ExternalSecret) error) *esv1.ExternalSecret {
	t.Helper()
	var es *esv1.ExternalSecret
	testenv.Eventually(t, wait, func() error {
		if es = h.child(t, ns, name); es == nil {
			return fmt.Errorf("ExternalSecret %s/%s does not exist", ns, name)
		}
		if check != nil {
			return check(es)
		}
		return nil
	})
	return es
}

// waitReconciles waits until the reconciler has run n times in all.
func (h *harness) waitReconciles(t *testing.T, n int) {
	t.Helper()
	testenv.Eventually(t, wait, func() error {
		if _, got := h.client.counts(""); got < n {
			return fmt.Errorf("%d reconciles, want %d", got, n)
		}
		return nil
	})
}

// waitNoChild waits until ns holds no ExternalSecret called name.
func (h *harness) waitNoChild(t *testing.T, ns, name string) {
	t.Helper()
	testenv.Eventually(t, wait, func() error {
		if es := h.child(t, ns, name); es != nil {
			return fmt.Errorf("ExternalSecret %s/%s still exists (deleting: %v)", ns, name, es.DeletionTimestamp != nil)
		}
		return nil
	})
}

func TestProvisionsNamespacesByNameAndSelector(t *testing.T) {
	h := start(t)
	team, legacy := uniqueLabel(), uniqueLabel()
	listed, selected, selectedLegacy, other := h.namespace(t, nil), h.namespace(t, team), h.namespace(t, legacy), h.namespace(t, uniqueLabel())
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.Namespaces = []string{listed, "does-not-exist"}
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: legacy}
		c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"team": "platform"}}
		c.Spec.ExternalSecretSpec.RefreshInterval = &metav1.Duration{Duration: 90 * time.Minute}
	})
	st := h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{listed, selected, selectedLegacy}, nil)
	if st.Status.ExternalSecretName != ces.Name {
		t.Errorf("status.externalSecretName = %q, want %q", st.Status.ExternalSecretName, ces.Name)
	}
	if c := findCondition(st.Status.Conditions, esv1.ConditionStalled); c.Type != "" {
		t.Errorf("Stalled is set: %+v", c)
	}
	for _, ns := range []string{listed, selected, selectedLegacy} {
		es := h.child(t, ns, ces.Name)
		if es == nil {
			t.Fatalf("no ExternalSecret in %s", ns)
		}
		if es.Labels["app"] != "db" || es.Labels[LabelClusterExternalSecret] != ces.Name || es.Annotations["team"] != "platform" {
			t.Errorf("%s: labels %v annotations %v", ns, es.Labels, es.Annotations)
		}
		if !controlledBy(es, st) {
			t.Errorf("%s: owner references %+v", ns, es.OwnerReferences)
		}
		if es.Spec.RefreshInterval.Duration != 90*time.Minute || es.Spec.Data[0].RemoteRef.Property != "password" || es.Spec.SecretStoreRef.Name != "vault" {
			t.Errorf("%s: spec %+v", ns, es.Spec)
		}
		if !slices.ContainsFunc(es.ManagedFields, func(m metav1.ManagedFieldsEntry) bool {
			return m.Manager == fieldManager && m.Operation == metav1.ManagedFieldsOperationApply
		}) {
			t.Errorf("%s: not written by server-side apply as %s: %+v", ns, fieldManager, es.ManagedFields)
		}
	}
	if es := h.child(t, other, ces.Name); es != nil {
		t.Errorf("namespace %s is not selected but holds the ExternalSecret", other)
	}
	// The children can be listed by label.
	var list esv1.ExternalSecretList
	if err := h.env.Client.List(t.Context(), &list, client.MatchingLabels{LabelClusterExternalSecret: ces.Name}); err != nil || len(list.Items) != 3 {
		t.Errorf("listing the children by label: %d items, %v", len(list.Items), err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if ev := h.events.of(ces.Name); len(ev) != 1 || !strings.HasPrefix(ev[0], "Normal Provisioned ") {
			return fmt.Errorf("events = %q, want one Normal Provisioned", ev)
		}
		return nil
	})
}

func TestNamespacesThatStopMatchingLoseTheChild(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	byLabel, byName, stays := h.namespace(t, team), h.namespace(t, nil), h.namespace(t, team)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.Namespaces = []string{byName}
	})
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{byLabel, byName, stays}, nil)

	h.setNamespaceLabels(t, byLabel, nil)
	h.waitNoChild(t, byLabel, ces.Name)
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{byName, stays}, nil)

	h.update(t, ces, func(c *esv1.ClusterExternalSecret) { c.Spec.Namespaces = nil })
	h.waitNoChild(t, byName, ces.Name)
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{stays}, nil)
	if h.child(t, stays, ces.Name) == nil {
		t.Errorf("the ExternalSecret in %s, which still matches, is gone", stays)
	}
}

func TestNamespaceCreatedLaterIsProvisionedAtOnce(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	first := h.namespace(t, team)
	// A refresh time of an hour: only the Namespace watch can react in time.
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
	})
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{first}, nil)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ces-later-", Labels: team}}
	if err := h.env.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.env.Client.Delete(context.Background(), ns) })
	began := time.Now()
	h.waitChild(t, ns.Name, ces.Name, nil)
	t.Logf("child in the new namespace after %s", time.Since(began).Round(time.Millisecond))
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{first, ns.Name}, nil)

	// A namespace that starts terminating is dropped from status.
	if err := h.env.Client.Delete(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{first}, nil)
}

func TestExistingForeignExternalSecretIsNotOverwritten(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	free, taken := h.namespace(t, team), h.namespace(t, team)
	name := "shared-name-" + hex.EncodeToString([]byte(taken))[:8]
	foreign := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: taken, Labels: map[string]string{"owner": "someone"}},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: &esv1.SecretStoreRef{Name: "theirs"},
			Data:           []esv1.ExternalSecretData{{SecretKey: "k", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "theirs"}}},
		},
	}
	if err := h.env.Client.Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.ExternalSecretName = name
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.RefreshInterval = &metav1.Duration{Duration: time.Second}
	})
	st := h.waitStatus(t, ces.Name, corev1.ConditionFalse, []string{free}, []string{taken})
	if r := st.Status.FailedNamespaces[0].Reason; !strings.Contains(r, "exists and is not owned by this ClusterExternalSecret") {
		t.Errorf("failure reason = %q", r)
	}
	ready := findCondition(st.Status.Conditions, esv1.ConditionReady)
	if !strings.Contains(ready.Message, taken) {
		t.Errorf("Ready message %q does not name %s", ready.Message, taken)
	}
	if findCondition(st.Status.Conditions, esv1.ConditionStalled).Status != corev1.ConditionTrue {
		t.Errorf("Stalled is not True: %+v", st.Status.Conditions)
	}
	got := h.child(t, taken, name)
	if got.Spec.SecretStoreRef.Name != "theirs" || len(got.OwnerReferences) != 0 || got.Labels[LabelClusterExternalSecret] != "" || got.Generation != 1 {
		t.Errorf("the foreign ExternalSecret was changed: %+v", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if ev := h.events.of(ces.Name); len(ev) == 0 || !strings.HasPrefix(ev[len(ev)-1], "Warning ProvisioningFailed ") {
			return fmt.Errorf("events = %q, want a Warning ProvisioningFailed", ev)
		}
		return nil
	})

	// Once its owner deletes it, the next periodic evaluation takes the namespace.
	if err := h.env.Client.Delete(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{free, taken}, nil)
	h.waitChild(t, taken, name, func(es *esv1.ExternalSecret) error {
		if es.Spec.SecretStoreRef.Name != "vault" {
			return fmt.Errorf("spec.secretStoreRef.name = %q", es.Spec.SecretStoreRef.Name)
		}
		return nil
	})
	// The event follows the status patch, so it may arrive a moment later.
	testenv.Eventually(t, 10*time.Second, func() error {
		if ev := h.events.of(ces.Name); len(ev) == 0 || !strings.HasPrefix(ev[len(ev)-1], "Normal Provisioned ") {
			return fmt.Errorf("events = %q, want a Normal Provisioned last", ev)
		}
		return nil
	})
}

func TestForceSyncAnnotationIsCopied(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	a, b := h.namespace(t, team), h.namespace(t, team)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) { c.Spec.NamespaceSelectors = selector(team) })
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{a, b}, nil)

	for _, stamp := range []string{"2026-11-26T12:00:00Z", "2026-11-26T13:00:00Z"} {
		h.update(t, ces, func(c *esv1.ClusterExternalSecret) {
			c.Annotations = map[string]string{esv1.AnnotationForceSync: stamp}
		})
		for _, ns := range []string{a, b} {
			h.waitChild(t, ns, ces.Name, func(es *esv1.ExternalSecret) error {
				if got := es.Annotations[esv1.AnnotationForceSync]; got != stamp {
					return fmt.Errorf("%s: force-sync = %q, want %q", ns, got, stamp)
				}
				return nil
			})
		}
	}
	// Removing it from the ClusterExternalSecret removes it from the children.
	h.update(t, ces, func(c *esv1.ClusterExternalSecret) { delete(c.Annotations, esv1.AnnotationForceSync) })
	h.waitChild(t, a, ces.Name, func(es *esv1.ExternalSecret) error {
		if v, ok := es.Annotations[esv1.AnnotationForceSync]; ok {
			return fmt.Errorf("force-sync still %q", v)
		}
		return nil
	})
}

func TestDeletingTheClusterExternalSecretRemovesItsChildren(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	a, b := h.namespace(t, team), h.namespace(t, team)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) { c.Spec.NamespaceSelectors = selector(team) })
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{a, b}, nil)

	if err := h.env.Client.Delete(t.Context(), ces); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	h.waitNoChild(t, a, ces.Name)
	h.waitNoChild(t, b, ces.Name)
	t.Logf("garbage collector removed the children after %s", time.Since(began).Round(time.Millisecond))
}

func TestChildIsRestoredAndRenamed(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	ns := h.namespace(t, team)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
		c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{"keep": "me", "drop": "me"}}
	})
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{ns}, nil)

	// Someone edits the child: the Owns watch puts it back at once.
	es := h.child(t, ns, ces.Name)
	before := es.DeepCopy()
	es.Spec.SecretStoreRef.Name = "edited"
	if err := h.env.Client.Patch(t.Context(), es, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	h.waitChild(t, ns, ces.Name, func(es *esv1.ExternalSecret) error {
		if es.Spec.SecretStoreRef.Name != "vault" {
			return fmt.Errorf("spec.secretStoreRef.name = %q", es.Spec.SecretStoreRef.Name)
		}
		return nil
	})

	// Someone deletes it: it is created again.
	old := h.child(t, ns, ces.Name)
	if err := h.env.Client.Delete(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	h.waitChild(t, ns, ces.Name, func(es *esv1.ExternalSecret) error {
		if es.UID == old.UID {
			return fmt.Errorf("still the deleted ExternalSecret")
		}
		return nil
	})

	// A label removed from externalSecretMetadata disappears from the child.
	h.update(t, ces, func(c *esv1.ClusterExternalSecret) { delete(c.Spec.ExternalSecretMetadata.Labels, "drop") })
	h.waitChild(t, ns, ces.Name, func(es *esv1.ExternalSecret) error {
		if _, ok := es.Labels["drop"]; ok || es.Labels["keep"] != "me" {
			return fmt.Errorf("labels = %v", es.Labels)
		}
		return nil
	})

	// A new externalSecretName replaces the child.
	h.update(t, ces, func(c *esv1.ClusterExternalSecret) { c.Spec.ExternalSecretName = "renamed" })
	h.waitChild(t, ns, "renamed", nil)
	h.waitNoChild(t, ns, ces.Name)
	testenv.Eventually(t, wait, func() error {
		var live esv1.ClusterExternalSecret
		if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(ces), &live); err != nil {
			return err
		}
		if live.Status.ExternalSecretName != "renamed" {
			return fmt.Errorf("status.externalSecretName = %q", live.Status.ExternalSecretName)
		}
		return nil
	})
	h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{ns}, nil)
}

func TestNoWriteWhenNothingChanged(t *testing.T) {
	h := start(t)
	team := uniqueLabel()
	ns := h.namespace(t, team)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.NamespaceSelectors = selector(team)
		c.Spec.RefreshInterval = &metav1.Duration{Duration: 500 * time.Millisecond}
		c.Spec.ExternalSecretMetadata = &esv1.ExternalSecretMetadata{Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"a": "b"}}
		c.Annotations = map[string]string{esv1.AnnotationForceSync: "1"}
	})
	st := h.waitStatus(t, ces.Name, corev1.ConditionTrue, []string{ns}, nil)
	key := ns + "/" + ces.Name
	// Let the reconciles that the child's creation itself triggers settle:
	// two periodic ones later, everything has been seen.
	_, settled := h.client.counts(key)
	h.waitReconciles(t, settled+2)
	first := h.child(t, ns, ces.Name)
	applies, reconciles := h.client.counts(key)

	// An annotation change that does not concern the children forces a
	// reconcile; the periodic refresh adds more.
	h.update(t, ces, func(c *esv1.ClusterExternalSecret) { c.Annotations["unrelated"] = "poke" })
	h.waitReconciles(t, reconciles+4)
	if a, _ := h.client.counts(key); a != applies {
		t.Errorf("%d applies while nothing changed", a-applies)
	}
	if got := h.child(t, ns, ces.Name); got.ResourceVersion != first.ResourceVersion {
		t.Errorf("child resourceVersion %s -> %s while nothing changed", first.ResourceVersion, got.ResourceVersion)
	}
	var live esv1.ClusterExternalSecret
	if err := h.env.Client.Get(t.Context(), client.ObjectKeyFromObject(ces), &live); err != nil {
		t.Fatal(err)
	}
	if live.Generation != st.Generation || !slices.Equal(live.Status.ProvisionedNamespaces, st.Status.ProvisionedNamespaces) {
		t.Errorf("status changed: %+v", live.Status)
	}
	if ev := h.events.of(ces.Name); len(ev) != 1 {
		t.Errorf("events = %q, want only the first Ready", ev)
	}
}

func TestInvalidSelectorStalls(t *testing.T) {
	h := start(t)
	ces := h.newCES(t, func(c *esv1.ClusterExternalSecret) {
		c.Spec.NamespaceSelectors = []*metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near", Values: []string{"a"}}}}}
	})
	st := h.waitStatus(t, ces.Name, corev1.ConditionFalse, nil, nil)
	ready := findCondition(st.Status.Conditions, esv1.ConditionReady)
	if !strings.Contains(ready.Message, "spec.namespaceSelectors[0]") {
		t.Errorf("Ready message %q does not name the field", ready.Message)
	}
	if findCondition(st.Status.Conditions, esv1.ConditionStalled).Status != corev1.ConditionTrue {
		t.Errorf("Stalled is not True: %+v", st.Status.Conditions)
	}
}
