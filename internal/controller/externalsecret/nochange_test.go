package externalsecret_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

// counterSum adds the samples of a counter whose labels include match.
func counterSum(t *testing.T, name string, match map[string]string) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue next
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// waitQuiet waits until the controller has stopped working on objects of
// earlier tests (whose namespaces are being deleted), so that the global
// counters read next move only because of this test: no sync for 1.5 s.
func waitQuiet(t *testing.T) {
	t.Helper()
	last, since := counterSum(t, "secretbridge_sync_total", nil), time.Now()
	testenv.Eventually(t, 30*time.Second, func() error {
		if now := counterSum(t, "secretbridge_sync_total", nil); now != last {
			last, since = now, time.Now()
		}
		if time.Since(since) < 1500*time.Millisecond {
			return fmt.Errorf("controller still busy")
		}
		return nil
	})
}

// Reconciles that find nothing to do (here: someone else annotating the
// Secret, which re-queues the ExternalSecret) make no provider call, build
// no client and write nothing.
func TestNoProviderWorkWhenNothingChanged(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	waitQuiet(t)
	calls := counterSum(t, "secretbridge_provider_calls_total", map[string]string{"provider": "fake"})
	builds := counterSum(t, "secretbridge_provider_client_cache_total", map[string]string{"event": "miss"})
	syncs := counterSum(t, "secretbridge_sync_total", nil)
	applies := secretApplies(t, env)
	reconciles := counterSum(t, "controller_runtime_reconcile_total", map[string]string{"controller": "externalsecret"})

	for i := range 5 {
		s := getSecret(t, env, ns, "db")
		s.Annotations["team.example.com/touched"] = strconv.Itoa(i)
		if err := env.Client.Update(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the controller has looked at the Secret changes.
	testenv.Eventually(t, 20*time.Second, func() error {
		if got := counterSum(t, "controller_runtime_reconcile_total", map[string]string{"controller": "externalsecret"}) - reconciles; got < 1 {
			return fmt.Errorf("%v reconciles after 5 Secret updates", got)
		}
		return nil
	})
	time.Sleep(time.Second) // let any further queued reconcile finish
	if d := counterSum(t, "secretbridge_provider_calls_total", map[string]string{"provider": "fake"}) - calls; d != 0 {
		t.Errorf("%v provider calls without a change", d)
	}
	if d := counterSum(t, "secretbridge_provider_client_cache_total", map[string]string{"event": "miss"}) - builds; d != 0 {
		t.Errorf("%v client builds without a change", d)
	}
	if d := counterSum(t, "secretbridge_sync_total", nil) - syncs; d != 0 {
		t.Errorf("%v syncs without a change", d)
	}
	if d := secretApplies(t, env) - applies; d != 0 {
		t.Errorf("%d Secret writes without a change", d)
	}
}

// When the provider fails, the last good Secret stays and the condition
// says why; a later success clears the error.
func TestProviderFailureKeepsLastGoodSecret(t *testing.T) {
	env := startController(t)
	ns := env.Namespace(t)
	store := fakeStore(t, env, ns, "store", map[string]string{"prod/app-db": appDB})
	if err := env.Client.Create(t.Context(), newES(ns, "db", "store", nil)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	before := getSecret(t, env, ns, "db")

	setStoreData(t, env, store, map[string]string{"elsewhere": "x"}) // the key is gone (deletionPolicy Retain)
	got := waitReady(t, env, ns, "db", esv1.ReasonSecretSyncedError)
	if msg := got.Status.Conditions[0].Message; !containsAll(msg, `"prod/app-db"`, "not found") {
		t.Errorf("message %q", msg)
	}
	after := getSecret(t, env, ns, "db")
	if after.ResourceVersion != before.ResourceVersion || string(after.Data["password"]) != marker {
		t.Errorf("the last good Secret was changed")
	}

	setStoreData(t, env, store, map[string]string{"prod/app-db": appDB})
	waitReady(t, env, ns, "db", esv1.ReasonSecretSynced)
	var es esv1.ExternalSecret
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "db"}, &es); err != nil {
		t.Fatal(err)
	}
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionStalled && c.Status == corev1.ConditionTrue {
			t.Errorf("Stalled still set after recovery")
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
