package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/diagnose"
)

// kubeFlags are the cluster flags of the user commands, read like kubectl
// reads them: --kubeconfig (else $KUBECONFIG, else ~/.kube/config),
// --context, and -n/--namespace defaulting to the context's namespace.
type kubeFlags struct {
	kubeconfig    string
	context       string
	namespace     string
	allNamespaces bool
}

// add registers the flags on cmd; allNS adds -A/--all-namespaces.
func (k *kubeFlags) add(cmd *cobra.Command, allNS bool) {
	f := cmd.Flags()
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default $KUBECONFIG, then ~/.kube/config).")
	f.StringVar(&k.context, "context", "", "The kubeconfig context to use (default: the current context).")
	f.StringVarP(&k.namespace, "namespace", "n", "", "The namespace (default: the context's namespace, else \"default\").")
	if allNS {
		f.BoolVarP(&k.allNamespaces, "all-namespaces", "A", false, "Act on every namespace.")
	}
}

// clientConfig returns the kubeconfig loader for the flags.
func (k *kubeFlags) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.context}
	if k.namespace != "" {
		overrides.Context.Namespace = k.namespace
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// connect returns a client with the diagnose scheme (a superset of the
// controller's) and the namespace to act in.
func (k *kubeFlags) connect() (client.WithWatch, *rest.Config, string, error) {
	cc := k.clientConfig()
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, nil, "", fmt.Errorf("loading the kubeconfig (set --kubeconfig or $KUBECONFIG): %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading the context's namespace: %w", err)
	}
	cfg.UserAgent = "secretbridge-cli"
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: diagnose.Scheme()})
	if err != nil {
		return nil, nil, "", fmt.Errorf("connecting to the cluster at %s: %w", cfg.Host, err)
	}
	return c, cfg, ns, nil
}

// objectRef is a parsed command argument such as es/NAME.
type objectRef struct {
	kind string // esv1 kind: ExternalSecret, SecretStore, ClusterSecretStore
	name string
}

// kindAliases maps what users type to a kind, like kubectl's short names.
var kindAliases = map[string]string{
	"es": "ExternalSecret", "externalsecret": "ExternalSecret", "externalsecrets": "ExternalSecret",
	"store": string(esv1.SecretStoreKindSecretStore), "ss": string(esv1.SecretStoreKindSecretStore),
	"secretstore": string(esv1.SecretStoreKindSecretStore), "secretstores": string(esv1.SecretStoreKindSecretStore),
	"clusterstore": string(esv1.SecretStoreKindClusterSecretStore), "css": string(esv1.SecretStoreKindClusterSecretStore),
	"clustersecretstore": string(esv1.SecretStoreKindClusterSecretStore), "clustersecretstores": string(esv1.SecretStoreKindClusterSecretStore),
}

// parseRef parses KIND/NAME; a bare NAME is an ExternalSecret.
func parseRef(arg string, allowed ...string) (objectRef, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		kind, name = "es", arg
	}
	k, known := kindAliases[strings.ToLower(kind)]
	if !known || name == "" {
		return objectRef{}, fmt.Errorf("%q: write es/NAME, store/NAME or clusterstore/NAME", arg)
	}
	if len(allowed) > 0 && !contains(allowed, k) {
		return objectRef{}, fmt.Errorf("%q: this command takes %s", arg, strings.Join(allowed, " or "))
	}
	return objectRef{kind: k, name: name}, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// parseSelector parses a -l label selector.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-l %q: %w", s, err)
	}
	return sel, nil
}
