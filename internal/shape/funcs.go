package shape

import (
	"maps"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// removedSprigFuncs are the Sprig functions templates cannot call, because
// they read the controller's environment (env, expandenv) or the network
// (getHostByName). Sprig has no function that reads files.
var removedSprigFuncs = []string{"env", "expandenv", "getHostByName"}

// FuncMap returns a copy of the functions available to templates (the
// template engine v2 of upstream): Sprig's text functions without env,
// expandenv and getHostByName, plus
//
//   - pkcs12key, pkcs12keyPass(password), pkcs12cert, pkcs12certPass(password):
//     the private key (PKCS#8 PEM) or the certificates (PEM, ordered leaf,
//     intermediates, root when they form one chain) of a binary PKCS#12
//     archive (pipe a base64 value through b64dec first);
//   - pemToPkcs12(cert, key), pemToPkcs12Pass(cert, key, password),
//     fullPemToPkcs12(certs, key), fullPemToPkcs12Pass(certs, key, password):
//     a base64-encoded PKCS#12 archive of a PEM key and its certificate
//     (the "full" forms include the rest of the chain);
//   - pemTruststoreToPKCS12(certs), pemTruststoreToPKCS12Pass(certs, password):
//     a base64-encoded PKCS#12 trust store of PEM certificates;
//   - filterPEM(type, pem): the PEM blocks of one type;
//   - filterCertChain(leaf|intermediate|root, pem): part of a certificate chain;
//   - certSANs(pem): the subject alternative names of a certificate;
//   - jwkPublicKeyPem(jwk), jwkPrivateKeyPem(jwk): a JSON Web Key as a PKIX
//     public key or PKCS#8 private key in PEM;
//   - rsaDecrypt(scheme, hash, ciphertext, privateKeyPEM): RSA-OAEP
//     decryption (scheme "RSA-OAEP" or "None"; hash SHA1, SHA256, SHA384 or
//     SHA512, "None" meaning SHA256);
//   - toYaml(value), fromYaml(string).
//
// Templates take these arguments in this order, so the value can be piped in
// last: {{ .cert | filterPEM "CERTIFICATE" }}.
func FuncMap() template.FuncMap {
	return maps.Clone(baseFuncs())
}

var baseFuncs = sync.OnceValue(func() template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range removedSprigFuncs {
		delete(fm, name)
	}
	maps.Copy(fm, template.FuncMap{
		"pkcs12key":      pkcs12key,
		"pkcs12keyPass":  pkcs12keyPass,
		"pkcs12cert":     pkcs12cert,
		"pkcs12certPass": pkcs12certPass,

		"pemToPkcs12":               pemToPkcs12,
		"pemToPkcs12Pass":           pemToPkcs12Pass,
		"fullPemToPkcs12":           fullPemToPkcs12,
		"fullPemToPkcs12Pass":       fullPemToPkcs12Pass,
		"pemTruststoreToPKCS12":     pemTruststoreToPKCS12,
		"pemTruststoreToPKCS12Pass": pemTruststoreToPKCS12Pass,

		"filterPEM":       filterPEM,
		"filterCertChain": filterCertChain,
		"certSANs":        certSANs,

		"jwkPublicKeyPem":  jwkPublicKeyPem,
		"jwkPrivateKeyPem": jwkPrivateKeyPem,

		"rsaDecrypt": rsaDecrypt,

		"toYaml":   toYAML,
		"fromYaml": fromYAML,
	})
	return fm
})

// toYAML marshals v to YAML without the trailing newline. Like upstream and
// Helm it returns an empty string when v cannot be marshalled.
func toYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

// fromYAML parses a YAML (or JSON) mapping. Upstream swallows the error and
// stores its text, which may quote the input, under the key "Error"; here a
// bad document fails the template with a message that names only the line.
func fromYAML(s string) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, funcErrorf("input is not a YAML mapping%s", yamlErrorLine(err))
	}
	return m, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine returns " (line N)" for a YAML error that names a line, and
// "" otherwise; the rest of the error may quote the document.
func yamlErrorLine(err error) string {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return " (line " + m[1] + ")"
	}
	return ""
}
