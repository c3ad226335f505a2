// Package metrics defines secretbridge's Prometheus metrics, registered with
// controller-runtime's registry and served on the metrics endpoint beside its
// defaults (work queues, reconcile counts, API-client requests). Labels are
// low-cardinality: never an object name, a remote key or a value.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Sync results.
const (
	ResultSynced  = "synced"
	ResultError   = "error"
	ResultStalled = "stalled"
	ResultDeleted = "deleted"
)

var (
	// Syncs counts ExternalSecret syncs by result and whether the Secret was written.
	Syncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "secretbridge_sync_total",
		Help: "ExternalSecret syncs, by result (synced, error, stalled, deleted) and whether the target Secret was written.",
	}, []string{"result", "wrote"})

	// SyncDuration observes how long a sync took (fetch, shape and write).
	SyncDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "secretbridge_sync_duration_seconds",
		Help:    "Duration of ExternalSecret syncs: provider reads, shaping and the Secret write.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})

	// ProviderCalls counts calls that reached a provider, by provider,
	// operation and outcome (success, not_found, error).
	ProviderCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "secretbridge_provider_calls_total",
		Help: "Calls that reached a secret provider, by provider, operation and outcome (success, not_found, error).",
	}, []string{"provider", "operation", "outcome"})

	// ProviderCallDuration observes provider call latency.
	ProviderCallDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "secretbridge_provider_call_duration_seconds",
		Help:    "Latency of calls to secret providers, by provider and operation.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	}, []string{"provider", "operation"})

	// ClientCache counts provider client cache lookups by event (hit, miss,
	// build_error, coalesced).
	ClientCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "secretbridge_provider_client_cache_total",
		Help: "Provider client cache events: hit, miss, build_error, and coalesced (a read that shared another caller's call).",
	}, []string{"event"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(Syncs, SyncDuration, ProviderCalls, ProviderCallDuration, ClientCache)
}

// ObserveSync records one sync.
func ObserveSync(result string, wrote bool, took time.Duration) {
	w := "false"
	if wrote {
		w = "true"
	}
	Syncs.WithLabelValues(result, w).Inc()
	SyncDuration.Observe(took.Seconds())
}
