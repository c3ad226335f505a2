package kubernetes

import (
	"context"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Settings of every client this provider builds.
const (
	userAgent      = "secretbridge (kubernetes provider)"
	requestTimeout = 30 * time.Second
	clientQPS      = 50
	clientBurst    = 100
	// inClusterCAFile is the CA of the cluster the controller runs in, used
	// when server is omitted and no CA is configured.
	inClusterCAFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// builder turns a store's kubernetes block into a rest.Config.
type builder struct {
	refs refs
	spec *esv1.KubernetesProvider
	// method says how the client authenticates and where its credentials
	// come from, for messages; never a credential.
	method string
}

// restConfig returns the configuration of the remote API server and its
// credentials.
func (b *builder) restConfig(ctx context.Context) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if b.spec.AuthRef != nil {
		cfg, err = b.kubeconfigAuth(ctx, *b.spec.AuthRef)
	} else {
		cfg, err = b.serverConfig(ctx)
		if err == nil {
			switch a := b.spec.Auth; {
			case a.Token != nil:
				err = b.tokenAuth(ctx, a.Token, cfg)
			case a.Cert != nil:
				err = b.certAuth(ctx, a.Cert, cfg)
			case a.ServiceAccount != nil:
				err = b.serviceAccountAuth(ctx, a.ServiceAccount, cfg)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = userAgent
	cfg.Timeout = requestTimeout
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	return cfg, nil
}

// serverConfig returns the address and CA of server, without credentials.
func (b *builder) serverConfig(ctx context.Context) (*rest.Config, error) {
	server := esv1.KubernetesServer{}
	if b.spec.Server != nil {
		server = *b.spec.Server
	}
	host := server.URLOrDefault()
	if !strings.Contains(host, "://") {
		// Without a scheme client-go would pick plain http when no CA or
		// client certificate is set, and send the credentials in clear text.
		host = "https://" + host
	}
	cfg := &rest.Config{Host: host}
	switch {
	case len(server.CABundle) > 0:
		cfg.CAData = server.CABundle
	case server.CAProvider != nil:
		ca, err := b.refs.caBundle(ctx, field+".server.caProvider", *server.CAProvider)
		if err != nil {
			return nil, err
		}
		cfg.CAData = ca
	case server.URL == "":
		// The in-cluster API server: trust the cluster's CA when it is
		// mounted, else the system roots.
		if ca, err := os.ReadFile(inClusterCAFile); err == nil {
			cfg.CAData = ca
		}
	}
	return cfg, nil
}

// refs reads what a store refers to, under the namespace rules of its kind
// (provider.Refs).
type refs struct {
	provider.Refs
}

func (r refs) namespaceFor(path, selected string) (string, error) {
	return r.NamespaceFor(path, selected)
}

// secretValue reads the key sel points at; an empty value is refused. It also
// returns the Secret's namespace/name for messages.
func (r refs) secretValue(ctx context.Context, path string, sel esv1.SecretKeySelector) ([]byte, string, error) {
	value, name, err := r.SecretKey(ctx, path, sel, "")
	if err != nil {
		return nil, name, err
	}
	if len(value) == 0 {
		return nil, name, provider.NewConfigError(path+".key", "key %q of Secret %s is empty", sel.Key, name)
	}
	return value, name, nil
}

// caBundle reads the PEM bundle a caProvider points at.
func (r refs) caBundle(ctx context.Context, path string, p esv1.CAProvider) ([]byte, error) {
	return r.CABundle(ctx, path, p)
}
