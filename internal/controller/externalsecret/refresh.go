package externalsecret

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/robfig/cron/v3"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// targetState is what the reconcile observed of the target Secret.
type targetState struct {
	// exists is true when the Secret is there.
	exists bool
	// intact is true when the Secret carries the managed label and its data
	// still hashes to the data-hash annotation (nobody tampered with it).
	intact bool
}

// refreshDecision says whether to sync now and, if not, when to look again.
type refreshDecision struct {
	// sync is true when the reconcile must fetch and write now.
	sync bool
	// why explains the decision, for the debug log.
	why string
	// after is when to look again if sync is false; zero means only on a change.
	after time.Duration
	// readsSince is the earliest start of a provider read that the sync may
	// reuse instead of calling the provider again (provider.WithReadsSince):
	// a first sync accepts reads made after the object was created, a
	// periodic refresh reads made within the jitter tolerance before it
	// fell due, anything else (a change, a repair) only reads that start
	// after this reconcile began. ExternalSecrets that read the same remote
	// secret then share one provider call per refresh cycle, and no sync
	// ever uses a value older than the event that caused it.
	readsSince time.Time
}

// decideRefresh applies refreshPolicy, refreshInterval and syncWindows. A
// refresh is skipped only while the policy allows it AND the target Secret is
// still there and untouched, so a deleted or tampered Secret is repaired at once.
func decideRefresh(es *esv1.ExternalSecret, target targetState, storeGeneration int64, now time.Time) (refreshDecision, error) {
	policy := es.Spec.RefreshPolicyOrDefault()
	switch {
	case es.Status.RefreshTime.IsZero():
		// creationTimestamp has one-second resolution: a read must start
		// a second later to be known to follow the creation.
		since := now
		if !es.CreationTimestamp.IsZero() {
			since = es.CreationTimestamp.Add(time.Second)
		}
		return refreshDecision{sync: true, why: "first sync", readsSince: since}, nil
	// CreatedOnce never syncs again after its first success, not even for
	// a changed spec; only a repair of the Secret (below) does.
	case policy != esv1.RefreshPolicyCreatedOnce && es.Status.SyncedResourceVersion != syncedResourceVersion(es, storeGeneration):
		return refreshDecision{sync: true, why: "spec, labels, annotations or store changed", readsSince: now}, nil
	case !target.exists && writesSecret(es):
		return refreshDecision{sync: true, why: "target Secret missing", readsSince: now}, nil
	case !target.intact && writesSecret(es):
		return refreshDecision{sync: true, why: "target Secret modified outside secretbridge", readsSince: now}, nil
	}
	interval := es.Spec.RefreshIntervalOrDefault()
	if policy == esv1.RefreshPolicyCreatedOnce || policy == esv1.RefreshPolicyOnChange || interval <= 0 {
		return refreshDecision{why: "refresh policy " + string(policy) + " waits for a change"}, nil
	}
	due := es.Status.RefreshTime.Add(interval)
	if now.Before(due) {
		return refreshDecision{why: "refresh interval not elapsed", after: due.Sub(now) + jitter(es, interval)}, nil
	}
	open, next, err := windowOpen(es.Spec.SyncWindows, now)
	if err != nil {
		return refreshDecision{}, err
	}
	if !open {
		return refreshDecision{why: "outside the sync windows", after: next.Sub(now) + jitter(es, interval)}, nil
	}
	return refreshDecision{sync: true, why: "refresh interval elapsed", readsSince: due.Add(-jitterLimit(interval))}, nil
}

// writesSecret reports whether the ExternalSecret maintains a Secret whose
// state matters (creationPolicy None writes nothing).
func writesSecret(es *esv1.ExternalSecret) bool {
	return es.Spec.TargetOrDefault().CreationPolicyOrDefault() != esv1.CreatePolicyNone
}

// jitter spreads periodic refreshes of objects created together: up to 5%
// of the interval, at most one minute. It is derived from what the object
// reads (its store and remote keys), not drawn at random: ExternalSecrets
// that read the same remote secrets stay due together, cycle after cycle,
// and share one provider call (refreshDecision.readsSince), while objects
// that read different secrets are spread. Random jitter would let them
// drift apart a little more every cycle.
func jitter(es *esv1.ExternalSecret, interval time.Duration) time.Duration {
	limit := jitterLimit(interval)
	if limit <= 0 {
		return 0
	}
	return time.Duration(readsHash(es) % uint64(limit))
}

// readsHash hashes the store references and remote keys an ExternalSecret
// reads, in order.
func readsHash(es *esv1.ExternalSecret) uint64 {
	h := fnv.New64a()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	if ref := es.Spec.SecretStoreRef; ref != nil {
		write(string(ref.KindOrDefault()), ref.Name)
	}
	for _, d := range es.Spec.Data {
		if d.SourceRef != nil && d.SourceRef.SecretStoreRef != nil {
			write(string(d.SourceRef.SecretStoreRef.KindOrDefault()), d.SourceRef.SecretStoreRef.Name)
		}
		write(d.RemoteRef.Key, d.RemoteRef.Version)
	}
	for _, d := range es.Spec.DataFrom {
		if d.Extract != nil {
			write(d.Extract.Key)
		}
	}
	return h.Sum64()
}

// jitterLimit is the largest jitter of a refresh: 5% of the interval, at
// most one minute (below provider.RecentReadTTL).
func jitterLimit(interval time.Duration) time.Duration {
	return min(interval/20, time.Minute)
}

// syncedResourceVersion identifies the object state a sync was made from:
// the generation and a hash of labels, annotations and the store's
// generation, so that any metadata change (such as the force-sync
// annotation) or a change of the store forces a refresh.
func syncedResourceVersion(es *esv1.ExternalSecret, storeGeneration int64) string {
	raw, _ := json.Marshal([]any{es.Labels, es.Annotations, storeGeneration})
	sum := sha256.Sum256(raw)
	return fmt.Sprintf("%d-%s", es.Generation, hex.EncodeToString(sum[:8]))
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// windowOpen reports whether periodic refreshes may run at now under the sync
// windows, and if not, when they next may. Windows are evaluated in UTC.
func windowOpen(w *esv1.SyncWindows, now time.Time) (bool, time.Time, error) {
	if w == nil || len(w.Windows) == 0 {
		return true, now, nil
	}
	now = now.UTC()
	var inside bool
	var nextChange time.Time
	for i, win := range w.Windows {
		sched, err := cronParser.Parse(win.Schedule)
		if err != nil {
			return false, now, fmt.Errorf("spec.syncWindows.windows[%d].schedule %q: %w", i, win.Schedule, err)
		}
		d := win.Duration.Duration
		// The window is active if its last start lies within d before now.
		start := sched.Next(now.Add(-d))
		active := d > 0 && !start.After(now)
		var change time.Time
		if active {
			inside, change = true, start.Add(d)
		} else {
			change = sched.Next(now)
		}
		if nextChange.IsZero() || change.Before(nextChange) {
			nextChange = change
		}
	}
	if w.Kind == esv1.SyncWindowDeny {
		return !inside, nextChange, nil
	}
	return inside, nextChange, nil
}
