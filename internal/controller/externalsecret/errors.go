package externalsecret

import (
	"errors"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/shape"
)

// stallError means the spec, a referenced object or the remote data must
// change before a sync can succeed: the reconcile sets Stalled and looks
// again later instead of retrying in a hot loop.
type stallError struct {
	reason string
	err    error
}

func (e *stallError) Error() string { return e.err.Error() }
func (e *stallError) Unwrap() error { return e.err }

// stall marks err as needing a change by the user, with the Ready reason to report.
func stall(reason string, err error) error { return &stallError{reason: reason, err: err} }

// stallRetry is how soon a stalled ExternalSecret is looked at again even
// without a change event (a referenced object may be fixed without one).
const stallRetry = 5 * time.Minute

// classify says how a sync error is handled: stalled (with its reason) or
// transient (returned to the work queue, whose rate limiter backs off).
func classify(err error) (reason string, stalled bool) {
	var se *stallError
	var ce *provider.ConfigError
	var nf *provider.NotFoundError
	var pnf *shape.PropertyNotFoundError
	var te *shape.TemplateError
	var de *shape.DecodeError
	var nb *shape.NullByteError
	var re *shape.RewriteError
	switch {
	case errors.As(err, &se):
		return se.reason, true
	case errors.As(err, &ce), errors.As(err, &nf), errors.As(err, &pnf), errors.As(err, &te),
		errors.As(err, &de), errors.As(err, &nb), errors.As(err, &re):
		return esv1.ReasonSecretSyncedError, true
	default:
		return esv1.ReasonSecretSyncedError, false
	}
}

// maxMessage bounds condition messages and event notes.
const maxMessage = 2048

// message renders err for a condition or an event. Every error reaching here
// was built without secret values (providers sanitise theirs); this only
// bounds its length.
func message(err error) string {
	s := err.Error()
	if len(s) > maxMessage {
		s = s[:maxMessage-3] + "..."
	}
	return s
}
