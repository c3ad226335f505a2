package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// DefaultCoalescedCallTimeout bounds a shared provider call whose first
// caller's context has no deadline.
const DefaultCoalescedCallTimeout = 2 * time.Minute

// Coalesce wraps c so that identical reads in flight share one provider
// call: while a GetSecret, GetSecretMap, GetAllSecrets or Validate is
// running, a second call with an equal reference (every field of the ref or
// find, including version, property, metadataPolicy and decodingStrategy)
// waits for it and gets its result instead of calling the provider again.
// Nothing is cached once the call returns, errors included.
//
// Every caller gets its own copy of the result, so callers may modify what
// they get. The shared call runs on the first caller's context without its
// cancellation (a reconcile that gives up does not fail the others) but
// with its deadline, or DefaultCoalescedCallTimeout when it has none; each
// caller stops waiting when its own context ends.
//
// Wrapping an already coalesced client returns it unchanged. The wrapper
// forwards ResolvesProperty and Close to c.
func Coalesce(c Client) Client {
	return coalesce(c, nil)
}

// coalesce is Coalesce with a callback run whenever a caller gets the
// result of a call another caller started.
func coalesce(c Client, onShared func()) Client {
	if cc, ok := c.(*coalescedClient); ok {
		return cc
	}
	return &coalescedClient{inner: c, onShared: onShared}
}

// coalescedClient is the Client that Coalesce returns. Its singleflight group
// is its own, so the wrapped client is part of every key.
type coalescedClient struct {
	inner    Client
	group    singleflight.Group
	onShared func()
	// joined, when set (by tests), runs once a caller has joined or
	// started a call and before it waits for the result.
	joined func()

	recentMu  sync.Mutex
	recent    map[string]recentRead // successful reads, by operation and argument
	lastPrune time.Time
}

// RecentReadTTL bounds how long a completed read may answer later callers
// that allow it (WithReadsSince), and so the memory the remembered reads
// take. It exceeds the engine's largest refresh tolerance (one minute), so
// that during a cold start of thousands of objects, which the work queue
// does not order by remote key, the readers of one key still share a read
// made after they were created (at N = 5,000 a one-minute TTL let 210 of
// 500 keys be read twice).
const RecentReadTTL = 5 * time.Minute

// recentRead is a successful read and when its provider call started.
type recentRead struct {
	began time.Time
	res   sharedResult
}

type readsSinceKey struct{}

// WithReadsSince returns ctx allowing the reads of a coalesced client to be
// answered by a provider call that has already completed, provided that
// call started at or after t (and not longer than RecentReadTTL ago): the
// caller accepts any value read after t. Without it, or with a zero t, only
// calls still in flight are shared. Errors are never reused.
func WithReadsSince(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, readsSinceKey{}, t)
}

// readsSince is the t of WithReadsSince, zero if none.
func readsSince(ctx context.Context) time.Time {
	t, _ := ctx.Value(readsSinceKey{}).(time.Time)
	return t
}

// lookupRecent returns a remembered read of key that started at or after since.
func (c *coalescedClient) lookupRecent(key string, since time.Time) (sharedResult, bool) {
	if since.IsZero() {
		return sharedResult{}, false
	}
	c.recentMu.Lock()
	defer c.recentMu.Unlock()
	r, ok := c.recent[key]
	if !ok || r.began.Before(since) || time.Since(r.began) > RecentReadTTL {
		return sharedResult{}, false
	}
	return r.res, true
}

// remember keeps a successful read for RecentReadTTL; older entries are
// dropped at most every RecentReadTTL/2, so memory stays bounded by the
// distinct reads of about one minute.
func (c *coalescedClient) remember(key string, began time.Time, res sharedResult) {
	c.recentMu.Lock()
	defer c.recentMu.Unlock()
	now := time.Now()
	if c.recent == nil {
		c.recent, c.lastPrune = map[string]recentRead{}, now
	}
	if now.Sub(c.lastPrune) > RecentReadTTL/2 {
		for k, r := range c.recent {
			if now.Sub(r.began) > RecentReadTTL {
				delete(c.recent, k)
			}
		}
		c.lastPrune = now
	}
	if old, ok := c.recent[key]; !ok || old.began.Before(began) {
		c.recent[key] = recentRead{began: began, res: res}
	}
}

