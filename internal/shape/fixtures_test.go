package shape

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// pki is a three-level certificate chain and keys, generated once per test
// binary so that no key material is checked in.
type pki struct {
	rootCert, interCert, leafCert       *x509.Certificate
	rootPEM, interPEM, leafPEM, leafKey string
	leafKeyObj                          crypto.Signer
	rsaKey                              *rsa.PrivateKey
	rsaKeyPEM                           string // PKCS#1
	pfx, pfxPass                        []byte // leaf key + leaf + intermediate + root; pfxPass uses password "s3cret"
}

var fixtures = sync.OnceValues(func() (*pki, error) {
	p := &pki{}
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	issue := func(tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			panic(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		return c
	}
	rootKey, interKey, leafKey := newKey(), newKey(), newKey()
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	p.rootCert = issue(root, root, &rootKey.PublicKey, rootKey)
	inter := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	p.interCert = issue(inter, p.rootCert, &interKey.PublicKey, rootKey)
	u, _ := url.Parse("spiffe://example.org/app")
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "app.example.org"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		DNSNames:       []string{"app.example.org", "www.example.org"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		EmailAddresses: []string{"ops@example.org"},
		URIs:           []*url.URL{u},
	}
	p.leafCert = issue(leaf, p.interCert, &leafKey.PublicKey, interKey)
	p.leafKeyObj = leafKey

	enc := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	p.rootPEM, p.interPEM, p.leafPEM = enc(p.rootCert), enc(p.interCert), enc(p.leafCert)
	der, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return nil, err
	}
	p.leafKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p.rsaKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.rsaKey)}))

	// CA certificates deliberately out of order: root before intermediate.
	cas := []*x509.Certificate{p.rootCert, p.interCert}
	if p.pfx, err = gopkcs12.Modern2023.Encode(leafKey, p.leafCert, cas, ""); err != nil {
		return nil, err
	}
	if p.pfxPass, err = gopkcs12.Modern2023.Encode(leafKey, p.leafCert, cas, "s3cret"); err != nil {
		return nil, err
	}
	return p, nil
})

func testPKI(t *testing.T) *pki {
	t.Helper()
	p, err := fixtures()
	if err != nil {
		t.Fatalf("generating test PKI: %v", err)
	}
	return p
}
