package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/secretbridge/secretbridge/internal/controller"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/provider"
)

func newControllerCommand() *cobra.Command {
	var (
		opts       manager.Options
		kubeconfig string
		logLevel   string
		logFormat  string
		// endpointOverrides replace SDK endpoints (provider.EndpointOverride).
		endpointOverrides map[string]string
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller that reconciles external-secrets.io objects",
		Example: `  # In a cluster (uses the pod's ServiceAccount):
  secretbridge controller --leader-elect

  # From a workstation, against the current kubeconfig context, one namespace only:
  secretbridge controller --kubeconfig ~/.kube/config --namespace team-a --metrics-bind-address 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			ctrl.SetLogger(logger)
			if err := provider.SetEndpointOverrides(endpointOverrides); err != nil {
				return err
			}
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			ctx := ctrl.LoggerInto(ctrl.SetupSignalHandler(), logger)
			return manager.Run(ctx, cfg, opts, controller.Setup)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Path to a kubeconfig file; empty uses the in-cluster configuration, then $KUBECONFIG and ~/.kube/config.")
	f.StringVar(&opts.Namespace, "namespace", "", "Watch and write only this namespace (empty: all namespaces).")
	f.StringVar(&opts.ControllerClass, "controller-class", "", "Serve only stores whose spec.controller equals this value (empty: stores without spec.controller).")
	f.IntVar(&opts.Concurrent, "concurrent", manager.DefaultConcurrent, "Number of objects of each kind reconciled in parallel (default measured in docs/benchmarks.md).")
	f.Float32Var(&opts.QPS, "kube-api-qps", manager.DefaultQPS, "Requests per second to the Kubernetes API server, per resource type (negative, the default: no client-side limit, the API server's priority and fairness applies; see docs/benchmarks.md).")
	f.IntVar(&opts.Burst, "kube-api-burst", manager.DefaultBurst, "Requests to the Kubernetes API server allowed in a burst above a positive --kube-api-qps.")
	f.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "Address serving Go's net/http/pprof profiles, e.g. 127.0.0.1:6060 (empty: off).")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	f.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints; 0 disables them.")
	f.BoolVar(&opts.LeaderElect, "leader-elect", false, "Use a Lease so that only one replica reconciles at a time.")
	f.StringVar(&opts.LeaderElectionID, "leader-election-id", "secretbridge-controller", "Name of the leader-election Lease.")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: --pod-namespace, else the namespace of the in-cluster ServiceAccount).")
	f.StringVar(&opts.PodNamespace, "pod-namespace", os.Getenv("POD_NAMESPACE"), "The controller's own namespace (default $POD_NAMESPACE, set by the Helm chart from the downward API).")
	f.StringVar(&opts.ServiceAccountName, "service-account-name", os.Getenv("SERVICE_ACCOUNT_NAME"), "The controller's own ServiceAccount, which stores may authenticate as (default $SERVICE_ACCOUNT_NAME).")
	f.StringToStringVar(&endpointOverrides, "endpoint-override", nil, "Replace a provider SDK's endpoint, NAME=URL, repeatable (private/VPC endpoints, sovereign clouds). Names: "+strings.Join(provider.KnownEndpoints(), "; ")+".")
	f.StringVar(&logLevel, "log-level", "info", "Log level: debug, info or error.")
	f.StringVar(&logFormat, "log-format", "json", "Log format: json or text.")
	return cmd
}

// restConfig loads the cluster configuration the way kubectl does, with an
// explicit --kubeconfig taking precedence over in-cluster configuration.
func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the cluster configuration (set --kubeconfig or run in a pod): %w", err)
	}
	return cfg, nil
}

func newLogger(level, format string) (logr.Logger, error) {
	var lvl zapcore.Level
	switch level {
	case "debug":
		lvl = zapcore.DebugLevel
	case "info":
		lvl = zapcore.InfoLevel
	case "error":
		lvl = zapcore.ErrorLevel
	default:
		return logr.Logger{}, fmt.Errorf("--log-level %q: use debug, info or error", level)
	}
	var dev bool
	switch format {
	case "json":
	case "text":
		dev = true
	default:
		return logr.Logger{}, fmt.Errorf("--log-format %q: use json or text", format)
	}
	return zap.New(zap.Level(lvl), zap.UseDevMode(dev), zap.StacktraceLevel(zapcore.PanicLevel)), nil
}
