package secretstore

import (
	"math/rand/v2"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// DefaultRefreshInterval is how often a store is re-validated when its
// spec.refreshInterval is omitted, 0, negative or unparsable. It is
// upstream's default (--store-requeue-interval).
const DefaultRefreshInterval = 5 * time.Minute

// priorityRefresh is the work-queue priority of periodic re-validations:
// below the default of new and changed stores.
const priorityRefresh = -10

// refreshInterval is how long to wait before validating the store again.
// An unparsable spec.refreshInterval is reported by validate; here it falls
// back to the default so the store is still looked at.
func refreshInterval(spec *esv1.SecretStoreSpec) time.Duration {
	d, err := spec.RefreshIntervalDuration()
	if err != nil || d <= 0 {
		return DefaultRefreshInterval
	}
	return d
}

// jitter spreads the re-validations of stores created together: up to 5% of
// the interval, at most one minute.
func jitter(interval time.Duration) time.Duration {
	limit := min(interval/20, time.Minute)
	if limit <= 0 {
		return 0
	}
	return rand.N(limit)
}
