package shape

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// run renders src over data the way Render does.
func run(src string, data map[string]string) (string, error) {
	out, err := renderTemplate("test", src, data)
	return string(out), err
}

func mustRun(t *testing.T, src string, data map[string]string) string {
	t.Helper()
	out, err := run(src, data)
	if err != nil {
		t.Fatalf("template %q: %v", src, err)
	}
	return out
}

// pemCerts parses every CERTIFICATE block of s.
func pemCerts(t *testing.T, s string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return certs
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("unexpected PEM block %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
}

func names(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestRemovedSprigFunctions(t *testing.T) {
	fm := FuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		t.Run(name, func(t *testing.T) {
			if _, ok := fm[name]; ok {
				t.Fatalf("FuncMap() offers %s", name)
			}
			if _, err := run(`{{ `+name+` "x" }}`, nil); err == nil || !strings.Contains(err.Error(), "not defined") {
				t.Fatalf("template calling %s: error = %v, want a parse error", name, err)
			}
		})
	}
	// Sprig is otherwise there.
	if got := mustRun(t, `{{ "abc" | upper | b64enc }}`, nil); got != "QUJD" {
		t.Fatalf("sprig pipeline = %q", got)
	}
	// FuncMap returns a copy.
	delete(fm, "upper")
	if _, ok := FuncMap()["upper"]; !ok {
		t.Fatal("FuncMap() shares its map with callers")
	}
}

func TestPKCS12Functions(t *testing.T) {
	p := testPKI(t)
	data := map[string]string{"p12": string(p.pfx), "p12pass": string(p.pfxPass), "b64": base64.StdEncoding.EncodeToString(p.pfx)}
	tests := []struct {
		name      string
		src       string
		wantCerts []string
		wantKey   bool
		wantErr   string
	}{
		{name: "pkcs12key", src: `{{ .p12 | pkcs12key }}`, wantKey: true},
		{name: "pkcs12key after b64dec", src: `{{ .b64 | b64dec | pkcs12key }}`, wantKey: true},
		{name: "pkcs12keyPass", src: `{{ .p12pass | pkcs12keyPass "s3cret" }}`, wantKey: true},
		{name: "pkcs12cert orders the chain", src: `{{ .p12 | pkcs12cert }}`, wantCerts: []string{"app.example.org", "test intermediate", "test root"}},
		{name: "pkcs12certPass", src: `{{ .p12pass | pkcs12certPass "s3cret" }}`, wantCerts: []string{"app.example.org", "test intermediate", "test root"}},
		{name: "wrong password", src: `{{ .p12pass | pkcs12keyPass "wrong" }}`, wantErr: "pkcs12keyPass: the PKCS#12 password is incorrect"},
		{name: "not an archive", src: `{{ .b64 | pkcs12cert }}`, wantErr: "pkcs12cert: the input is not a PKCS#12 archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKey {
				b, _ := pem.Decode([]byte(out))
				if b == nil || b.Type != "PRIVATE KEY" {
					t.Fatalf("output is not a PRIVATE KEY block: %q", out)
				}
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if !k.(*ecdsa.PrivateKey).Equal(p.leafKeyObj) {
					t.Fatal("pkcs12key returned another key")
				}
			}
			if tt.wantCerts != nil {
				if got := names(pemCerts(t, out)); !reflect.DeepEqual(got, tt.wantCerts) {
					t.Fatalf("certificates = %v, want %v", got, tt.wantCerts)
				}
			}
		})
	}
}

func TestPEMToPKCS12Functions(t *testing.T) {
	p := testPKI(t)
	data := map[string]string{
		"cert":  p.leafPEM,
		"chain": p.leafPEM + p.interPEM + p.rootPEM,
		"key":   p.leafKey,
		"cas":   p.interPEM + p.rootPEM,
	}
	tests := []struct {
		name      string
		src       string
		password  string
		wantCAs   []string
		trust     bool
		wantError string
	}{
		{name: "pemToPkcs12", src: `{{ pemToPkcs12 .cert .key }}`},
		{name: "pemToPkcs12Pass", src: `{{ pemToPkcs12Pass .cert .key "pw" }}`, password: "pw"},
		{name: "pemToPkcs12 keeps only the first certificate", src: `{{ pemToPkcs12 .chain .key }}`},
		{name: "fullPemToPkcs12", src: `{{ fullPemToPkcs12 .chain .key }}`, wantCAs: []string{"test intermediate", "test root"}},
		{name: "fullPemToPkcs12Pass", src: `{{ fullPemToPkcs12Pass .chain .key "pw" }}`, password: "pw", wantCAs: []string{"test intermediate", "test root"}},
		{name: "pemTruststoreToPKCS12", src: `{{ pemTruststoreToPKCS12 .cas }}`, trust: true, wantCAs: []string{"test intermediate", "test root"}},
		{name: "garbage certificate", src: `{{ pemToPkcs12 .key .key }}`, wantError: "no PEM CERTIFICATE block"},
		{name: "garbage key", src: `{{ pemToPkcs12 .cert .cert }}`, wantError: "no PEM private key block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error = %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pfx, err := base64.StdEncoding.DecodeString(out)
			if err != nil {
				t.Fatalf("output is not base64: %v", err)
			}
			if tt.trust {
				certs, err := gopkcs12.DecodeTrustStore(pfx, tt.password)
				if err != nil {
					t.Fatal(err)
				}
				if got := names(certs); !reflect.DeepEqual(got, tt.wantCAs) {
					t.Fatalf("trust store = %v, want %v", got, tt.wantCAs)
				}
				return
			}
			key, leaf, cas, err := gopkcs12.DecodeChain(pfx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if leaf.Subject.CommonName != "app.example.org" || !key.(*ecdsa.PrivateKey).Equal(p.leafKeyObj) {
				t.Fatal("archive holds another certificate or key")
			}
			if got := names(cas); !reflect.DeepEqual(got, tt.wantCAs) {
				t.Fatalf("CA certificates = %v, want %v", got, tt.wantCAs)
			}
		})
	}
}

