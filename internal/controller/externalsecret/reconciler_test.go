package externalsecret_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller"
	"github.com/secretbridge/secretbridge/internal/controller/externalsecret"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// One controller process serves every test of this package.
func TestMain(m *testing.M) {
	testenv.Main(m)
}

var started bool

// startController runs the controller (all reconcilers) once per package.
func startController(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.Get(t)
	if started {
		return env
	}
	mgr, err := manager.New(env.Config, manager.Options{MetricsAddr: "0", ProbeAddr: "0", Concurrent: 4}, controller.Setup)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = mgr.Start(ctx) }()
	env.OnStop(cancel)
	started = true
	return env
}

const marker = "S3CR3T-MARKER"

// fakeStore creates a SecretStore serving data (key → value).
func fakeStore(t *testing.T, env *testenv.Env, ns, name string, data map[string]string) *esv1.SecretStore {
	t.Helper()
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	store.Spec.Provider.Fake = &esv1.FakeProvider{Data: fakeData(data)}
	if err := env.Client.Create(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	return store
}

// setStoreData replaces a fake store's data (the store controller writes its
// status concurrently, hence the retry on conflict).
func setStoreData(t *testing.T, env *testenv.Env, store *esv1.SecretStore, data map[string]string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(store), store); err != nil {
			return err
		}
		store.Spec.Provider.Fake.Data = fakeData(data)
		return env.Client.Update(t.Context(), store)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fakeData(data map[string]string) []esv1.FakeProviderData {
	out := []esv1.FakeProviderData{}
	for k, v := range data {
		out = append(out, esv1.FakeProviderData{Key: k, Value: v})
	}
	return out
}

func newES(ns, name, store string, mutate func(*esv1.ExternalSecret)) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	es.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: store}
	es.Spec.Data = []esv1.ExternalSecretData{
		{SecretKey: "username", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/app-db", Property: "username"}},
		{SecretKey: "password", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "prod/app-db", Property: "password"}},
	}
	if mutate != nil {
		mutate(es)
	}
	return es
}

// waitReady waits until the ExternalSecret's Ready condition has the reason
// and returns the object.
func waitReady(t *testing.T, env *testenv.Env, ns, name, reason string) *esv1.ExternalSecret {
	t.Helper()
	var es esv1.ExternalSecret
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &es); err != nil {
			return err
		}
		for _, c := range es.Status.Conditions {
			if c.Type == esv1.ConditionReady && c.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v, want Ready reason %s", es.Status.Conditions, reason)
	})
	return &es
}

func getSecret(t *testing.T, env *testenv.Env, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

const appDB = `{"username":"admin","password":"` + marker + `"}`

func TestSyncCreatesOwnedSecret(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	es := newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Target = &esv1.ExternalSecretTarget{Name: "db-creds"}
	})
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	s := getSecret(t, env, ns, "db-creds")
	if len(s.Data) != 2 || string(s.Data["username"]) != "admin" || string(s.Data["password"]) != marker {
		t.Errorf("secret data keys %v", keys(s.Data))
	}
	if s.Labels[esv1.LabelManaged] != "true" || s.Annotations[esv1.AnnotationDataHash] == "" || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("markers: labels %v annotations %v type %s", s.Labels, s.Annotations, s.Type)
	}
	if owner := metav1.GetControllerOf(s); owner == nil || owner.UID != got.UID {
		t.Errorf("owner %v, want the ExternalSecret", owner)
	}
	if n := syncMetric(t, "synced", "true"); n < 1 {
		t.Errorf("secretbridge_sync_total{result=synced,wrote=true} = %v, want >= 1", n)
	}
	if got.Status.RefreshTime == nil || got.Status.Binding == nil || got.Status.Binding.Name != "db-creds" ||
		!strings.HasPrefix(got.Status.SyncedResourceVersion, "1-") {
		t.Errorf("status %+v", got.Status)
	}
}

// A forced refresh that changes nothing writes nothing; a changed value is
// written once; the API server's own request counter is the witness.
func TestSecretIsWrittenOnlyOnRealChange(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	store := fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	waitQuiet(t)
	applies := secretApplies(t, env)
	rv := getSecret(t, env, ns, "db").ResourceVersion

	for i := range 3 {
		before := syncedVersion(t, env, ns, "db")
		forceSync(t, env, ns, "db", strconv.Itoa(i))
		waitSyncedAfterForce(t, env, ns, "db", before)
	}
	if got := secretApplies(t, env); got != applies {
		t.Errorf("%d Secret writes for 3 refreshes without a change, want 0", got-applies)
	}
	if s := getSecret(t, env, ns, "db"); s.ResourceVersion != rv {
		t.Errorf("Secret resourceVersion moved from %s to %s without a change", rv, s.ResourceVersion)
	}

	// Change the remote value: the store's generation changes, its users
	// refresh, and exactly one write follows.
	setStoreData(t, env, store, map[string]string{"prod/app-db": `{"username":"admin2","password":"x"}`})
	testenv.Eventually(t, 30*time.Second, func() error {
		if u := string(getSecret(t, env, ns, "db").Data["username"]); u != "admin2" {
			return fmt.Errorf("username still %q", u)
		}
		return nil
	})
	if got := secretApplies(t, env); got != applies+1 {
		t.Errorf("%d Secret writes for one change, want 1", got-applies)
	}
}

