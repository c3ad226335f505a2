package shape

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemPublicKey   = "PUBLIC KEY"
)

// The messages below describe the kind of input a function rejected. They
// never include the input, nor the text of a library error that might.

func pkcs12key(input string) (string, error) { return pkcs12keyPass("", input) }

func pkcs12keyPass(password, input string) (string, error) {
	key, _, _, err := gopkcs12.DecodeChain([]byte(input), password)
	if err != nil {
		return "", pkcs12DecodeError(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", funcErrorf("the archive's private key cannot be written as PKCS#8")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der})), nil
}

func pkcs12cert(input string) (string, error) { return pkcs12certPass("", input) }

func pkcs12certPass(password, input string) (string, error) {
	_, leaf, cas, err := gopkcs12.DecodeChain([]byte(input), password)
	if err != nil {
		return "", pkcs12DecodeError(err)
	}
	certs := append([]*x509.Certificate{leaf}, cas...)
	// Order leaf → intermediates → root when the certificates form one
	// chain; keep the archive's order otherwise (disjunct or several leaves).
	if ordered, err := orderChain(certs); err == nil {
		certs = ordered
	}
	return encodeCerts(certs), nil
}

func pkcs12DecodeError(err error) error {
	switch {
	case errors.Is(err, gopkcs12.ErrIncorrectPassword):
		return funcErrorf("the PKCS#12 password is incorrect")
	case errors.Is(err, gopkcs12.ErrDecryption):
		return funcErrorf("the PKCS#12 archive cannot be decrypted")
	default:
		var ni gopkcs12.NotImplementedError
		if errors.As(err, &ni) {
			return funcErrorf("the PKCS#12 archive uses an unsupported feature")
		}
		return funcErrorf("the input is not a PKCS#12 archive with one private key and certificate (pipe a base64 value through b64dec first)")
	}
}

func pemToPkcs12(cert, key string) (string, error) { return pemToPkcs12Pass(cert, key, "") }

func pemToPkcs12Pass(cert, key, password string) (string, error) {
	certs, err := parseCertificates(cert)
	if err != nil {
		return "", err
	}
	return certsKeyToPkcs12(certs[0], key, nil, password)
}

func fullPemToPkcs12(cert, key string) (string, error) { return fullPemToPkcs12Pass(cert, key, "") }

func fullPemToPkcs12Pass(cert, key, password string) (string, error) {
	certs, err := parseCertificates(cert)
	if err != nil {
		return "", err
	}
	return certsKeyToPkcs12(certs[0], key, certs[1:], password)
}

func certsKeyToPkcs12(leaf *x509.Certificate, keyPEM string, cas []*x509.Certificate, password string) (string, error) {
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return "", err
	}
	pfx, err := gopkcs12.Modern2023.Encode(key, leaf, cas, password)
	if err != nil {
		return "", funcErrorf("cannot build a PKCS#12 archive from this key and certificate")
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

func pemTruststoreToPKCS12(certs string) (string, error) { return pemTruststoreToPKCS12Pass(certs, "") }

func pemTruststoreToPKCS12Pass(certs, password string) (string, error) {
	parsed, err := parseCertificates(certs)
	if err != nil {
		return "", err
	}
	pfx, err := gopkcs12.Modern2023.EncodeTrustStore(parsed, password)
	if err != nil {
		return "", funcErrorf("cannot build a PKCS#12 trust store from these certificates")
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

// pemBlocks decodes every PEM block of input, skipping text around blocks.
// junkOnly reports that input holds no block but is not blank.
func pemBlocks(input string) (blocks []*pem.Block, junkOnly bool) {
	rest := []byte(input)
	for {
		i := bytes.Index(rest, []byte("-----BEGIN"))
		if i < 0 {
			break
		}
		block, next := pem.Decode(rest[i:])
		if block == nil {
			// A BEGIN line without a valid block: skip past it.
			rest = rest[i+len("-----BEGIN"):]
			continue
		}
		blocks = append(blocks, block)
		rest = next
	}
	return blocks, len(blocks) == 0 && strings.TrimSpace(input) != ""
}

// filterPEM returns the PEM blocks of pemType (compared case-insensitively)
// in their order. Input that holds no PEM block at all is an error, like
// upstream; input with blocks of other types only yields "".
func filterPEM(pemType, input string) (string, error) {
	blocks, junkOnly := pemBlocks(input)
	if junkOnly {
		return "", funcErrorf("the input contains no PEM block")
	}
	var out []byte
	for _, b := range blocks {
		if strings.EqualFold(b.Type, pemType) {
			out = append(out, pem.EncodeToMemory(b)...)
		}
	}
	return string(out), nil
}

// parseCertificates parses the CERTIFICATE blocks of input, in order, and
// fails when there is none or one does not parse.
func parseCertificates(input string) ([]*x509.Certificate, error) {
	blocks, _ := pemBlocks(input)
	var certs []*x509.Certificate
	for i, b := range blocks {
		if b.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, funcErrorf("PEM block %d is not a valid X.509 certificate", i+1)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, funcErrorf("the input contains no PEM CERTIFICATE block")
	}
	return certs, nil
}

func encodeCerts(certs []*x509.Certificate) string {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: c.Raw})...)
	}
	return string(out)
}

// isSelfIssued reports whether c is a root: issued by itself and, when it
// carries key identifiers, signed with its own key.
func isSelfIssued(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		return false
	}
	return len(c.AuthorityKeyId) == 0 || len(c.SubjectKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

// issuedBy reports whether parent is child's issuer, by key identifier when
// child names one, by distinguished name otherwise. It does not verify
// signatures: this is a formatting helper, not a trust decision.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 {
		return bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
	}
	return true
}