func TestPEMFunctions(t *testing.T) {
	p := testPKI(t)
	data := map[string]string{
		"bundle":   "junk before\n" + p.leafKey + p.leafPEM + "junk between\n" + p.interPEM,
		"shuffled": p.rootPEM + p.leafPEM + p.interPEM,
		"root":     p.rootPEM,
		"nochain":  p.leafPEM + p.rootPEM,
		"twoleafs": p.leafPEM + p.interPEM,
		"text":     "no pem here",
	}
	tests := []struct {
		name      string
		src       string
		wantCerts []string
		want      *string
		wantErr   string
	}{
		{name: "filterPEM certificates", src: `{{ .bundle | filterPEM "CERTIFICATE" }}`, wantCerts: []string{"app.example.org", "test intermediate"}},
		{name: "filterPEM is case-insensitive", src: `{{ .bundle | filterPEM "private key" | len | ne 0 }}`, want: ptr("true")},
		{name: "filterPEM with no match", src: `{{ .bundle | filterPEM "EC PARAMETERS" }}`, want: ptr("")},
		{name: "filterPEM without PEM", src: `{{ .text | filterPEM "CERTIFICATE" }}`, wantErr: "filterPEM: the input contains no PEM block"},
		{name: "leaf", src: `{{ .shuffled | filterCertChain "leaf" }}`, wantCerts: []string{"app.example.org"}},
		{name: "intermediate", src: `{{ .shuffled | filterCertChain "intermediate" }}`, wantCerts: []string{"test intermediate"}},
		{name: "root", src: `{{ .shuffled | filterCertChain "root" }}`, wantCerts: []string{"test root"}},
		{name: "lone root has no leaf", src: `{{ .root | filterCertChain "leaf" }}`, want: ptr("")},
		{name: "lone root is a root", src: `{{ .root | filterCertChain "root" }}`, wantCerts: []string{"test root"}},
		{name: "chain without root", src: `{{ .twoleafs | filterCertChain "root" }}`, want: ptr("")},
		{name: "disjunct certificates", src: `{{ .nochain | filterCertChain "leaf" }}`, wantErr: "do not form one chain"},
		{name: "unknown type", src: `{{ .shuffled | filterCertChain "middle" }}`, wantErr: `unknown certificate type "middle"`},
		{name: "certSANs reads the first certificate (a root without SANs)", src: `{{ .shuffled | certSANs | join "," }}`, want: ptr("")},
		{name: "certSANs of the leaf", src: `{{ .bundle | filterPEM "CERTIFICATE" | certSANs | join "," }}`, want: ptr("app.example.org,www.example.org,10.0.0.1,ops@example.org,spiffe://example.org/app")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && out != *tt.want {
				t.Fatalf("output = %q, want %q", out, *tt.want)
			}
			if tt.wantCerts != nil {
				if got := names(pemCerts(t, out)); !reflect.DeepEqual(got, tt.wantCerts) {
					t.Fatalf("certificates = %v, want %v", got, tt.wantCerts)
				}
			}
		})
	}
}