// A deleted or edited Secret is repaired without waiting for the refresh interval.
func TestTamperedSecretIsRepaired(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)

	s := getSecret(t, env, ns, "db")
	s.Data["username"] = []byte("mallory")
	if err := env.Client.Update(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if u := string(getSecret(t, env, ns, "db").Data["username"]); u != "admin" {
			return fmt.Errorf("username %q not repaired", u)
		}
		return nil
	})

	if err := env.Client.Delete(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		var again corev1.Secret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "db"}, &again); err != nil {
			return err
		}
		if again.UID == s.UID {
			return errors.New("still the old Secret")
		}
		return nil
	})
}

func TestExistingUnmanagedSecretIsNotTakenOver(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns}, StringData: map[string]string{"username": "hand-made"}}
	if err := env.Client.Create(t.Context(), mine); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	es := waitReady(t, env, ns, "db", esv1.ReasonSecretSyncedError)
	msg := es.Status.Conditions[0].Message
	if !strings.Contains(msg, "not managed by secretbridge") || !strings.Contains(msg, externalsecret.AnnotationAdopt) {
		t.Errorf("condition message does not explain how to opt in: %q", msg)
	}
	if u := string(getSecret(t, env, ns, "db").Data["username"]); u != "hand-made" {
		t.Fatalf("unmanaged Secret was changed: username %q", u)
	}

	// Opting in adopts it.
	es.Annotations = map[string]string{externalsecret.AnnotationAdopt: "true"}
	if err := env.Client.Update(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	if u := string(getSecret(t, env, ns, "db").Data["username"]); u != "admin" {
		t.Errorf("adopted Secret username %q", u)
	}
}

// Merge writes only its keys into an existing Secret; keys others own stay,
// keys it stops producing go. A missing Secret is SecretMissing.
func TestMergePolicy(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	es := newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Target = &esv1.ExternalSecretTarget{Name: "shared", CreationPolicy: esv1.CreatePolicyMerge}
	})
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretMissing)

	shared := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: ns}, StringData: map[string]string{"other": "kept"}}
	if err := env.Client.Create(t.Context(), shared); err != nil {
		t.Fatal(err)
	}
	forceSync(t, env, ns, "db", "1")
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	s := getSecret(t, env, ns, "shared")
	if string(s.Data["other"]) != "kept" || string(s.Data["username"]) != "admin" || len(s.Data) != 3 {
		t.Fatalf("merged keys %v", keys(s.Data))
	}

	// Stop producing "password": it disappears, "other" stays.
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(es), es); err != nil {
		t.Fatal(err)
	}
	es.Spec.Data = es.Spec.Data[:1]
	if err := env.Client.Update(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		s := getSecret(t, env, ns, "shared")
		if _, ok := s.Data["password"]; ok || string(s.Data["other"]) != "kept" {
			return fmt.Errorf("keys %v, want other and username", keys(s.Data))
		}
		return nil
	})
}

// Errors name the cause and never carry a value, in conditions and events.
func TestErrorsNameTheCauseWithoutValues(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	es := newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Data[1].RemoteRef.Property = "passwd"
	})
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env, ns, "db", esv1.ReasonSecretSyncedError)
	msg := got.Status.Conditions[0].Message
	for _, want := range []string{"spec.data[1]", "passwd", "password", "username"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	var evs eventsv1.EventList
	testenv.Eventually(t, 10*time.Second, func() error {
		if err := env.Client.List(t.Context(), &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(evs.Items) == 0 {
			return errors.New("no events yet")
		}
		return nil
	})
	for _, e := range append([]string{msg}, eventNotes(evs)...) {
		if strings.Contains(e, marker) {
			t.Errorf("a secret value leaked: %s", e)
		}
	}
	if _, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), "db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written despite the error: %v", err)
	}
}

