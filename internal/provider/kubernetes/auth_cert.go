package kubernetes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"k8s.io/client-go/rest"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// certAuth authenticates with a client certificate and its private key,
// each held in a Secret (auth.cert.clientCert, auth.cert.clientKey).
func (b *builder) certAuth(ctx context.Context, a *esv1.CertAuth, cfg *rest.Config) error {
	certPath, keyPath := field+".auth.cert.clientCert", field+".auth.cert.clientKey"
	certPEM, certName, err := b.refs.secretValue(ctx, certPath, a.ClientCert)
	if err != nil {
		return err
	}
	keyPEM, _, err := b.refs.secretValue(ctx, keyPath, a.ClientKey)
	if err != nil {
		return err
	}
	// The errors of X509KeyPair describe the PEM structure, never its bytes.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return &provider.ConfigError{Field: field + ".auth.cert", Err: fmt.Errorf("the certificate in Secret %s and the key do not form a key pair: %w", certName, err)}
	}
	cfg.CertData, cfg.KeyData = certPEM, keyPEM
	b.method = "client certificate from Secret " + certName
	if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil {
		b.method = fmt.Sprintf("client certificate %q from Secret %s", leaf.Subject.String(), certName)
	}
	return nil
}