func TestJWKFunctions(t *testing.T) {
	p := testPKI(t)
	jwk := func(key any) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	data := map[string]string{
		"rsaPriv": jwk(p.rsaKey),
		"rsaPub":  jwk(&p.rsaKey.PublicKey),
		"ecPriv":  jwk(p.leafKeyObj),
		"oct":     `{"kty":"oct","k":"AAEC"}`,
		"text":    "not json",
	}
	tests := []struct {
		name    string
		src     string
		want    crypto.PublicKey
		private bool
		wantErr string
	}{
		{name: "RSA private to private PEM", src: `{{ .rsaPriv | jwkPrivateKeyPem }}`, want: &p.rsaKey.PublicKey, private: true},
		{name: "RSA private to public PEM", src: `{{ .rsaPriv | jwkPublicKeyPem }}`, want: &p.rsaKey.PublicKey},
		{name: "RSA public to public PEM", src: `{{ .rsaPub | jwkPublicKeyPem }}`, want: &p.rsaKey.PublicKey},
		{name: "EC private to private PEM", src: `{{ .ecPriv | jwkPrivateKeyPem }}`, want: p.leafKeyObj.Public(), private: true},
		{name: "public key has no private PEM", src: `{{ .rsaPub | jwkPrivateKeyPem }}`, wantErr: "is a public key"},
		{name: "symmetric key has no public key", src: `{{ .oct | jwkPublicKeyPem }}`, wantErr: "no public key"},
		{name: "not JSON", src: `{{ .text | jwkPublicKeyPem }}`, wantErr: "jwkPublicKeyPem: the input is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := pem.Decode([]byte(out))
			if b == nil {
				t.Fatalf("output is not PEM: %q", out)
			}
			var pub crypto.PublicKey
			if tt.private {
				if b.Type != "PRIVATE KEY" {
					t.Fatalf("block type %q", b.Type)
				}
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				pub = k.(crypto.Signer).Public()
			} else {
				if b.Type != "PUBLIC KEY" {
					t.Fatalf("block type %q", b.Type)
				}
				if pub, err = x509.ParsePKIXPublicKey(b.Bytes); err != nil {
					t.Fatal(err)
				}
			}
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want) {
				t.Fatal("output holds another key")
			}
		})
	}
}

func TestRSADecrypt(t *testing.T) {
	p := testPKI(t)
	enc := func(h func() []byte) string { return base64.StdEncoding.EncodeToString(h()) }
	ct256 := enc(func() []byte {
		b, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &p.rsaKey.PublicKey, []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	ct1 := enc(func() []byte {
		b, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &p.rsaKey.PublicKey, []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	data := map[string]string{"ct256": ct256, "ct1": ct1, "key": p.rsaKeyPEM, "ecKey": p.leafKey}
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "SHA256", src: `{{ rsaDecrypt "RSA-OAEP" "SHA256" (.ct256 | b64dec) .key }}`, want: "hello"},
		{name: "None hash means SHA256", src: `{{ rsaDecrypt "RSA-OAEP" "None" (.ct256 | b64dec) .key }}`, want: "hello"},
		{name: "SHA1 with the key piped", src: `{{ .key | rsaDecrypt "RSA-OAEP" "SHA1" (.ct1 | b64dec) }}`, want: "hello"},
		{name: "scheme None returns the input", src: `{{ rsaDecrypt "None" "SHA256" "plain" .key }}`, want: "plain"},
		{name: "wrong hash", src: `{{ rsaDecrypt "RSA-OAEP" "SHA512" (.ct256 | b64dec) .key }}`, wantErr: "RSA-OAEP decryption failed"},
		{name: "still base64", src: `{{ rsaDecrypt "RSA-OAEP" "SHA256" .ct256 .key }}`, wantErr: "RSA-OAEP decryption failed"},
		{name: "unknown hash", src: `{{ rsaDecrypt "RSA-OAEP" "MD5" .ct256 .key }}`, wantErr: `hash "MD5" is not supported`},
		{name: "unknown scheme", src: `{{ rsaDecrypt "PKCS1" "SHA256" .ct256 .key }}`, wantErr: `scheme "PKCS1" is not supported`},
		{name: "not an RSA key", src: `{{ rsaDecrypt "RSA-OAEP" "SHA256" .ct256 .ecKey }}`, wantErr: "not an RSA key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || out != tt.want {
				t.Fatalf("output = %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

func TestYAMLFunctions(t *testing.T) {
	data := map[string]string{"doc": "a: 1\nb:\n  c: x\n", "json": `{"k":"v"}`, "bad": "a: [unclosed"}
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "fromYaml field", src: `{{ (fromYaml .doc).b.c }}`, want: "x"},
		{name: "fromYaml reads JSON", src: `{{ (fromYaml .json).k }}`, want: "v"},
		{name: "toYaml", src: `{{ dict "a" 1 "b" (list "x" "z") | toYaml }}`, want: "a: 1\nb:\n- x\n- z"},
		{name: "round trip", src: `{{ fromYaml .doc | toYaml }}`, want: "a: 1\nb:\n  c: x"},
		{name: "fromYaml on bad YAML fails", src: `{{ fromYaml .bad }}`, wantErr: "fromYaml: input is not a YAML mapping (line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.src, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || out != tt.want {
				t.Fatalf("output = %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}
