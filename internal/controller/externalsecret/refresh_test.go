package externalsecret

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

func TestDecideRefresh(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	synced := func(mutate func(*esv1.ExternalSecret)) *esv1.ExternalSecret {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Generation: 3, Annotations: map[string]string{"a": "b"}}}
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
		es.Status.RefreshTime = at(now.Add(-10 * time.Minute))
		if mutate != nil {
			mutate(es)
		}
		es.Status.SyncedResourceVersion = syncedResourceVersion(es, 1)
		return es
	}
	ok := targetState{exists: true, intact: true}
	for _, tc := range []struct {
		name      string
		es        *esv1.ExternalSecret
		target    targetState
		wantSync  bool
		wantAfter time.Duration // lower bound; 0 = never
		storeGen  int64
	}{
		{name: "never synced", es: &esv1.ExternalSecret{}, wantSync: true},
		{name: "in sync, interval not elapsed", es: synced(nil), target: ok, wantAfter: 50 * time.Minute},
		{name: "interval elapsed", es: synced(func(es *esv1.ExternalSecret) {
			es.Status.RefreshTime = at(now.Add(-61 * time.Minute))
		}), target: ok, wantSync: true},
		{name: "force-sync annotation changed", es: func() *esv1.ExternalSecret {
			es := synced(nil)
			es.Annotations[esv1.AnnotationForceSync] = "2026-11-26T12:00:00Z"
			return es
		}(), target: ok, wantSync: true},
		{name: "generation changed", es: func() *esv1.ExternalSecret {
			es := synced(nil)
			es.Generation++
			return es
		}(), target: ok, wantSync: true},
		{name: "store changed", es: synced(nil), target: ok, wantSync: true, storeGen: 2},
		{name: "target Secret deleted", es: synced(nil), target: targetState{}, wantSync: true},
		{name: "target Secret tampered", es: synced(nil), target: targetState{exists: true}, wantSync: true},
		{name: "creationPolicy None ignores the missing Secret", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.Target = &esv1.ExternalSecretTarget{CreationPolicy: esv1.CreatePolicyNone}
		}), target: targetState{}, wantAfter: 50 * time.Minute},
		{name: "refreshInterval 0s waits for a change", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.RefreshInterval = &metav1.Duration{}
			es.Status.RefreshTime = at(now.Add(-100 * time.Hour))
		}), target: ok},
		{name: "CreatedOnce never refreshes", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce
			es.Status.RefreshTime = at(now.Add(-100 * time.Hour))
		}), target: ok},
		{name: "CreatedOnce ignores a spec change", es: func() *esv1.ExternalSecret {
			es := synced(func(es *esv1.ExternalSecret) { es.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce })
			es.Generation++
			return es
		}(), target: ok},
		{name: "OnChange follows a spec change", es: func() *esv1.ExternalSecret {
			es := synced(func(es *esv1.ExternalSecret) { es.Spec.RefreshPolicy = esv1.RefreshPolicyOnChange })
			es.Generation++
			return es
		}(), target: ok, wantSync: true},
		{name: "CreatedOnce still repairs a deleted Secret", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.RefreshPolicy = esv1.RefreshPolicyCreatedOnce
		}), target: targetState{}, wantSync: true},
		{name: "OnChange does not poll", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.RefreshPolicy = esv1.RefreshPolicyOnChange
			es.Status.RefreshTime = at(now.Add(-100 * time.Hour))
		}), target: ok},
		{name: "outside an allow window waits for it", es: synced(func(es *esv1.ExternalSecret) {
			es.Status.RefreshTime = at(now.Add(-2 * time.Hour))
			es.Spec.SyncWindows = &esv1.SyncWindows{Kind: esv1.SyncWindowAllow, Windows: []esv1.SyncWindow{
				{Schedule: "0 14 * * *", Duration: metav1.Duration{Duration: time.Hour}},
			}}
		}), target: ok, wantAfter: 2 * time.Hour},
		{name: "inside an allow window refreshes", es: synced(func(es *esv1.ExternalSecret) {
			es.Status.RefreshTime = at(now.Add(-2 * time.Hour))
			es.Spec.SyncWindows = &esv1.SyncWindows{Kind: esv1.SyncWindowAllow, Windows: []esv1.SyncWindow{
				{Schedule: "30 11 * * *", Duration: metav1.Duration{Duration: time.Hour}},
			}}
		}), target: ok, wantSync: true},
		{name: "inside a deny window waits for its end", es: synced(func(es *esv1.ExternalSecret) {
			es.Status.RefreshTime = at(now.Add(-2 * time.Hour))
			es.Spec.SyncWindows = &esv1.SyncWindows{Kind: esv1.SyncWindowDeny, Windows: []esv1.SyncWindow{
				{Schedule: "@daily", Duration: metav1.Duration{Duration: 13 * time.Hour}},
			}}
		}), target: ok, wantAfter: time.Hour},
		{name: "sync windows never block a repair", es: synced(func(es *esv1.ExternalSecret) {
			es.Spec.SyncWindows = &esv1.SyncWindows{Kind: esv1.SyncWindowDeny, Windows: []esv1.SyncWindow{
				{Schedule: "@daily", Duration: metav1.Duration{Duration: 24 * time.Hour}},
			}}
		}), target: targetState{}, wantSync: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decideRefresh(tc.es, tc.target, max(tc.storeGen, 1), now)
			if err != nil {
				t.Fatal(err)
			}
			if d.sync != tc.wantSync {
				t.Fatalf("sync = %v (%s), want %v", d.sync, d.why, tc.wantSync)
			}
			if tc.wantSync {
				return
			}
			if tc.wantAfter == 0 && d.after != 0 {
				t.Errorf("requeue after %s, want none (%s)", d.after, d.why)
			}
			if tc.wantAfter != 0 && (d.after < tc.wantAfter || d.after > tc.wantAfter+2*time.Minute) {
				t.Errorf("requeue after %s, want about %s (%s)", d.after, tc.wantAfter, d.why)
			}
		})
	}
}

