package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

func kubeconfig(t *testing.T, server string, ca []byte, user *clientcmdapi.AuthInfo) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["reader"] = user
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "reader"}
	cfg.CurrentContext = "test"
	raw, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKubeconfigAuthRef(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "app", map[string][]byte{"password": []byte("s3cr3t")}, nil, nil)
	f.reader(t, f.storeNS, "reader", f.remoteNS)
	token := f.env.Token(t, f.storeNS, "reader")
	good := kubeconfig(t, f.env.APIServerURL, f.env.APIServerCA, &clientcmdapi.AuthInfo{Token: token})
	f.secret(t, f.storeNS, "kubeconfig", map[string][]byte{"config": good}, nil, nil)
	store := f.store(esv1.KubernetesProvider{
		AuthRef:         &esv1.SecretKeySelector{Name: "kubeconfig", Key: "config"},
		RemoteNamespace: f.remoteNS,
	})
	c := f.client(t, store, f.storeNS)
	if got := read(t, c, esv1.ExternalSecretDataRemoteRef{Key: "app", Property: "password"}); string(got) != "s3cr3t" {
		t.Fatalf("GetSecret = %q", got)
	}
	if v, err := c.Validate(t.Context()); err != nil || v.Identity != fmt.Sprintf("system:serviceaccount:%s:reader", f.storeNS) {
		t.Fatalf("Validate = %+v, %v", v, err)
	}

	refused := []struct {
		name string
		raw  []byte
		want string
	}{
		{"CA file", kubeconfigWith(t, f, func(c *clientcmdapi.Config) {
			c.Clusters["test"].CertificateAuthorityData = nil
			c.Clusters["test"].CertificateAuthority = "/etc/ssl/ca.pem"
		}), `refers to the file "/etc/ssl/ca.pem"`},
		{"token file", kubeconfig(t, f.env.APIServerURL, f.env.APIServerCA, &clientcmdapi.AuthInfo{TokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"}), "token file"},
		{"client certificate file", kubeconfig(t, f.env.APIServerURL, f.env.APIServerCA, &clientcmdapi.AuthInfo{ClientCertificate: "/tmp/c.pem", ClientKey: "/tmp/k.pem"}), `refers to the file "/tmp/c.pem"`},
		{"exec plugin", kubeconfig(t, f.env.APIServerURL, f.env.APIServerCA, &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "sh", APIVersion: "client.authentication.k8s.io/v1"}}), `credential plugin "sh"`},
		{"no current context", kubeconfigWith(t, f, func(c *clientcmdapi.Config) { c.CurrentContext = "" }), "no current-context"},
		{"not a kubeconfig", []byte("{{{"), "is not a kubeconfig"},
		{"plain http", kubeconfigWith(t, f, func(c *clientcmdapi.Config) { c.Clusters["test"].Server = "http://127.0.0.1:8080" }), "use an https:// server"},
	}
	for i, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("bad-kubeconfig-%d", i)
			f.secret(t, f.storeNS, name, map[string][]byte{"config": tt.raw}, nil, nil)
			_, err := Provider{}.NewClient(t.Context(), f.store(esv1.KubernetesProvider{AuthRef: &esv1.SecretKeySelector{Name: name, Key: "config"}}), f.env.Client, f.storeNS)
			var ce *provider.ConfigError
			if !errors.As(err, &ce) || ce.Field != field+".authRef" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient: %v; want a ConfigError on authRef saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows the token")
			}
		})
	}
}

