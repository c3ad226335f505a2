package azuretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition.
	"encoding/base64"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// vault is one Key Vault.
type vault struct {
	name    string
	rbac    bool
	secrets map[string][]*object // by name, oldest version first
	keys    map[string][]*object
	certs   map[string][]*object
}

// object is one version of a secret, key or certificate.
type object struct {
	version     string
	value       string         // secrets
	jwk         map[string]any // keys
	der         []byte         // certificates
	contentType string
	tags        map[string]string
	enabled     bool
	created     time.Time
	expires     *time.Time
	notBefore   *time.Time
}

// AddVault creates a vault. With rbac, permissions are reported as Azure
// RBAC reports them (ForbiddenByRbac) instead of as access policies.
func (s *Server) AddVault(name string, rbac bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vaults[name] = &vault{name: name, rbac: rbac, secrets: map[string][]*object{}, keys: map[string][]*object{}, certs: map[string][]*object{}}
}

// ObjectOptions are the optional properties of a new version.
type ObjectOptions struct {
	// Tags are the object's tags.
	Tags map[string]string
	// ContentType is a secret's content type.
	ContentType string
	// Disabled makes the version disabled: reading it is Forbidden.
	Disabled bool
	// Expires is the version's expiry (exp attribute).
	Expires *time.Time
}

// SetSecret adds a version of a secret and returns the version ID.
func (s *Server) SetSecret(vaultName, name, value string, opts ObjectOptions) string {
	return s.addVersion(vaultName, func(v *vault) map[string][]*object { return v.secrets }, name, opts, func(o *object) { o.value = value })
}

// SetKey adds a version of a key with the public key pub (an *rsa.PublicKey
// or *ecdsa.PublicKey) and returns the version ID.
func (s *Server) SetKey(vaultName, name string, pub crypto.PublicKey, opts ObjectOptions) string {
	jwk := map[string]any{"key_ops": []string{"sign", "verify"}}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"], jwk["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		// Bytes is the uncompressed point: 0x04, then X and Y.
		point, err := k.Bytes()
		if err != nil {
			panic(fmt.Sprintf("azuretest: SetKey: %v", err))
		}
		size := (len(point) - 1) / 2
		jwk["kty"], jwk["crv"] = "EC", "P-"+strconv.Itoa(k.Curve.Params().BitSize)
		jwk["x"], jwk["y"] = b64(point[1:1+size]), b64(point[1+size:])
	default:
		panic(fmt.Sprintf("azuretest: SetKey with %T", pub))
	}
	return s.addVersion(vaultName, func(v *vault) map[string][]*object { return v.keys }, name, opts, func(o *object) { o.jwk = jwk })
}

// SetCertificate adds a version of a certificate whose DER bytes are der
// and returns the version ID.
func (s *Server) SetCertificate(vaultName, name string, der []byte, opts ObjectOptions) string {
	return s.addVersion(vaultName, func(v *vault) map[string][]*object { return v.certs }, name, opts, func(o *object) { o.der = slices.Clone(der) })
}

// addVersion appends a version to one collection of a vault.
func (s *Server) addVersion(vaultName string, coll func(*vault) map[string][]*object, name string, opts ObjectOptions, fill func(*object)) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vaults[vaultName]
	if !ok {
		panic("azuretest: no vault " + vaultName)
	}
	o := &object{
		version:     strings.ReplaceAll(randomID(), "-", ""),
		contentType: opts.ContentType,
		tags:        maps.Clone(opts.Tags),
		enabled:     !opts.Disabled,
		created:     s.now(),
		expires:     opts.Expires,
	}
	fill(o)
	m := coll(v)
	m[name] = append(m[name], o)
	if o.jwk != nil {
		// A key's JWK carries the key's own identifier.
		o.jwk["kid"] = fmt.Sprintf("%s/keys/%s/%s", VaultURL(vaultName), name, o.version)
	}
	return o.version
}

// b64 is base64url without padding, as JWK fields are encoded.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// kind describes one of the three collections of a vault.
type kind struct {
	segment  string // "secrets"
	noun     string // "secret"
	notFound string // "SecretNotFound"
	get, lst Permission
	op       string
	listOp   string
	rbacGet  string // RBAC data action of get
	rbacList string
}

