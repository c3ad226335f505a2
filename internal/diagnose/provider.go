package diagnose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller/externalsecret"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/vault"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// Explainer is what a provider client may add to the generic checks: who
// it is authenticated as. Provider clients implement it as they grow
// diagnostic APIs (AWS: caller identity; GCP/Azure: principal); without it
// the checks use Validate. The Vault client has its richer API (Whoami,
// ExplainKey), used directly.
type Explainer interface {
	// Identity describes who the client is authenticated as (never a
	// credential), as details lines.
	Identity(ctx context.Context) (summary string, details []string, err error)
}

// conn is a provider client built with the controller's identity, and the
// checks that built it.
type conn struct {
	checks []Check
	client provider.Client
	vault  *vault.Client
	// shown are interpretations already reported (by the auth check or an
	// earlier reference), so that each is printed once.
	shown map[string]bool
	// explained are the keys already checked, with their explanation.
	explained map[string]*vault.KeyExplanation
}

// close releases the client (revoking a Vault token it created).
func (c *conn) close() {
	if c.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.client.Close(ctx)
	}
}

// connect checks the provider's address (when it has one) and builds a
// client exactly as the controller would, then describes its identity.
func (d *Doctor) connect(ctx context.Context, store provider.Store, referent string) *conn {
	out := &conn{shown: map[string]bool{}, explained: map[string]*vault.KeyExplanation{}}
	spec := store.StoreSpec()
	p, name, err := provider.ForStore(spec)
	if err != nil {
		out.checks = append(out.checks, fail("provider", "no usable provider", err.Error(), "configure exactly one provider under spec.provider"))
		return out
	}
	if err := p.ValidateStore(store); err != nil {
		out.checks = append(out.checks, fail("config", "the "+name+" configuration is invalid", err.Error(), fixFor(err)))
		return out
	}
	if spec.Provider.Vault != nil {
		c := d.checkAddress(ctx, store, referent)
		out.checks = append(out.checks, c...)
		if len(c) > 0 && c[len(c)-1].Status == Fail {
			return out
		}
	}
	d.progress("authenticating to " + name)
	var w provider.Warnings
	bctx := provider.WithWarnings(provider.WithController(ctx, d.Controller), &w)
	cl, err := p.NewClient(bctx, store, d.Kube, referent)
	if err != nil {
		out.checks = append(out.checks, authFailure(name, err, d.Controller))
		return out
	}
	out.client = cl
	auth := ok("auth", "authenticated to %s", name)
	if vc, isVault := cl.(*vault.Client); isVault {
		out.vault = vc
		id, err := vc.Whoami(ctx)
		if err != nil {
			out.checks = append(out.checks, fail("auth", "the token does not work", err.Error(), fixFor(err)))
			return out
		}
		auth.Summary = "logged in to Vault as " + id.String()
	} else if ex, explains := cl.(Explainer); explains {
		summary, details, err := ex.Identity(bctx)
		if err != nil {
			out.checks = append(out.checks, fail("auth", "the provider refused the client", err.Error(), fixFor(err)))
			return out
		}
		auth.Summary, auth.Details = "authenticated to "+name+" as "+summary, details
	} else if v, err := cl.Validate(bctx); err != nil {
		out.checks = append(out.checks, fail("auth", "the provider refused the client", err.Error(), fixFor(err)))
		return out
	} else if v.Identity != "" {
		auth.Summary = "authenticated to " + name + " as " + v.Identity
	}
	if ws := w.List(); len(ws) > 0 {
		auth.Details = append(auth.Details, prefixAll("interpreted: ", ws)...)
		for _, m := range ws {
			out.shown[m] = true
		}
	}
	out.checks = append(out.checks, auth)
	return out
}

// prefixAll returns each of ss with prefix.
func prefixAll(prefix string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = prefix + s
	}
	return out
}