func kubeconfigWith(t *testing.T, f *fixture, change func(*clientcmdapi.Config)) []byte {
	t.Helper()
	cfg, err := clientcmd.Load(kubeconfig(t, f.env.APIServerURL, f.env.APIServerCA, &clientcmdapi.AuthInfo{Token: "t"}))
	if err != nil {
		t.Fatal(err)
	}
	change(cfg)
	raw, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// readerClient returns a token-authenticated client of the fixture's remote
// namespace, once RBAC lets it read Secret probe.
func readerClient(t *testing.T, f *fixture) provider.Client {
	t.Helper()
	f.secret(t, f.remoteNS, "probe", map[string][]byte{"x": []byte("y")}, nil, nil)
	store, _ := f.tokenStore(t)
	c := f.client(t, store, f.storeNS)
	awaitRBAC(t, c, "probe")
	return c
}

func TestGetSecret(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "plain", map[string][]byte{"username": []byte("admin"), "password": []byte("s3cr3t")}, nil, nil)
	f.secret(t, f.remoteNS, "props", map[string][]byte{
		"username":  []byte("admin"),
		"tls.crt":   []byte("CERT"),
		"config":    []byte(`{"db": {"host": "h", "port": 5432}, "name": "n"}`),
		"config.db": []byte(`{"host": "override"}`),
		"bin":       {0xff, 0xfe, 0x00, 0x01},
	}, nil, nil)
	f.secret(t, f.remoteNS, "empty", nil, nil, nil)
	c := readerClient(t, f)
	if !provider.ResolvesProperty(c) {
		t.Fatalf("the kubernetes client must resolve property itself")
	}

	tests := []struct {
		name     string
		ref      esv1.ExternalSecretDataRemoteRef
		want     string
		wantErr  func(error) bool
		errWants []string
	}{
		{name: "whole secret as JSON of strings", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain"}, want: `{"password":"s3cr3t","username":"admin"}`},
		{name: "version is ignored", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain", Property: "username", Version: "3"}, want: "admin"},
		{name: "empty secret", ref: esv1.ExternalSecretDataRemoteRef{Key: "empty"}, want: `{}`},
		{name: "data key", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "username"}, want: "admin"},
		{name: "data key with a dot", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "tls.crt"}, want: "CERT"},
		{name: "JSON value as stored", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config"}, want: `{"db": {"host": "h", "port": 5432}, "name": "n"}`},
		{name: "gjson into a data key", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config.name"}, want: "n"},
		{name: "longest data key first", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config.db.host"}, want: "override"},
		{name: "shorter data key when the longer lacks the path", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config.db.port"}, want: "5432"},
		{name: "a data key wins over a path", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config.db"}, want: `{"host": "override"}`},
		{name: "binary data key as stored", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "bin"}, want: "\xff\xfe\x00\x01"},
		{name: "gjson over the whole secret", ref: esv1.ExternalSecretDataRemoteRef{Key: "plain", Property: "user*"}, want: "admin"},
		{
			name:     "whole secret with a binary key",
			ref:      esv1.ExternalSecretDataRemoteRef{Key: "props"},
			wantErr:  func(err error) bool { var ce *provider.ConfigError; return errors.As(err, &ce) },
			errWants: []string{`key "bin"`, "binary"},
		},
		{
			name:     "missing property lists the keys, not the values",
			ref:      esv1.ExternalSecretDataRemoteRef{Key: "plain", Property: "token"},
			wantErr:  func(err error) bool { var pe *shape.PropertyNotFoundError; return errors.As(err, &pe) },
			errWants: []string{`"password", "username"`, f.remoteNS + "/plain"},
		},
		{
			name:     "missing path in a data key",
			ref:      esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config.nope"},
			wantErr:  func(err error) bool { var pe *shape.PropertyNotFoundError; return errors.As(err, &pe) },
			errWants: []string{`as data key "config"`},
		},
		{
			name:     "missing secret",
			ref:      esv1.ExternalSecretDataRemoteRef{Key: "nope"},
			wantErr:  provider.IsNotFound,
			errWants: []string{fmt.Sprintf("no Secret %s/nope", f.remoteNS)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetSecret(t.Context(), tt.ref)
			if tt.wantErr != nil {
				if err == nil || !tt.wantErr(err) {
					t.Fatalf("GetSecret = %q, %v; want another error", got, err)
				}
				for _, w := range tt.errWants {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				for _, secret := range []string{"s3cr3t", "admin", "CERT", "override"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows a value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("GetSecret = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestGetSecretMap(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "props", map[string][]byte{
		"config": []byte(`{"db": {"host": "h"}, "name": "n", "port": 5432}`),
		"bin":    {0xff, 0x00},
	}, map[string]string{"app.kubernetes.io/name": "web"}, map[string]string{"note": "hi"})
	c := readerClient(t, f)
	tests := []struct {
		name string
		ref  esv1.ExternalSecretDataRemoteRef
		want map[string]string
	}{
		{name: "data as stored", ref: esv1.ExternalSecretDataRemoteRef{Key: "props"}, want: map[string]string{"config": `{"db": {"host": "h"}, "name": "n", "port": 5432}`, "bin": "\xff\x00"}},
		{name: "property splits a JSON data key", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", Property: "config"}, want: map[string]string{"db": `{"host":"h"}`, "name": "n", "port": "5432"}},
		{name: "metadata", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", MetadataPolicy: esv1.MetadataPolicyFetch}, want: map[string]string{"labels": `{"app.kubernetes.io/name":"web"}`, "annotations": `{"note":"hi"}`}},
		{name: "metadata labels", ref: esv1.ExternalSecretDataRemoteRef{Key: "props", MetadataPolicy: esv1.MetadataPolicyFetch, Property: "labels"}, want: map[string]string{"app.kubernetes.io/name": "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetSecretMap(t.Context(), tt.ref)
			if err != nil {
				t.Fatalf("GetSecretMap: %v", err)
			}
			if !maps.Equal(asStrings(got), tt.want) {
				t.Fatalf("GetSecretMap = %q; want %q", asStrings(got), tt.want)
			}
		})
	}
	if _, err := c.GetSecretMap(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "nope"}); !provider.IsNotFound(err) {
		t.Fatalf("GetSecretMap of a missing Secret: %v; want NotFound", err)
	}
}

func TestMetadataFetch(t *testing.T) {
	f := newFixture(t)
	labels := map[string]string{"app.kubernetes.io/name": "web", "tier": "front"}
	annotations := map[string]string{"note": "hello", "owner": "team-a"}
	f.secret(t, f.remoteNS, "meta", map[string][]byte{"password": []byte("s3cr3t")}, labels, annotations)
	c := readerClient(t, f)
	whole, _ := json.Marshal(map[string]any{"labels": labels, "annotations": annotations})
	labelsJSON, _ := json.Marshal(labels)
	tests := []struct {
		property string
		want     string
		notFound bool
	}{
		{property: "", want: string(whole)},
		{property: "labels", want: string(labelsJSON)},
		{property: "labels.app.kubernetes.io/name", want: "web"},
		{property: "labels.tier", want: "front"},
		{property: "annotations.note", want: "hello"},
		{property: "annotations.owner", want: "team-a"},
		{property: "labels.nope", notFound: true},
		{property: "password", notFound: true},
	}
	for _, tt := range tests {
		t.Run("property="+tt.property, func(t *testing.T) {
			got, err := c.GetSecret(t.Context(), esv1.ExternalSecretDataRemoteRef{Key: "meta", MetadataPolicy: esv1.MetadataPolicyFetch, Property: tt.property})
			if tt.notFound {
				var pe *shape.PropertyNotFoundError
				if !errors.As(err, &pe) {
					t.Fatalf("GetSecret = %q, %v; want a PropertyNotFoundError", got, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("GetSecret = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestGetAllSecrets(t *testing.T) {
	f := newFixture(t)
	f.secret(t, f.remoteNS, "app-one", map[string][]byte{"k": []byte("1")}, map[string]string{"team": "a"}, nil)
	f.secret(t, f.remoteNS, "app-two", map[string][]byte{"k": []byte("2")}, map[string]string{"team": "b"}, nil)
	f.secret(t, f.remoteNS, "db-one", map[string][]byte{"k": []byte("3")}, map[string]string{"team": "a"}, nil)
	f.secret(t, f.remoteNS, "keystore", map[string][]byte{"jks": {0xfe, 0xed}}, map[string]string{"kind": "binary"}, nil)
	c := readerClient(t, f)
	path := func(s string) *string { return &s }
	tests := []struct {
		name   string
		find   esv1.ExternalSecretFind
		want   map[string]string
		config string
	}{
		{name: "by name", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^app-"}}, want: map[string]string{"app-one": `{"k":"1"}`, "app-two": `{"k":"2"}`}},
		{name: "by labels", find: esv1.ExternalSecretFind{Tags: map[string]string{"team": "a"}}, want: map[string]string{"app-one": `{"k":"1"}`, "db-one": `{"k":"3"}`}},
		{name: "by name and labels", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "app"}, Tags: map[string]string{"team": "a"}}, want: map[string]string{"app-one": `{"k":"1"}`}},
		{name: "by path", find: esv1.ExternalSecretFind{Path: path("db-")}, want: map[string]string{"db-one": `{"k":"3"}`}},
		{name: "nothing matches", find: esv1.ExternalSecretFind{Tags: map[string]string{"team": "z"}}, want: map[string]string{}},
		{name: "binary values", find: esv1.ExternalSecretFind{Tags: map[string]string{"kind": "binary"}}, config: "dataFrom[].find"},
		{name: "everything", find: esv1.ExternalSecretFind{}, config: "dataFrom[].find"},
		{name: "bad regexp", find: esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "("}}, config: "dataFrom[].find.name.regexp"},
		{name: "bad label", find: esv1.ExternalSecretFind{Tags: map[string]string{"not a label": "x"}}, config: "dataFrom[].find.tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GetAllSecrets(t.Context(), tt.find)
			if tt.config != "" {
				var ce *provider.ConfigError
				if !errors.As(err, &ce) || ce.Field != tt.config {
					t.Fatalf("GetAllSecrets: %v; want a ConfigError on %s", err, tt.config)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetAllSecrets: %v", err)
			}
			if !maps.Equal(asStrings(got), tt.want) {
				t.Fatalf("GetAllSecrets = %q; want %q", asStrings(got), tt.want)
			}
		})
	}
}

func TestGetAllSecretsPages(t *testing.T) {
	f := newFixture(t)
	const n = listPageSize + 20
	for i := range n {
		f.secret(t, f.remoteNS, fmt.Sprintf("many-%03d", i), map[string][]byte{"i": fmt.Appendf(nil, "%d", i)}, map[string]string{"set": "many"}, nil)
	}
	c := readerClient(t, f)
	got, err := c.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Tags: map[string]string{"set": "many"}})
	if err != nil || len(got) != n {
		t.Fatalf("GetAllSecrets over %d Secrets returned %d, %v", n, len(got), err)
	}
	if string(got["many-269"]) != `{"i":"269"}` {
		t.Fatalf("many-269 = %s", got["many-269"])
	}
}

func TestDefaultServerIsHTTPS(t *testing.T) {
	b := &builder{spec: &esv1.KubernetesProvider{Server: &esv1.KubernetesServer{URL: "api.example:6443"}}}
	cfg, err := b.serverConfig(t.Context())
	if err != nil || cfg.Host != "https://api.example:6443" {
		t.Fatalf("serverConfig = %v, %v; want https://api.example:6443", cfg, err)
	}
	b = &builder{spec: &esv1.KubernetesProvider{}}
	if cfg, err = b.serverConfig(t.Context()); err != nil || cfg.Host != "https://kubernetes.default" {
		t.Fatalf("serverConfig without server = %v, %v; want https://kubernetes.default", cfg, err)
	}
}

func TestValidateStore(t *testing.T) {
	sel := esv1.SecretKeySelector{Name: "s", Key: "k"}
	tests := []struct {
		name  string
		spec  *esv1.KubernetesProvider
		field string // "" = valid
	}{
		{name: "token", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: sel}}}},
		{name: "cert", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Cert: &esv1.CertAuth{ClientCert: sel, ClientKey: sel}}}},
		{name: "serviceAccount", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "sa"}}}},
		{name: "authRef", spec: &esv1.KubernetesProvider{AuthRef: &sel}},
		{name: "no provider block", field: field},
		{name: "no auth", spec: &esv1.KubernetesProvider{}, field: field + ".auth"},
		{name: "auth and authRef", spec: &esv1.KubernetesProvider{AuthRef: &sel, Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: sel}}}, field: field},
		{name: "two methods", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: sel}, ServiceAccount: &esv1.ServiceAccountSelector{Name: "sa"}}}, field: field + ".auth"},
		{name: "no method", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{}}, field: field + ".auth"},
		{name: "token without key", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "s"}}}}, field: field + ".auth.token.bearerToken.key"},
		{name: "cert without key name", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Cert: &esv1.CertAuth{ClientCert: sel, ClientKey: esv1.SecretKeySelector{Key: "k"}}}}, field: field + ".auth.cert.clientKey.name"},
		{name: "serviceAccount without name", spec: &esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{}}}, field: field + ".auth.serviceAccount.name"},
		{name: "authRef without key", spec: &esv1.KubernetesProvider{AuthRef: &esv1.SecretKeySelector{Name: "s"}}, field: field + ".authRef.key"},
		{name: "http server", spec: &esv1.KubernetesProvider{Server: &esv1.KubernetesServer{URL: "http://k8s:8080"}, AuthRef: &sel}, field: field + ".server.url"},
		{name: "bad caBundle", spec: &esv1.KubernetesProvider{Server: &esv1.KubernetesServer{CABundle: []byte("nope")}, AuthRef: &sel}, field: field + ".server.caBundle"},
		{name: "caProvider without name", spec: &esv1.KubernetesProvider{Server: &esv1.KubernetesServer{CAProvider: &esv1.CAProvider{Type: esv1.CAProviderTypeSecret}}, AuthRef: &sel}, field: field + ".server.caProvider.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &esv1.SecretStore{Spec: esv1.SecretStoreSpec{Provider: esv1.SecretStoreProvider{Kubernetes: tt.spec}}}
			err := Provider{}.ValidateStore(store)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			var ce *provider.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("ValidateStore: %v; want a ConfigError on %s", err, tt.field)
			}
		})
	}
}

func asStrings(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}
