package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// defaultTokenDir is where a pod's ServiceAccount token is mounted.
const defaultTokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// kubernetesAuth logs in with the Kubernetes method (auth.kubernetes) at
// auth/<mountPath>/login with a ServiceAccount JWT from, in order:
//
//   - serviceAccountRef: a token from the TokenRequest API (audiences from
//     serviceAccountRef.audiences, else the API server's own);
//   - secretRef: a JWT held in a Secret (key "token" when omitted);
//   - neither: the controller's own identity (a ClusterSecretStore only).
//
// Two readings of the seed article's manifest, reported as interpretations:
//
//   - a mountPath that is an absolute file-system path (the article's
//     "/var/run/secrets/kubernetes.io/serviceaccount") is the directory of
//     the pod's token, not an auth mount; the auth mount is then
//     spec.provider.vault.path if Vault accepts a login there, else
//     "kubernetes";
//   - a serviceAccountRef without namespace on a ClusterSecretStore is
//     looked up in the ExternalSecret's namespace first (upstream's
//     meaning); when there is no such ServiceAccount there and its name is
//     the controller's own ServiceAccount, the client logs in as the
//     controller.
type kubernetesAuth struct {
	spec      esv1.VaultKubernetesAuth
	tokenDir  string   // the directory mountPath names, if it is one
	vaultPath string   // spec.provider.vault.path as an auth mount, if set
	mounts    []string // auth mounts to try, in order
	chosen    int      // index in mounts of the mount that last accepted a login
}

// newKubernetesAuth checks auth.kubernetes and works out the auth mount
// candidates. vaultPath is spec.provider.vault.path.
func newKubernetesAuth(spec esv1.VaultKubernetesAuth, vaultPath *string) (authMethod, error) {
	const f = field + ".auth.kubernetes"
	if spec.Role == "" {
		return nil, provider.NewConfigError(f+".role", "is empty: name the Vault role to log in as")
	}
	if spec.ServiceAccountRef != nil && spec.ServiceAccountRef.Name == "" {
		return nil, provider.NewConfigError(f+".serviceAccountRef.name", "is empty")
	}
	if spec.ServiceAccountRef == nil && spec.SecretRef != nil && spec.SecretRef.Name == "" {
		return nil, provider.NewConfigError(f+".secretRef.name", "is empty")
	}
	a := &kubernetesAuth{spec: spec}
	if filepath.IsAbs(spec.Path) {
		a.tokenDir = filepath.Clean(spec.Path)
		if vaultPath != nil {
			a.vaultPath = authMount(*vaultPath)
			if a.vaultPath != "" && a.vaultPath != esv1.DefaultVaultKubernetesPath {
				a.mounts = append(a.mounts, a.vaultPath)
			}
		}
		a.mounts = append(a.mounts, esv1.DefaultVaultKubernetesPath)
	} else {
		a.mounts = []string{authMount(spec.PathOrDefault())}
	}
	return a, nil
}