// authFailure explains a client that could not be built.
func authFailure(name string, err error, ctrl provider.Controller) Check {
	var le *vault.LoginError
	if errors.As(err, &le) {
		fix := fmt.Sprintf("check that the role exists at %s and admits %s", le.Mount, orDefault(le.Identity, "this identity"))
		if le.Role != "" {
			fix = fmt.Sprintf("check that role %q exists at %s and that its bound_service_account_names/namespaces admit %s: vault read %s/role/%s", le.Role, le.Mount, orDefault(le.Identity, "this identity"), le.Mount, le.Role)
		}
		if kind, isNet := vault.NetworkKind(err); isNet {
			fix = "network: " + string(kind)
		}
		summary := fmt.Sprintf("Vault login failed (%s auth, %s", le.Method, le.Mount)
		if le.Role != "" {
			summary += fmt.Sprintf(", role %q", le.Role)
		}
		return fail("auth", summary+")", err.Error(), fix)
	}
	var nf *provider.ServiceAccountNotFoundError
	if errors.As(err, &nf) {
		return fail("auth", "ServiceAccount "+nf.SA.String()+" not found", err.Error(),
			fmt.Sprintf("create the ServiceAccount, fix serviceAccountRef, or pass --controller-namespace/--controller-service-account (the controller's own identity, now %q)", ctrl.Namespace+"/"+ctrl.ServiceAccount))
	}
	if strings.Contains(err.Error(), "forbidden") {
		return fail("auth", "building the "+name+" client failed", err.Error(),
			"your kubeconfig identity needs the controller's read access: get on the referenced Secrets/ConfigMaps and create on serviceaccounts/token (see docs/cli.md)")
	}
	return fail("auth", "building the "+name+" client failed", err.Error(), fixFor(err))
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fixFor proposes a fix from an error's type.
func fixFor(err error) string {
	if ce, isCfg := isConfig(err); isCfg {
		return "fix " + ce.Field
	}
	var ne *vault.NetworkError
	if errors.As(err, &ne) {
		return ne.Hint
	}
	return ""
}

// checkAddress checks that the Vault address resolves and accepts TCP and
// TLS with the store's CA.
func (d *Doctor) checkAddress(ctx context.Context, store provider.Store, referent string) []Check {
	server := store.StoreSpec().Provider.Vault.Server
	d.progress("connecting to " + server)
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return []Check{fail("address", "server "+server+" is not a URL", errString(err), "set spec.provider.vault.server to https://HOST:PORT")}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	var out []Check
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	netFail := func(op string, err error) []Check {
		ne := vault.ClassifyNetwork(strings.TrimRight(server, "/"), op, err)
		return append(out, fail("address", fmt.Sprintf("%s: %s", server, ne.Kind), ne.Error(), ne.Hint))
	}
	if net.ParseIP(host) == nil {
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			return netFail("DNS lookup of "+host, err)
		}
		out = append(out, ok("dns", "%s resolves to %s", host, strings.Join(addrs, ", ")))
	}
	addr := net.JoinHostPort(host, port)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return netFail("TCP connect to "+addr, err)
	}
	defer conn.Close()
	out = append(out, ok("tcp", "%s accepts TCP connections", addr))
	if u.Scheme != "https" {
		return out
	}
	cfg, err := vault.TLSConfig(ctx, store, d.Kube, referent)
	if err != nil {
		return append(out, fail("tls", "the store's TLS settings cannot be used", err.Error(), fixFor(err)))
	}
	cfg = cfg.Clone()
	cfg.ServerName = host
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return netFail("TLS handshake with "+addr, err)
	}
	st := tc.ConnectionState()
	issuer := ""
	if len(st.PeerCertificates) > 0 {
		issuer = st.PeerCertificates[0].Issuer.String()
	}
	ca := "system roots"
	if v := store.StoreSpec().Provider.Vault; len(v.CABundle) > 0 {
		ca = "caBundle"
	} else if v.CAProvider != nil {
		ca = "caProvider " + string(v.CAProvider.Type) + " " + v.CAProvider.Name
	}
	return append(out, ok("tls", "TLS handshake OK (%s, certificate issued by %s, trusted via %s)", tls.VersionName(st.Version), issuer, ca))
}