// An ExternalSecret whose store does not exist yet syncs as soon as the
// store appears, without waiting for a retry.
func TestStoreCreatedLaterRequeuesAtOnce(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	if err := env.Client.Create(t.Context(), newES(ns, "db", "late", nil)); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env, ns, "db", esv1.ReasonSecretSyncedError)
	if msg := got.Status.Conditions[0].Message; !strings.Contains(msg, `SecretStore "late" not found`) {
		t.Errorf("message %q does not name the store", msg)
	}
	fakeStore(t, env, ns, "late", map[string]string{"prod/app-db": appDB})
	start := time.Now()
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("synced %s after the store appeared; the store watch should requeue at once", d)
	}
}

func TestDeletionPolicyDeleteRemovesSecretWhenDataIsGone(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	store := fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	es := newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Target = &esv1.ExternalSecretTarget{DeletionPolicy: esv1.DeletionPolicyDelete}
	})
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	setStoreData(t, env, store, map[string]string{"other": "x"})
	waitReady(t, env, ns, "db", esv1.ReasonSecretDeleted)
	if _, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), "db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Secret still there: %v", err)
	}
}

func forceSync(t *testing.T, env *testenv.Env, ns, name, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, esv1.AnnotationForceSync, value)
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := env.Client.Patch(t.Context(), es, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// waitSyncedAfterForce waits until the controller has synced the object
// carrying the force-sync value: its syncedResourceVersion then hashes that
// annotation, so it differs from the one recorded before.
func waitSyncedAfterForce(t *testing.T, env *testenv.Env, ns, name, before string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		var es esv1.ExternalSecret
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &es); err != nil {
			return err
		}
		if es.Status.SyncedResourceVersion == before {
			return errors.New("not re-synced yet")
		}
		return nil
	})
}

func syncedVersion(t *testing.T, env *testenv.Env, ns, name string) string {
	t.Helper()
	var es esv1.ExternalSecret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &es); err != nil {
		t.Fatal(err)
	}
	return es.Status.SyncedResourceVersion
}

// secretApplies reads the API server's count of server-side applies to Secrets.
func secretApplies(t *testing.T, env *testenv.Env) int {
	t.Helper()
	raw, err := env.Kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		// Successful applies only: an earlier test's ExternalSecret repairing
		// a Secret in its terminating namespace is refused.
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="secrets"`) ||
			!strings.Contains(line, `verb="APPLY"`) || !strings.Contains(line, `code="20`) {
			continue
		}
		n, _ := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
		total += n
	}
	return total
}

func eventNotes(list eventsv1.EventList) []string {
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Note)
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The article's `property: data.username` (a path into Vault's KV v2 API
// response) resolves to the secret's "username" key, and the interpretation
// is reported in the condition and as one Warning event.
func TestAPIPathPropertyIsInterpretedAndReported(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	es := newES(ns, "db", "store", func(es *esv1.ExternalSecret) {
		es.Spec.Data[0].RemoteRef.Property = "data.username"
		es.Spec.Data[1].RemoteRef.Property = "data.password"
	})
	if err := env.Client.Create(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	got := waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	if msg := got.Status.Conditions[0].Message; !strings.Contains(msg, `property "data.username" read as "username"`) {
		t.Errorf("condition does not report the interpretation: %q", msg)
	}
	if s := getSecret(t, env, ns, "db"); string(s.Data["username"]) != "admin" || len(s.Data) != 2 {
		t.Errorf("keys %v", keys(s.Data))
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var evs eventsv1.EventList
		if err := env.Client.List(t.Context(), &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		n := 0
		for _, e := range evs.Items {
			if e.Reason == "Interpreted" && e.Type == corev1.EventTypeWarning {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d Interpreted warning events, want 1", n)
		}
		return nil
	})
}

// syncMetric reads secretbridge_sync_total for one result.
func syncMetric(t *testing.T, result, wrote string) float64 {
	t.Helper()
	return counterSum(t, "secretbridge_sync_total", map[string]string{"result": result, "wrote": wrote})
}

// providerCalls reads secretbridge_provider_calls_total for one provider and operation.
func providerCalls(t *testing.T, providerName, op string) float64 {
	t.Helper()
	return counterSum(t, "secretbridge_provider_calls_total", map[string]string{"provider": providerName, "operation": op})
}

// Two entries reading two properties of one remote secret cost one provider call.
func TestOneProviderCallPerRemoteSecret(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	waitQuiet(t)
	before := providerCalls(t, "fake", "GetSecret")
	syncs := counterSum(t, "secretbridge_sync_total", nil)
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	if n := counterSum(t, "secretbridge_sync_total", nil) - syncs; n != 1 {
		t.Errorf("%v syncs for one new ExternalSecret, want 1", n)
	}
	if got := providerCalls(t, "fake", "GetSecret") - before; got != 1 {
		t.Errorf("%v GetSecret provider calls for one sync of two properties of one key, want 1", got)
	}
}