// orderChain orders certs leaf → intermediates → root. It fails when they
// do not form exactly one chain.
func orderChain(certs []*x509.Certificate) ([]*x509.Certificate, error) {
	parent := make([]int, len(certs))
	isParent := make([]bool, len(certs))
	for i, c := range certs {
		parent[i] = -1
		if isSelfIssued(c) {
			continue
		}
		for j, p := range certs {
			if i != j && issuedBy(c, p) {
				parent[i] = j
				isParent[j] = true
				break
			}
		}
	}
	leaf := -1
	for i := range certs {
		if !isParent[i] {
			if leaf >= 0 {
				return nil, errors.New("several leaf or disjunct certificates")
			}
			leaf = i
		}
	}
	if leaf < 0 {
		return nil, errors.New("no leaf certificate")
	}
	var ordered []*x509.Certificate
	for i := leaf; i >= 0; i = parent[i] {
		if len(ordered) == len(certs) {
			return nil, errors.New("the certificates form a cycle")
		}
		ordered = append(ordered, certs[i])
	}
	if len(ordered) != len(certs) {
		return nil, errors.New("several chains")
	}
	return ordered, nil
}

// filterCertChain returns the leaf, the intermediates or the root of the
// certificate chain in input, as PEM; "" when the chain has no such part
// (a lone self-signed certificate has no leaf). Upstream returns "" for an
// unknown certType; here it is an error.
func filterCertChain(certType, input string) (string, error) {
	certs, err := parseCertificates(input)
	if err != nil {
		return "", err
	}
	ordered, err := orderChain(certs)
	if err != nil {
		return "", funcErrorf("the certificates do not form one chain: %v", err)
	}
	switch certType {
	case "leaf":
		if isSelfIssued(ordered[0]) {
			return "", nil
		}
		return encodeCerts(ordered[:1]), nil
	case "intermediate":
		var mid []*x509.Certificate
		for _, c := range ordered[1:] {
			if isSelfIssued(c) {
				break
			}
			mid = append(mid, c)
		}
		return encodeCerts(mid), nil
	case "root":
		if last := ordered[len(ordered)-1]; isSelfIssued(last) {
			return encodeCerts([]*x509.Certificate{last}), nil
		}
		return "", nil
	default:
		return "", funcErrorf("unknown certificate type %q: use leaf, intermediate or root", certType)
	}
}

