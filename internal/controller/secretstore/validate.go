package secretstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// validationTimeout bounds getting a client for a store and validating it.
const validationTimeout = time.Minute

// outcome is what one validation of a store observed; deriveStatus turns it
// into status.
type outcome struct {
	// reason is the Ready reason (esv1.ReasonStoreValid, …).
	reason string
	// err is why the store is not Valid; for ValidationUnknown it may be nil.
	err error
	// identity is who the client authenticated as, when the provider says.
	identity string
	// capabilities are the provider's; empty when the provider is not known.
	capabilities esv1.SecretStoreCapabilities
	// stalled means only a change of the spec or of a referenced object
	// can help: Stalled is set and the store is looked at again after its
	// refresh interval.
	stalled bool
	// transient means the failure may go away by itself: the reconcile
	// returns err and the work queue backs off.
	transient bool
}

// validate checks a store, cheapest check first, and stops at the first
// that fails:
//
//  1. spec.refreshInterval parses and spec.provider configures exactly one
//     provider this build has; else InvalidStoreConfiguration (stalled).
//  2. The provider's static checks (ValidateStore); else
//     InvalidProviderConfig (stalled).
//  3. A client can be built, through Clients, as used from no namespace.
//     Credentials that a ClusterSecretStore resolves in each ExternalSecret's
//     namespace (referent authentication) cannot be: ValidationUnknown. A
//     *provider.ConfigError: InvalidProviderConfig (stalled). Anything
//     else: ValidationFailed (transient).
//  4. The provider validates the client: Valid (with the identity),
//     ValidationUnknown, or ValidationFailed (stalled for a
//     *provider.ConfigError, else transient). A client that failed is
//     dropped from the cache, so the next attempt builds (logs in) anew.
//
// The capabilities are reported as soon as the provider is known.
func (r *Reconciler) validate(ctx context.Context, s provider.Store) outcome {
	spec := s.StoreSpec()
	if _, err := spec.RefreshIntervalDuration(); err != nil {
		return outcome{reason: esv1.ReasonInvalidStoreConfiguration, err: err, stalled: true}
	}
	p, name, err := provider.ForStore(spec)
	if err != nil {
		return outcome{reason: esv1.ReasonInvalidStoreConfiguration, err: err, stalled: true}
	}
	caps := p.Capabilities()
	if err := p.ValidateStore(s); err != nil {
		return outcome{reason: esv1.ReasonInvalidProviderConfig, err: err, capabilities: caps, stalled: true}
	}

	ctx, cancel := context.WithTimeout(ctx, validationTimeout)
	defer cancel()
	cl, err := r.Clients.Get(ctx, s, r.providerKube(), "")
	switch {
	case errors.Is(err, provider.ErrNoReferentNamespace):
		return outcome{reason: esv1.ReasonValidationUnknown, err: err, capabilities: caps}
	case isConfigError(err):
		return outcome{reason: esv1.ReasonInvalidProviderConfig, err: err, capabilities: caps, stalled: true}
	case err != nil:
		return outcome{reason: esv1.ReasonValidationFailed, err: err, capabilities: caps, transient: true}
	}

	v, err := cl.Validate(ctx)
	switch {
	case v.Result == provider.ValidationUnknown:
		return outcome{reason: esv1.ReasonValidationUnknown, err: err, capabilities: caps}
	case err != nil || v.Result == provider.ValidationFailed:
		if err == nil {
			err = errors.New("the provider reported the store as invalid")
		}
		r.invalidate(s)
		stalled := isConfigError(err)
		return outcome{
			reason:       esv1.ReasonValidationFailed,
			err:          fmt.Errorf("provider %s: %w", name, err),
			capabilities: caps,
			stalled:      stalled,
			transient:    !stalled,
		}
	default:
		return outcome{reason: esv1.ReasonStoreValid, identity: v.Identity, capabilities: caps}
	}
}

// invalidate drops the store's cached clients, when the client source can.
func (r *Reconciler) invalidate(s provider.Store) {
	if inv, ok := r.Clients.(invalidator); ok {
		inv.Invalidate(s.GetUID())
	}
}

// isConfigError reports whether err is or wraps a *provider.ConfigError.
func isConfigError(err error) bool {
	var ce *provider.ConfigError
	return errors.As(err, &ce)
}