// login obtains the JWT and logs in, trying the auth mount candidates.
func (a *kubernetesAuth) login(ctx context.Context, c *Client) (*vaultapi.SecretAuth, error) {
	jwt, identity, err := a.jwt(ctx, c)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for i := a.chosen; i < len(a.mounts); i++ {
		mount := a.mounts[i]
		auth, err := loginRequest{
			method:   "kubernetes",
			mount:    mount,
			role:     a.spec.Role,
			identity: identity,
			body:     map[string]any{"role": a.spec.Role, "jwt": jwt},
			secrets:  []string{jwt},
			hint: func(status int) string {
				if status == 400 || status == 403 {
					return fmt.Sprintf("check that role %q binds this ServiceAccount (bound_service_account_names and _namespaces), that its audience matches the token's, and that Vault may review the token (the reviewing account needs system:auth-delegator)", a.spec.Role)
				}
				return ""
			},
		}.do(ctx, c)
		if err == nil {
			a.chosen = i
			if a.tokenDir != "" {
				c.interpret(a.mountInterpretation(mount))
			}
			return auth, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		// A mount that is not a Kubernetes auth mount answers 403 like a
		// refused login; only then is the next candidate worth trying.
		if i+1 < len(a.mounts) && statusOf(err) == 403 {
			continue
		}
		if firstErr != err {
			return nil, fmt.Errorf("%w (auth/%s, tried first, refused too: %v)", err, a.mounts[0], firstErr)
		}
		return nil, err
	}
	return nil, firstErr
}

// mountInterpretation explains where a seed-style store logged in.
func (a *kubernetesAuth) mountInterpretation(mount string) string {
	var why string
	switch {
	case a.vaultPath == mount:
		why = fmt.Sprintf("spec.provider.vault.path %q names that auth mount", a.vaultPath)
	case a.vaultPath != "":
		why = fmt.Sprintf("spec.provider.vault.path %q is no Kubernetes auth mount, so the default", a.vaultPath)
	default:
		why = "the default"
	}
	return fmt.Sprintf("auth.kubernetes.mountPath %q is a file-system path, read as the directory of the pod's ServiceAccount token; logged in at auth/%s (%s)", a.tokenDir, mount, why)
}

// jwt returns the ServiceAccount JWT to log in with and who it belongs to.
func (a *kubernetesAuth) jwt(ctx context.Context, c *Client) (string, string, error) {
	const f = field + ".auth.kubernetes"
	switch {
	case a.spec.ServiceAccountRef != nil:
		return a.serviceAccountToken(ctx, c)
	case a.spec.SecretRef != nil:
		jwt, err := c.refs.secretValue(ctx, f+".secretRef", *a.spec.SecretRef, "token", true)
		if err != nil {
			return "", "", err
		}
		return jwt, fmt.Sprintf("JWT from Secret %q", a.spec.SecretRef.Name), nil
	}
	if c.refs.namespaced() {
		return "", "", provider.NewConfigError(f, "a SecretStore cannot log in as the controller's own ServiceAccount; set serviceAccountRef or secretRef")
	}
	return c.controllerToken(ctx, a.tokenDir, nil)
}

// serviceAccountToken requests a token for serviceAccountRef, falling back
// to the controller's identity as the type's documentation explains.
func (a *kubernetesAuth) serviceAccountToken(ctx context.Context, c *Client) (string, string, error) {
	const f = field + ".auth.kubernetes.serviceAccountRef"
	ref := a.spec.ServiceAccountRef
	referent := !c.refs.namespaced() && ref.Namespace == ""
	ns, err := c.refs.namespaceFor(f, ref.Namespace)
	if err == nil {
		sa := serviceAccount{Namespace: ns, Name: ref.Name}
		jwt, err := c.refs.requestToken(ctx, sa, ref.Audiences, defaultTokenExpiration)
		if err == nil {
			return jwt, "ServiceAccount " + sa.String(), nil
		}
		var nf *serviceAccountNotFoundError
		if !referent || !errors.As(err, &nf) {
			return "", "", tokenRequestError(f, err)
		}
		if !c.isController(ref.Name) {
			return "", "", &provider.ConfigError{Field: f, Err: fmt.Errorf("%w in the ExternalSecret's namespace, where a serviceAccountRef without namespace on a ClusterSecretStore is looked up%s", err, c.controllerNote())}
		}
		jwt, who, err := c.controllerToken(ctx, a.tokenDir, ref.Audiences)
		if err != nil {
			return "", "", err
		}
		c.interpret(fmt.Sprintf("auth.kubernetes.serviceAccountRef %q has no namespace and there is no such ServiceAccount in the ExternalSecret's namespace %q: logged in as %s", ref.Name, ns, who))
		return jwt, who, nil
	}
	if !errors.Is(err, provider.ErrNoReferentNamespace) || !c.isController(ref.Name) {
		return "", "", err
	}
	jwt, who, err := c.controllerToken(ctx, a.tokenDir, ref.Audiences)
	if err != nil {
		return "", "", err
	}
	c.interpret(fmt.Sprintf("auth.kubernetes.serviceAccountRef %q has no namespace and no ExternalSecret namespace applies: logged in as %s", ref.Name, who))
	return jwt, who, nil
}

// isController reports whether name is the controller's own ServiceAccount.
func (c *Client) isController(name string) bool {
	return c.ctrl.Namespace != "" && c.ctrl.ServiceAccount == name
}

// controllerNote tells who the controller is, for error messages.
func (c *Client) controllerNote() string {
	if c.ctrl.ServiceAccount == "" {
		return ""
	}
	return fmt.Sprintf(" (the controller runs as ServiceAccount %s/%s)", c.ctrl.Namespace, c.ctrl.ServiceAccount)
}

// controllerToken returns a token of the controller's own ServiceAccount:
// from the TokenRequest API when the controller knows its identity, else
// from the token file in tokenDir (the pod's mounted token).
func (c *Client) controllerToken(ctx context.Context, tokenDir string, audiences []string) (string, string, error) {
	if c.ctrl.Namespace != "" && c.ctrl.ServiceAccount != "" {
		sa := serviceAccount{Namespace: c.ctrl.Namespace, Name: c.ctrl.ServiceAccount}
		jwt, err := c.refs.requestToken(ctx, sa, audiences, defaultTokenExpiration)
		if err != nil {
			return "", "", fmt.Errorf("requesting a token of the controller's own ServiceAccount: %w", err)
		}
		return jwt, "the controller's ServiceAccount " + sa.String(), nil
	}
	if tokenDir == "" {
		tokenDir = defaultTokenDir
	}
	path := filepath.Join(tokenDir, "token")
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", "", provider.NewConfigError(field+".auth.kubernetes", "logging in as the controller needs its identity (POD_NAMESPACE and SERVICE_ACCOUNT_NAME) or its token file, and %s cannot be read: %w", path, err)
	}
	return strings.TrimSpace(string(raw)), "the controller's ServiceAccount token " + path, nil
}
