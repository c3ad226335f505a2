package shape

import (
	"io"
	"strings"
	"testing"
	"text/template"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// marker stands for a secret value. No error message may contain it, nor a
// recognisable part of it.
const marker = "S3CR3T-MARKER"

func markerParts() []string { return []string{marker, "S3CR3T", "MARKER"} }

// TestErrorsNeverContainSecretValues feeds values that contain the marker
// through every failure path of the package and checks the messages.
func TestErrorsNeverContainSecretValues(t *testing.T) {
	p := testPKI(t)
	values := bytesMap(
		"v", marker,
		"json", `{"user":"`+marker+`","n":1}`,
		"badjson", `{"user": `+marker+`}`,
		"nul", marker+"\x00",
		"yaml", "a: ["+marker,
		"pem", "-----BEGIN CERTIFICATE-----\n"+marker+"\n-----END CERTIFICATE-----\n",
		"jwk", `{"kty":"RSA","n":"`+marker+`","e":"AQAB"}`,
		"cert", p.leafPEM,
		"key", p.leafKey,
	)
	render := func(tpl string) error {
		_, err := Render(&esv1.ExternalSecretTemplate{Data: map[string]string{"out": tpl}}, values, nil)
		return err
	}
	literal := func(lit string, decoding esv1.ExternalSecretDecodingStrategy) error {
		_, err := Render(&esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{Literal: &lit, ValuesDecodingStrategy: decoding}}}, values, nil)
		return err
	}
	rewrite := func(m esv1.ExternalSecretRewriteMerge, in map[string][]byte) error {
		_, err := Rewrite([]esv1.ExternalSecretRewrite{{Merge: &m}}, in)
		return err
	}
	errOf := func(_ any, err error) error { return err }

	tests := []struct {
		name string
		err  error
	}{
		{name: "property missing in an object", err: errOf(Property(values["json"], "password"))},
		{name: "property on a value that is not JSON", err: errOf(Property(values["v"], "user"))},
		{name: "property on invalid JSON", err: errOf(Property(values["badjson"], "user"))},
		{name: "extract of a value that is not JSON", err: errOf(Extract(values["v"]))},
		{name: "extract of a JSON string", err: errOf(Extract([]byte(`"` + marker + `"`)))},
		{name: "Base64 decoding", err: errOf(Decode("k", esv1.DecodingStrategyBase64, values["v"]))},
		{name: "Base64URL decoding", err: errOf(Decode("k", esv1.DecodingStrategyBase64URL, values["v"]))},
		{name: "decoding a map", err: errOf(DecodeMap(esv1.DecodingStrategyBase64, bytesMap("k", marker)))},
		{name: "NUL byte with Fail", err: CheckNullBytes(esv1.NullBytePolicyFail, "k", values["nul"])},
		{name: "NUL byte in a map with Fail", err: CheckNullBytesMap(esv1.NullBytePolicyFail, bytesMap("k", marker+"\x00"))},
		{name: "merge of a value that is not JSON", err: rewrite(esv1.ExternalSecretRewriteMerge{}, bytesMap("k", marker))},
		{name: "merge of invalid JSON", err: rewrite(esv1.ExternalSecretRewriteMerge{}, bytesMap("k", string(values["badjson"])))},
		{name: "merge conflict", err: rewrite(esv1.ExternalSecretRewriteMerge{}, bytesMap("a", `{"k":"`+marker+`"}`, "b", `{"k":"`+marker+`"}`))},
		{name: "template ranging over a value", err: render(`{{ range .v }}{{ end }}`)},
		{name: "template field of a string value", err: render(`{{ .v.field }}`)},
		{name: "template mustFromJson on a value", err: render(`{{ .v | mustFromJson }}`)},
		{name: "template fail with a value", err: render(`{{ fail .v }}`)},
		{name: "template semver of a value", err: render(`{{ semver .v }}`)},
		{name: "template regexp built from a value", err: render(`{{ regexFind (printf "(%s" .v) "x" }}`)},
		{name: "template index out of range", err: render(`{{ index .v 99 }}`)},
		{name: "template slice of a value", err: render(`{{ slice .v 99 }}`)},
		{name: "template comparison with a value", err: render(`{{ eq .v 1 }}`)},
		{name: "template call of a value", err: render(`{{ call .v }}`)},
		{name: "fromYaml on bad YAML", err: render(`{{ fromYaml .yaml }}`)},
		{name: "fromYaml of a scalar", err: render(`{{ fromYaml .v }}`)},
		{name: "pkcs12key on garbage", err: render(`{{ .v | pkcs12key }}`)},
		{name: "pkcs12certPass on garbage", err: render(`{{ .v | pkcs12certPass "pw" }}`)},
		{name: "pemToPkcs12 on garbage", err: render(`{{ pemToPkcs12 .pem .v }}`)},
		{name: "pemToPkcs12 with a garbage key", err: render(`{{ pemToPkcs12 .cert .pem }}`)},
		{name: "fullPemToPkcs12Pass on garbage", err: render(`{{ fullPemToPkcs12Pass .pem .key "pw" }}`)},
		{name: "pemTruststoreToPKCS12 on garbage", err: render(`{{ pemTruststoreToPKCS12 .v }}`)},
		{name: "filterPEM on garbage", err: render(`{{ .v | filterPEM "CERTIFICATE" }}`)},
		{name: "filterCertChain on garbage", err: render(`{{ .pem | filterCertChain "leaf" }}`)},
		{name: "certSANs on garbage", err: render(`{{ .pem | certSANs }}`)},
		{name: "jwkPublicKeyPem on garbage JSON", err: render(`{{ .v | jwkPublicKeyPem }}`)},
		{name: "jwkPrivateKeyPem on a broken key", err: render(`{{ .jwk | jwkPrivateKeyPem }}`)},
		{name: "rsaDecrypt with a garbage key", err: render(`{{ rsaDecrypt "RSA-OAEP" "SHA256" .v .pem }}`)},
		{name: "rsaDecrypt of garbage", err: render(`{{ rsaDecrypt "RSA-OAEP" "SHA256" .v .key }}`)},
		{name: "literal output that is not YAML", err: literal(`a: [{{ .v }}`, "")},
		{name: "literal output that is a list", err: literal(`- {{ .v }}`, "")},
		{name: "literal output with a value as a repeated key", err: literal("{{ .v }}: 1\n{{ .v }}: 2", "")},
		{name: "literal output with a value as a complex key", err: literal("? [{{ .v }}]\n: 1", "")},
		{name: "literal value that does not decode", err: literal(`k: {{ .v }}`, esv1.DecodingStrategyBase64)},
		{name: "literal key from a value that does not decode", err: literal(`{{ .v }}: "!!"`, esv1.DecodingStrategyBase64URL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("expected an error, got nil")
			}
			msg := tt.err.Error()
			for _, part := range markerParts() {
				if strings.Contains(msg, part) {
					t.Fatalf("error message leaks %q: %s", part, msg)
				}
			}
			if strings.TrimSpace(msg) == "" {
				t.Fatal("empty error message")
			}
		})
	}
}

// TestLeakTestIsMeaningful checks that the failure paths above would leak
// without sanitising: Go's own message quotes the value.
func TestLeakTestIsMeaningful(t *testing.T) {
	tpl := template.Must(template.New("t").Parse(`{{ range .v }}{{ end }}`))
	err := tpl.Execute(io.Discard, map[string]string{"v": marker})
	if err == nil || !strings.Contains(err.Error(), marker) {
		t.Fatalf("text/template no longer quotes the value (%v); the leak test may need new cases", err)
	}
	if _, err := run(`{{ range .v }}{{ end }}`, map[string]string{"v": marker}); err == nil ||
		!strings.Contains(err.Error(), "range can't iterate over this value") {
		t.Fatalf("sanitised error = %v", err)
	}
}