// refChecks checks each remote reference of es that reads from store: where
// it resolves, whether the identity may read it, whether it exists, and
// whether its property resolves.
func (d *Doctor) refChecks(ctx context.Context, es *esv1.ExternalSecret, store provider.Store, pc *conn) []Check {
	var out []Check
	sameStore := func(sr *esv1.StoreSourceRef) bool {
		return sr == nil || sr.SecretStoreRef == nil || sr.SecretStoreRef.Name == "" ||
			(sr.SecretStoreRef.Name == store.GetName() && string(sr.SecretStoreRef.KindOrDefault()) == store.StoreKind())
	}
	for i, entry := range es.Spec.Data {
		label := fmt.Sprintf("data[%d]", i)
		if !sameStore(entry.SourceRef) {
			out = append(out, warn(label, "reads another store", "not checked here", "run doctor on that store"))
			continue
		}
		cs := d.refCheck(ctx, label, fmt.Sprintf("secretKey %q", entry.SecretKey), entry.RemoteRef, pc)
		out = append(out, cs...)
		if cs[len(cs)-1].Status == Fail {
			return out
		}
	}
	for i, entry := range es.Spec.DataFrom {
		label := fmt.Sprintf("dataFrom[%d]", i)
		switch {
		case entry.SourceRef != nil && !sameStore(&esv1.StoreSourceRef{SecretStoreRef: entry.SourceRef.SecretStoreRef}):
			out = append(out, warn(label, "reads another store or a generator", "not checked here", ""))
		case entry.Extract != nil:
			cs := d.refCheck(ctx, label, "extract", *entry.Extract, pc)
			out = append(out, cs...)
			if cs[len(cs)-1].Status == Fail {
				return out
			}
		case entry.Find != nil:
			d.progress("listing secrets for " + label)
			got, err := pc.client.GetAllSecrets(ctx, *entry.Find)
			if err != nil {
				return append(out, fail(label, "find failed", err.Error(), fixFor(err)))
			}
			c := ok(label, "find matches %d secrets", len(got))
			if len(got) == 0 {
				c = warn(label, "find matches no secret", "the Secret will get no keys from this entry", "check find.name/path/tags")
			}
			out = append(out, c)
		}
	}
	return out
}

// refCheck checks one remote reference.
func (d *Doctor) refCheck(ctx context.Context, label, what string, ref esv1.ExternalSecretDataRemoteRef, pc *conn) []Check {
	d.progress("checking " + label + " key " + ref.Key)
	title := fmt.Sprintf("%s (%s) key %q", label, what, ref.Key)
	var raw []byte
	var out []Check
	if pc.vault != nil {
		memo := fmt.Sprintf("%s\x00%s\x00%s", ref.Key, ref.Version, ref.MetadataPolicyOrDefault())
		if ex, seen := pc.explained[memo]; seen {
			// Same secret as an earlier entry: only its property is new.
			if !ex.Exists {
				return []Check{fail(label, title+": see above", "", "")}
			}
			out = append(out, ok(label, "%s → %s (checked above)", title, ex.Path))
			raw = ex.Raw
			return append(out, propertyCheck(ctx, raw, ref, pc)...)
		}
		ex, err := pc.vault.ExplainKey(ctx, ref)
		if err != nil {
			return []Check{fail(label, title+": cannot resolve", err.Error(), fixFor(err))}
		}
		pc.explained[memo] = ex
		loc := ok(label, "%s → KV %s mount %q, API path %s", title, ex.KVVersion, ex.Mount, ex.Path)
		if ex.Guessed != "" {
			loc.Details = append(loc.Details, "mount not discovered: "+ex.Guessed)
		}
		var fresh []string
		for _, m := range ex.Interpretations {
			if !pc.shown[m] {
				pc.shown[m] = true
				fresh = append(fresh, m)
			}
		}
		if len(fresh) > 0 {
			loc.Status = Warn
			loc.Diagnosis = "interpreted: " + strings.Join(fresh, "; ")
			loc.Fix = "nothing needed; to silence it, write the key as the interpretation says"
		}
		out = append(out, loc)
		capsText := "[" + strings.Join(ex.Capabilities, " ") + "]"
		if !ex.CanRead() {
			id, _ := pc.vault.Whoami(ctx)
			return append(out, fail("permission", fmt.Sprintf("the token has %s on %s, not %q", capsText, ex.Path, ex.Need),
				fmt.Sprintf("Vault denies %s on %s to %s: none of its policies grants %q there (Gotcha 1: permission denied)", ex.Need, ex.Path, id.String(), ex.Need),
				fmt.Sprintf("add this rule to one of the role's policies (or a new policy attached to role %q): %s", id.Role, ex.PolicyLine())))
		}
		out = append(out, ok("permission", "the token may %s %s (capabilities %s)", ex.Need, ex.Path, capsText))
		if ex.Err != nil {
			return append(out, readFailure(title, ex.Err, ex))
		}
		exists := ok("exists", "the secret exists with keys %s", keyList(ex.Keys))
		out = append(out, exists)
		raw = ex.Raw
	} else {
		whole := ref
		whole.Property = ""
		v, err := pc.client.GetSecret(ctx, whole)
		if err != nil {
			return append(out, readFailure(title, err, nil))
		}
		raw = v
		keys := "(not a JSON object)"
		if m, err := shape.Extract(v); err == nil {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			keys = keyList(names)
		}
		out = append(out, ok(label, "%s exists with keys %s", title, keys))
	}
	return append(out, propertyCheck(ctx, raw, ref, pc)...)
}

