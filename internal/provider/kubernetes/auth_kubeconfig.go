package kubernetes

import (
	"context"
	"fmt"
	"net/url"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// kubeconfigAuth reads the server, CA and credentials from a kubeconfig
// held in a Secret (authRef), using its current context.
//
// The kubeconfig must be self-contained. References to files and
// credential plugins are refused: they would run in the controller's pod,
// so a store's author could make the controller read its own files (its
// ServiceAccount token, for one) or run commands.
func (b *builder) kubeconfigAuth(ctx context.Context, sel esv1.SecretKeySelector) (*rest.Config, error) {
	path := field + ".authRef"
	raw, name, err := b.refs.secretValue(ctx, path, sel)
	if err != nil {
		return nil, err
	}
	kc, err := clientcmd.Load(raw)
	if err != nil {
		return nil, &provider.ConfigError{Field: path, Err: fmt.Errorf("key %q of Secret %s is not a kubeconfig: %w", sel.Key, name, err)}
	}
	contextName, err := checkSelfContained(kc)
	if err != nil {
		return nil, &provider.ConfigError{Field: path, Err: fmt.Errorf("the kubeconfig in key %q of Secret %s: %w", sel.Key, name, err)}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, &provider.ConfigError{Field: path, Err: fmt.Errorf("the kubeconfig in key %q of Secret %s: %w", sel.Key, name, err)}
	}
	if u, err := url.Parse(cfg.Host); err == nil && u.Scheme == "http" {
		return nil, provider.NewConfigError(path, "the kubeconfig in key %q of Secret %s points at %s: use an https:// server; credentials are never sent in clear text", sel.Key, name, cfg.Host)
	}
	b.method = fmt.Sprintf("kubeconfig from key %q of Secret %s (context %q)", sel.Key, name, contextName)
	return cfg, nil
}

// checkSelfContained checks that the current context of kc, its cluster and
// its user name no file and no credential plugin. It returns the context's
// name.
func checkSelfContained(kc *clientcmdapi.Config) (string, error) {
	name := kc.CurrentContext
	if name == "" {
		return "", fmt.Errorf("has no current-context")
	}
	kctx, ok := kc.Contexts[name]
	if !ok {
		return "", fmt.Errorf("current-context %q is not among its contexts", name)
	}
	if cluster, ok := kc.Clusters[kctx.Cluster]; ok && cluster.CertificateAuthority != "" {
		return "", fmt.Errorf("cluster %q refers to the file %q; embed the CA as certificate-authority-data", kctx.Cluster, cluster.CertificateAuthority)
	}
	user, ok := kc.AuthInfos[kctx.AuthInfo]
	if !ok {
		return name, nil
	}
	switch {
	case user.ClientCertificate != "":
		return "", fmt.Errorf("user %q refers to the file %q; embed the certificate as client-certificate-data", kctx.AuthInfo, user.ClientCertificate)
	case user.ClientKey != "":
		return "", fmt.Errorf("user %q refers to the file %q; embed the key as client-key-data", kctx.AuthInfo, user.ClientKey)
	case user.TokenFile != "":
		return "", fmt.Errorf("user %q refers to the token file %q; embed the token as token", kctx.AuthInfo, user.TokenFile)
	case user.Exec != nil:
		return "", fmt.Errorf("user %q runs the credential plugin %q; plugins are not run by the controller: use a token or a client certificate", kctx.AuthInfo, user.Exec.Command)
	case user.AuthProvider != nil:
		return "", fmt.Errorf("user %q uses the auth provider %q; auth providers are not supported: use a token or a client certificate", kctx.AuthInfo, user.AuthProvider.Name)
	}
	return name, nil
}
