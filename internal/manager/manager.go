// Package manager builds and runs the controller process: a controller-runtime
// manager with the external-secrets.io scheme, health and readiness probes, the
// metrics endpoint and leader election. Reconcilers register through Setup.
package manager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// Options configures the controller process. Zero values mean the defaults
// documented on each field.
type Options struct {
	// Namespace limits what the controller watches and writes to one namespace; empty watches all.
	Namespace string
	// ControllerClass is the spec.controller value of the stores this instance serves; empty serves stores without one.
	ControllerClass string
	// Concurrent is the number of parallel reconciles per controller
	// (default DefaultConcurrent).
	Concurrent int
	// QPS and Burst limit the controller's requests to the API server
	// (defaults DefaultQPS and DefaultBurst; a negative QPS disables the
	// client-side limit and leaves it to the API server's priority and
	// fairness).
	QPS   float32
	Burst int
	// PprofAddr serves net/http/pprof when set ("" or "0": off).
	PprofAddr string
	// MetricsAddr is where Prometheus metrics are served ("0" disables; default ":8080").
	MetricsAddr string
	// ProbeAddr is where /healthz and /readyz are served ("0" disables; default ":8081").
	ProbeAddr string
	// LeaderElect turns leader election on, so only one replica reconciles.
	LeaderElect bool
	// LeaderElectionID names the Lease used for leader election.
	LeaderElectionID string
	// LeaderElectionNamespace is where the Lease lives (default: the pod's namespace).
	LeaderElectionNamespace string
	// PodNamespace is the controller's own namespace (from POD_NAMESPACE).
	PodNamespace string
	// ServiceAccountName is the controller's own ServiceAccount (from
	// SERVICE_ACCOUNT_NAME); stores may authenticate as it.
	ServiceAccountName string
}

// Defaults of Options, chosen from the scale benchmark (docs/benchmarks.md).
const (
	// DefaultConcurrent reconciles run in parallel per controller: a sync
	// mostly waits on the API server and the provider (the controller used
	// under 10% of a core during a cold start), so parallel workers overlap
	// those waits even on two cores. At N=1,000: 1 worker 199 s, 4 workers
	// 29 s, 16 workers 22 s.
	DefaultConcurrent = 16
	// DefaultQPS disables client-go's client-side rate limit (its default
	// of 5 requests per second per resource type capped a cold start at 5
	// objects per second) and leaves fairness to the API server's priority
	// and fairness, as controller-runtime's own configuration loader does.
	// A positive --kube-api-qps turns a client-side limit back on.
	DefaultQPS = -1
	// DefaultBurst is the burst allowed above a positive --kube-api-qps.
	DefaultBurst = 200
	// DefaultGCPercent is the garbage collector's target when GOGC is not
	// set: the controller's heap is mostly its informer caches plus
	// short-lived request garbage, and collecting at 50% growth instead of
	// 100% lowered the peak RSS at N=1,000 from 97 to 85 MiB for about 0.6 s
	// more CPU per 1,000 cold-start syncs, on a process that used under
	// 10% of a core. GOGC and GOMEMLIMIT in the environment take precedence.
	DefaultGCPercent = 50
)

// Setup registers reconcilers with a manager. The sync engine adds its own.
type Setup func(mgr ctrl.Manager, opts Options) error

// Scheme returns the scheme the controller uses: client-go's built-in types and external-secrets.io/v1.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(esv1.AddToScheme(s))
	return s
}

// New builds a manager for cfg with the given options and runs every setup on it.
func New(cfg *rest.Config, opts Options, setups ...Setup) (ctrl.Manager, error) {
	if opts.Concurrent < 0 {
		return nil, fmt.Errorf("--concurrent must be 1 or more, got %d", opts.Concurrent)
	}
	if opts.Concurrent == 0 {
		opts.Concurrent = DefaultConcurrent
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "secretbridge-controller"
	}
	mopts := ctrl.Options{
		Scheme:                        Scheme(),
		Metrics:                       metricsserver.Options{BindAddress: orDefault(opts.MetricsAddr, ":8080")},
		HealthProbeBindAddress:        orDefault(opts.ProbeAddr, ":8081"),
		PprofBindAddress:              opts.PprofAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       orDefault(opts.LeaderElectionNamespace, opts.PodNamespace),
		LeaderElectionReleaseOnCancel: true,
		Controller:                    config.Controller{MaxConcurrentReconciles: opts.Concurrent},
		GracefulShutdownTimeout:       ptr(30 * time.Second),
	}
	// Only Secrets that secretbridge manages are cached (in full); any other
	// Secret is read uncached when needed, so memory does not grow with the
	// cluster's Secrets.
	mopts.Cache = cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{esv1.LabelManaged: esv1.LabelManagedValue})},
	}, DefaultTransform: trimManagedFields}
	if opts.Namespace != "" {
		mopts.Cache.DefaultNamespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready once the informer caches have synced, so a rollout does not route
	// leadership to a replica that cannot reconcile yet.
	if err := mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informer caches have not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, setup := range setups {
		if err := setup(mgr, opts); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

// Run builds the manager and blocks until ctx is cancelled or the manager fails.
func Run(ctx context.Context, cfg *rest.Config, opts Options, setups ...Setup) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
	mgr, err := New(cfg, opts, setups...)
	if err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Starting controller", "namespace", opts.Namespace, "controllerClass", opts.ControllerClass, "concurrent", opts.Concurrent, "qps", opts.QPS, "burst", opts.Burst, "leaderElection", opts.LeaderElect)
	return mgr.Start(ctx)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func ptr[T any](v T) *T { return &v }