var kinds = map[string]kind{
	"secrets": {segment: "secrets", noun: "secret", notFound: "SecretNotFound", get: SecretsGet, lst: SecretsList, op: OpGetSecret, listOp: OpListSecrets,
		rbacGet: "Microsoft.KeyVault/vaults/secrets/getSecret/action", rbacList: "Microsoft.KeyVault/vaults/secrets/readMetadata/action"},
	"keys": {segment: "keys", noun: "key", notFound: "KeyNotFound", get: KeysGet, op: OpGetKey,
		rbacGet: "Microsoft.KeyVault/vaults/keys/read"},
	"certificates": {segment: "certificates", noun: "certificate", notFound: "CertificateNotFound", get: CertificatesGet, op: OpGetCertificate,
		rbacGet: "Microsoft.KeyVault/vaults/certificates/read"},
}

// kvError writes a Key Vault error body.
func kvError(w http.ResponseWriter, status int, code, message, inner string) {
	e := map[string]any{"code": code, "message": message}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// challenge answers 401 with Key Vault's bearer challenge.
func (s *Server) challenge(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, s.URL, s.TenantID, KeyVaultResource))
	kvError(w, http.StatusUnauthorized, "Unauthorized", message, "")
}

// serveVault answers a Key Vault data-plane request.
func (s *Server) serveVault(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	vaultName, _, _ := strings.Cut(host, ".")
	if r.URL.Query().Get("api-version") == "" {
		kvError(w, http.StatusBadRequest, "BadParameter", "The 'api-version' query parameter is missing.", "")
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	k, ok := kinds[segs[0]]
	if !ok || len(segs) > 3 || r.Method != http.MethodGet {
		kvError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.", "")
		return
	}
	auth, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !hasBearer {
		s.count(OpChallenge)
		s.challenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	s.mu.Lock()
	tok, known := s.tokens[auth]
	v, vaultKnown := s.vaults[vaultName]
	var p *principal
	if known {
		p = s.principals[tok.clientID]
	}
	now := s.now()
	s.mu.Unlock()
	switch {
	case !known:
		s.challenge(w, "[BearerReadAccessTokenFailed] Error validating token: 'S2S12005'.")
		return
	case now.After(tok.expires):
		s.challenge(w, "[TokenExpired] Error validating token: 'S2S12086'.")
		return
	case strings.TrimSuffix(tok.resource, "/") != KeyVaultResource:
		s.challenge(w, fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", KeyVaultResource, tok.resource))
		return
	case !vaultKnown:
		kvError(w, http.StatusNotFound, "VaultNotFound", fmt.Sprintf("Vault %q does not exist.", vaultName), "")
		return
	}
	list := len(segs) == 1
	op, perm, action := k.op, k.get, k.rbacGet
	if list {
		op, perm, action = k.listOp, k.lst, k.rbacList
		if op == "" {
			kvError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.", "")
			return
		}
	}
	if f, ok := s.count(op); ok {
		writeRetryAfter(w, f)
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		kvError(w, status, f.Code, f.Message, "")
		return
	}
	s.enter()
	defer s.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.perms[v.name][perm] {
		caller := fmt.Sprintf("appid=%s;oid=%s;iss=https://sts.windows.net/%s/", p.clientID, p.objectID, s.TenantID)
		if v.rbac {
			resource := "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.keyvault/vaults/" + v.name
			if !list {
				resource += "/" + k.segment + "/" + segs[1]
			}
			kvError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: %s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s;location=westeurope\r\n", caller, action, resource, v.name), "ForbiddenByRbac")
		} else {
			verb, _ := strings.CutPrefix(string(perm), k.segment+"/")
			kvError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("The user, group or application '%s' does not have %s %s permission on key vault '%s;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287", caller, k.segment, verb, v.name), "AccessDenied")
		}
		return
	}
	coll := map[string]map[string][]*object{"secrets": v.secrets, "keys": v.keys, "certificates": v.certs}[k.segment]
	if list {
		s.listLocked(w, r, v, k, coll)
		return
	}
	versions := coll[segs[1]]
	var o *object
	if len(segs) == 3 && segs[2] != "" {
		for _, c := range versions {
			if c.version == segs[2] {
				o = c
			}
		}
	} else if len(versions) > 0 {
		o = versions[len(versions)-1]
	}
	if o == nil {
		what := segs[1]
		if len(segs) == 3 {
			what += "/" + segs[2]
		}
		kvError(w, http.StatusNotFound, k.notFound, fmt.Sprintf("A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", k.noun, what, k.noun), "")
		return
	}
	if !o.enabled {
		kvError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation get is not allowed on a disabled %s.", k.noun), strings.ToUpper(k.noun[:1])+k.noun[1:]+"Disabled")
		return
	}
	writeJSON(w, http.StatusOK, s.bundleLocked(v, k, segs[1], o))
}

// bundleLocked returns the JSON of one version, as Key Vault's GET answers
// it. s.mu is held.
func (s *Server) bundleLocked(v *vault, k kind, name string, o *object) map[string]any {
	id := fmt.Sprintf("%s/%s/%s/%s", VaultURL(v.name), k.segment, name, o.version)
	b := map[string]any{"attributes": attributes(o)}
	if len(o.tags) > 0 {
		b["tags"] = o.tags
	}
	switch k.segment {
	case "secrets":
		b["id"], b["value"] = id, o.value
		if o.contentType != "" {
			b["contentType"] = o.contentType
		}
	case "keys":
		b["key"] = o.jwk
	case "certificates":
		sum := sha1.Sum(o.der) //nolint:gosec // x5t is defined as SHA-1.
		b["id"] = id
		b["kid"] = fmt.Sprintf("%s/keys/%s/%s", VaultURL(v.name), name, o.version)
		b["sid"] = fmt.Sprintf("%s/secrets/%s/%s", VaultURL(v.name), name, o.version)
		b["x5t"] = b64(sum[:])
		b["cer"] = base64.StdEncoding.EncodeToString(o.der)
	}
	return b
}

// attributes returns an object's attributes as Key Vault sends them.
func attributes(o *object) map[string]any {
	a := map[string]any{
		"enabled":         o.enabled,
		"created":         o.created.Unix(),
		"updated":         o.created.Unix(),
		"recoveryLevel":   "Recoverable+Purgeable",
		"recoverableDays": 90,
	}
	if o.expires != nil {
		a["exp"] = o.expires.Unix()
	}
	if o.notBefore != nil {
		a["nbf"] = o.notBefore.Unix()
	}
	return a
}

// listLocked answers a list of the latest version of every object, in
// name order, maxresults (at most 25) per page with a nextLink. s.mu is
// held.
func (s *Server) listLocked(w http.ResponseWriter, r *http.Request, v *vault, k kind, coll map[string][]*object) {
	names := slices.Sorted(maps.Keys(coll))
	pageSize := 25
	if n, err := strconv.Atoi(r.URL.Query().Get("maxresults")); err == nil && n > 0 && n < pageSize {
		pageSize = n
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	items := []any{}
	end := min(start+pageSize, len(names))
	for _, name := range names[min(start, len(names)):end] {
		o := coll[name][len(coll[name])-1]
		item := map[string]any{"id": fmt.Sprintf("%s/%s/%s", VaultURL(v.name), k.segment, name), "attributes": attributes(o)}
		if len(o.tags) > 0 {
			item["tags"] = o.tags
		}
		if o.contentType != "" {
			item["contentType"] = o.contentType
		}
		items = append(items, item)
	}
	body := map[string]any{"value": items, "nextLink": nil}
	if end < len(names) {
		body["nextLink"] = fmt.Sprintf("%s/%s?api-version=%s&$skiptoken=%d&maxresults=%d", VaultURL(v.name), k.segment, r.URL.Query().Get("api-version"), end, pageSize)
	}
	writeJSON(w, http.StatusOK, body)
}

// enter records a vault request in flight and waits the latency.
func (s *Server) enter() {
	s.mu.Lock()
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	d := s.latency
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

// leave records the end of a vault request.
func (s *Server) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}