func TestSyncWindowWithBadScheduleNamesTheField(t *testing.T) {
	_, _, err := windowOpen(&esv1.SyncWindows{Kind: esv1.SyncWindowAllow, Windows: []esv1.SyncWindow{
		{Schedule: "0 99 * * *", Duration: metav1.Duration{Duration: time.Hour}},
	}}, time.Now())
	if err == nil || err.Error()[:33] != "spec.syncWindows.windows[0].sched" {
		t.Fatalf("got %v", err)
	}
}

func at(t time.Time) *metav1.Time { mt := metav1.NewTime(t); return &mt }

// A sync may reuse a provider read only if the read followed what caused
// the sync: the creation for a first sync, the due time less the jitter
// tolerance for a refresh, the reconcile itself for anything else.
func TestDecideRefreshReadsSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	created := now.Add(-time.Hour)
	ok := targetState{exists: true, intact: true}
	newES := func() *esv1.ExternalSecret {
		es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Generation: 1, CreationTimestamp: metav1.NewTime(created)}}
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Hour}
		return es
	}
	synced := func(last time.Time) *esv1.ExternalSecret {
		es := newES()
		es.Status.RefreshTime = at(last)
		es.Status.SyncedResourceVersion = syncedResourceVersion(es, 1)
		return es
	}
	changed := synced(now.Add(-time.Minute))
	changed.Generation = 2
	for _, tc := range []struct {
		name   string
		es     *esv1.ExternalSecret
		target targetState
		want   time.Time
	}{
		{"first sync: after the creation", newES(), targetState{}, created.Add(time.Second)},
		{"refresh: from the due time less the jitter bound", synced(now.Add(-61 * time.Minute)), ok, now.Add(-time.Minute).Add(-time.Minute)},
		{"changed spec: only new reads", changed, ok, now},
		{"missing Secret: only new reads", synced(now.Add(-time.Minute)), targetState{}, now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decideRefresh(tc.es, tc.target, 1, now)
			if err != nil || !d.sync {
				t.Fatalf("decideRefresh = %+v, %v; want a sync", d, err)
			}
			if !d.readsSince.Equal(tc.want) {
				t.Errorf("readsSince = %s, want %s", d.readsSince, tc.want)
			}
		})
	}
}

// ExternalSecrets that read the same remote secrets get the same jitter,
// so they stay due together; others are spread within the bound.
func TestJitterFollowsWhatIsRead(t *testing.T) {
	es := func(name, key string) *esv1.ExternalSecret {
		e := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: name}}
		e.Spec.SecretStoreRef = &esv1.SecretStoreRef{Name: "vault"}
		e.Spec.Data = []esv1.ExternalSecretData{
			{SecretKey: "u", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "username"}},
			{SecretKey: "p", RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: "password"}},
		}
		return e
	}
	interval := time.Hour
	a, b := jitter(es("a", "db"), interval), jitter(es("b", "db"), interval)
	if a != b {
		t.Errorf("same keys, different jitter: %s and %s", a, b)
	}
	seen := map[time.Duration]bool{}
	for i := range 20 {
		j := jitter(es("x", fmt.Sprintf("key-%d", i)), interval)
		if j < 0 || j >= jitterLimit(interval) {
			t.Errorf("jitter %s outside [0, %s)", j, jitterLimit(interval))
		}
		seen[j] = true
	}
	if len(seen) < 15 {
		t.Errorf("20 different keys got only %d different jitters", len(seen))
	}
	if jitter(es("a", "db"), 0) != 0 {
		t.Errorf("no interval, yet a jitter")
	}
}