var (
	_ Client           = (*coalescedClient)(nil)
	_ PropertyResolver = (*coalescedClient)(nil)
)

// Unwrap returns the wrapped client.
func (c *coalescedClient) Unwrap() Client { return c.inner }

// ResolvesProperty reports whether the wrapped client applies ref.Property.
func (c *coalescedClient) ResolvesProperty() bool { return ResolvesProperty(c.inner) }

func (c *coalescedClient) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	v, err := c.do(ctx, "GetSecret", ref, func(ctx context.Context) (any, error) {
		return c.inner.GetSecret(ctx, ref)
	})
	b, _ := v.([]byte)
	return bytes.Clone(b), err
}

func (c *coalescedClient) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	v, err := c.do(ctx, "GetSecretMap", ref, func(ctx context.Context) (any, error) {
		return c.inner.GetSecretMap(ctx, ref)
	})
	m, _ := v.(map[string][]byte)
	return cloneMap(m), err
}

func (c *coalescedClient) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	v, err := c.do(ctx, "GetAllSecrets", find, func(ctx context.Context) (any, error) {
		return c.inner.GetAllSecrets(ctx, find)
	})
	m, _ := v.(map[string][]byte)
	return cloneMap(m), err
}

func (c *coalescedClient) Validate(ctx context.Context) (Validation, error) {
	v, err := c.do(ctx, "Validate", nil, func(ctx context.Context) (any, error) {
		return c.inner.Validate(ctx)
	})
	val, _ := v.(Validation)
	return val, err
}

func (c *coalescedClient) Close(ctx context.Context) error { return c.inner.Close(ctx) }

// do runs call once for all concurrent callers with the same operation and
// argument, and waits for it with the caller's context.
func (c *coalescedClient) do(ctx context.Context, op string, arg any, call func(context.Context) (any, error)) (any, error) {
	key, err := json.Marshal(arg)
	if err != nil {
		// The API types always marshal; if one ever does not, do not share.
		return call(ctx)
	}
	flight := op + "\x00" + string(key)
	// Validate proves the credentials now; only reads may be answered
	// from a call that has completed.
	reusable := op != "Validate"
	if reusable {
		if res, ok := c.lookupRecent(flight, readsSince(ctx)); ok {
			if c.onShared != nil {
				c.onShared()
			}
			for _, msg := range res.warnings {
				Warn(ctx, msg)
			}
			return res.val, nil
		}
	}
	// started is written only by the call this caller started, before
	// singleflight delivers its result on ch.
	started := false
	ch := c.group.DoChan(flight, func() (any, error) {
		started = true
		began := time.Now()
		// The shared call records warnings on a collector of its own, so
		// that every caller, not only the first, reports them.
		var w Warnings
		callCtx, cancel := sharedContext(WithWarnings(ctx, &w))
		defer cancel()
		val, err := call(callCtx)
		res := sharedResult{val: val, warnings: w.List()}
		if err == nil && reusable {
			c.remember(flight, began, res)
		}
		return res, err
	})
	if c.joined != nil {
		c.joined()
	}
	select {
	case res := <-ch:
		if !started && c.onShared != nil {
			c.onShared()
		}
		shared := res.Val.(sharedResult)
		for _, msg := range shared.warnings {
			Warn(ctx, msg)
		}
		return shared.val, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sharedResult is what a shared call hands to each of its callers.
type sharedResult struct {
	val      any
	warnings []string
}

// sharedContext derives the context of a shared call from its first
// caller's: the values and the deadline, not the cancellation.
func sharedContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultCoalescedCallTimeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// cloneMap copies m and its values; nil stays nil.
func cloneMap(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = bytes.Clone(v)
	}
	return out
}
