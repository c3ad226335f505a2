package providertest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A client that trusts only the returned CA completes a handshake with a
// server using the returned certificate, on 127.0.0.1; one that does not
// trust it is refused.
func TestLoopbackTLS(t *testing.T) {
	caPEM, cert, err := LoopbackTLS("unit")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA PEM does not parse")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := trusting.Get(srv.URL)
	if err != nil {
		t.Fatalf("a client trusting the CA was refused: %v", err)
	}
	resp.Body.Close()
	other := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if resp, err := other.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a client not trusting the CA completed the handshake")
	}
}