// propertyCheck checks that ref.Property resolves in raw, with the
// engine's own property code; it lists the available keys, never values.
func propertyCheck(ctx context.Context, raw []byte, ref esv1.ExternalSecretDataRemoteRef, pc *conn) []Check {
	if ref.Property == "" || provider.ResolvesProperty(pc.client) {
		return nil
	}
	var w provider.Warnings
	if _, err := externalsecret.Property(provider.WithWarnings(ctx, &w), raw, ref); err != nil {
		var keys []string
		if m, e := shape.Extract(raw); e == nil {
			for k := range m {
				keys = append(keys, k)
			}
		}
		return []Check{fail("property", fmt.Sprintf("property %q not found in %q", ref.Property, ref.Key),
			fmt.Sprintf("remoteRef.property %q names no value of the secret, whose keys are %s", ref.Property, keyList(keys)),
			"set remoteRef.property to one of those keys (a gjson path for nested values)")}
	}
	pcheck := ok("property", "property %q resolves", ref.Property)
	if ws := w.List(); len(ws) > 0 {
		pcheck.Status, pcheck.Diagnosis = Warn, "interpreted: "+strings.Join(ws, "; ")
		pcheck.Fix = "nothing needed; to silence it, drop the data. prefix"
	}
	return []Check{pcheck}
}

// readFailure explains a read that failed after the permission check.
func readFailure(title string, err error, ex *vault.KeyExplanation) Check {
	if provider.IsNotFound(err) {
		fix := "create the secret, or fix remoteRef.key"
		if ex != nil {
			if ex.KVVersion == string(esv1.VaultKVStoreV2) {
				fix = fmt.Sprintf("create it (vault kv put %s%s …), or fix remoteRef.key", ex.Mount, strings.TrimPrefix(strings.TrimPrefix(ex.Path, ex.Mount), "data/"))
			} else {
				path := ex.Path
				if rest, spelledV2 := strings.CutPrefix(strings.TrimPrefix(path, ex.Mount), "data/"); spelledV2 {
					path = ex.Mount + rest
				}
				fix = fmt.Sprintf("create it (vault kv put %s …), or fix remoteRef.key; on a KV v1 mount paths have no data/ segment (Gotcha 4)", path)
			}
		}
		return fail("exists", title+": the secret does not exist", err.Error(), fix)
	}
	if vault.IsPermissionDenied(err) {
		return fail("permission", title+": permission denied", err.Error(), "")
	}
	return fail("exists", title+": reading failed", err.Error(), fixFor(err))
}

// keyList formats key names for a message.
func keyList(keys []string) string {
	if len(keys) == 0 {
		return "(none)"
	}
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	sortStrings(q)
	return strings.Join(q, ", ")
}