// certSANs returns the subject alternative names of the first certificate in
// input: DNS names, IP addresses, e-mail addresses, then URIs.
func certSANs(input string) ([]string, error) {
	certs, err := parseCertificates(input)
	if err != nil {
		return nil, err
	}
	c := certs[0]
	sans := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses)+len(c.EmailAddresses)+len(c.URIs))
	sans = append(sans, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	return sans, nil
}

func parseJWK(input string) (*jose.JSONWebKey, error) {
	if !json.Valid([]byte(input)) {
		return nil, funcErrorf("the input is not JSON")
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(input)); err != nil {
		return nil, funcErrorf("the input is not a supported JSON Web Key")
	}
	return &k, nil
}

// jwkPublicKeyPem returns the public key of a JWK (public or private) as a
// PKIX PEM block.
func jwkPublicKeyPem(input string) (string, error) {
	k, err := parseJWK(input)
	if err != nil {
		return "", err
	}
	pub := k.Public()
	if pub.Key == nil {
		return "", funcErrorf("the JSON Web Key has no public key (symmetric keys have none)")
	}
	der, err := x509.MarshalPKIXPublicKey(pub.Key)
	if err != nil {
		return "", funcErrorf("the JSON Web Key's public key cannot be written as PKIX")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der})), nil
}

// jwkPrivateKeyPem returns the private key of a JWK as a PKCS#8 PEM block.
func jwkPrivateKeyPem(input string) (string, error) {
	k, err := parseJWK(input)
	if err != nil {
		return "", err
	}
	if k.IsPublic() {
		return "", funcErrorf("the JSON Web Key is a public key; it has no private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return "", funcErrorf("the JSON Web Key's private key cannot be written as PKCS#8")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der})), nil
}

// parsePrivateKeyPEM parses the first PEM block of input as a PKCS#1,
// PKCS#8 or SEC 1 private key.
func parsePrivateKeyPEM(input string) (crypto.PrivateKey, error) {
	blocks, _ := pemBlocks(input)
	for _, b := range blocks {
		if !strings.HasSuffix(b.Type, pemPrivateKey) {
			continue
		}
		if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
			return k, nil
		}
		return nil, funcErrorf("the %s PEM block is not a PKCS#1, PKCS#8 or SEC 1 private key", b.Type)
	}
	return nil, funcErrorf("the input contains no PEM private key block")
}

// rsaDecrypt decrypts ciphertext (raw bytes: pipe base64 through b64dec
// first) with an RSA private key in PEM. scheme is "RSA-OAEP", or "None" to
// return ciphertext unchanged. Upstream silently uses SHA-256 for an unknown
// hash; here it is an error.
func rsaDecrypt(scheme, hashName, ciphertext, privateKey string) (string, error) {
	switch scheme {
	case "None":
		return ciphertext, nil
	case "RSA-OAEP":
	default:
		return "", funcErrorf("decryption scheme %q is not supported: use RSA-OAEP or None", scheme)
	}
	h, err := oaepHash(hashName)
	if err != nil {
		return "", err
	}
	key, err := parsePrivateKeyPEM(privateKey)
	if err != nil {
		return "", err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return "", funcErrorf("the private key is not an RSA key")
	}
	out, err := rsa.DecryptOAEP(h, nil, rk, []byte(ciphertext), nil)
	if err != nil {
		return "", funcErrorf("RSA-OAEP decryption failed (wrong key, wrong hash, or the ciphertext is still base64-encoded)")
	}
	return string(out), nil
}

func oaepHash(name string) (hash.Hash, error) {
	switch strings.ToUpper(strings.ReplaceAll(name, "-", "")) {
	case "SHA1":
		return sha1.New(), nil // OAEP with SHA-1 is still common; the template asks for it by name.
	case "", "NONE", "SHA256":
		return sha256.New(), nil
	case "SHA384":
		return sha512.New384(), nil
	case "SHA512":
		return sha512.New(), nil
	default:
		return nil, funcErrorf("hash %q is not supported: use SHA1, SHA256, SHA384 or SHA512", name)
	}
}
