package externalsecret

import (
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

// controllerOptions runs concurrency workers on a priority queue, so that
// periodic refreshes (requeued at low priority) never delay first syncs.
func controllerOptions(concurrency int) controller.Options {
	usePQ := true
	return controller.Options{MaxConcurrentReconciles: concurrency, UsePriorityQueue: &usePQ}
}
