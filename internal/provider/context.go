package provider

import (
	"context"
	"slices"
	"sync"
)

// Controller is the controller process's own identity: the ServiceAccount it
// runs as. Providers use it when a store authenticates "as the controller"
// (for example Vault Kubernetes auth without serviceAccountRef, or the seed's
// serviceAccountRef naming the controller's own ServiceAccount).
type Controller struct {
	// Namespace is the controller's namespace (POD_NAMESPACE).
	Namespace string
	// ServiceAccount is the controller's ServiceAccount (SERVICE_ACCOUNT_NAME).
	ServiceAccount string
}

type controllerKey struct{}

// WithController returns ctx carrying the controller's identity. The client
// cache puts it on the context of every client build.
func WithController(ctx context.Context, c Controller) context.Context {
	return context.WithValue(ctx, controllerKey{}, c)
}

// ControllerFrom returns the controller identity carried by ctx (zero if none).
func ControllerFrom(ctx context.Context) Controller {
	c, _ := ctx.Value(controllerKey{}).(Controller)
	return c
}

// Warnings collects what a provider or the engine interpreted on the user's
// behalf (a Vault path read another way, a property resolved after a
// fallback). The ExternalSecret controller reports them as Warning events and
// in the Ready condition's message. Safe for concurrent use.
type Warnings struct {
	mu   sync.Mutex
	msgs []string
}

type warningsKey struct{}

// WithWarnings returns ctx carrying w.
func WithWarnings(ctx context.Context, w *Warnings) context.Context {
	return context.WithValue(ctx, warningsKey{}, w)
}

// Warn records a warning on the collector carried by ctx, if any. Messages
// must not contain secret values.
func Warn(ctx context.Context, msg string) {
	if w, ok := ctx.Value(warningsKey{}).(*Warnings); ok {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !slices.Contains(w.msgs, msg) {
			w.msgs = append(w.msgs, msg)
		}
	}
}

// List returns the distinct warnings in the order they were first recorded.
func (w *Warnings) List() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.msgs)
}
