package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// blockingClient counts calls per operation and blocks each call until
// release is closed (when set).
type blockingClient struct {
	calls   atomic.Int64
	entered chan string // receives the key of each call, when set
	release chan struct{}
	err     error
	sawCtx  chan context.Context // receives each call's context, when set
}

func (b *blockingClient) wait(ctx context.Context, key string) error {
	b.calls.Add(1)
	if b.sawCtx != nil {
		b.sawCtx <- ctx
	}
	if b.entered != nil {
		b.entered <- key
	}
	if b.release != nil {
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return b.err
}

func (b *blockingClient) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	if err := b.wait(ctx, ref.Key); err != nil {
		return nil, err
	}
	return []byte("value-of-" + ref.Key + "@" + ref.Version + "#" + ref.Property), nil
}

func (b *blockingClient) GetSecretMap(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) (map[string][]byte, error) {
	if err := b.wait(ctx, ref.Key); err != nil {
		return nil, err
	}
	return map[string][]byte{"a": []byte("A"), "b": []byte("B")}, nil
}

func (b *blockingClient) GetAllSecrets(ctx context.Context, find esv1.ExternalSecretFind) (map[string][]byte, error) {
	if err := b.wait(ctx, fmt.Sprint(find.Tags)); err != nil {
		return nil, err
	}
	return map[string][]byte{"x": []byte("X")}, nil
}

func (b *blockingClient) Validate(ctx context.Context) (Validation, error) {
	if err := b.wait(ctx, "validate"); err != nil {
		return Validation{}, err
	}
	return Validation{Result: ValidationReady, Identity: "tester"}, nil
}

func (b *blockingClient) Close(context.Context) error { return nil }

// joinCounter returns a coalesced client over inner and a function that
// waits until n callers have joined a call.
func joinCounter(t *testing.T, inner Client) (*coalescedClient, func(n int)) {
	t.Helper()
	var mu sync.Mutex
	joined := 0
	cc := coalesce(inner, nil).(*coalescedClient)
	cc.joined = func() { mu.Lock(); joined++; mu.Unlock() }
	return cc, func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			j := joined
			mu.Unlock()
			if j >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d callers joined", j, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestCoalesceSharesOneCall(t *testing.T) {
	const callers = 50
	inner := &blockingClient{release: make(chan struct{})}
	cc, waitJoined := joinCounter(t, inner)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "db", Property: "password", Version: "3"}

	results := make([][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = cc.GetSecret(t.Context(), ref) })
	}
	waitJoined(callers)
	close(inner.release)
	wg.Wait()

	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times; want 1", n)
	}
	want := "value-of-db@3#password"
	for i := range callers {
		if errs[i] != nil || string(results[i]) != want {
			t.Fatalf("caller %d got %q, %v; want %q", i, results[i], errs[i], want)
		}
	}
	// Every caller owns its copy.
	results[0][0] = 'X'
	for i := 1; i < callers; i++ {
		if string(results[i]) != want {
			t.Fatalf("caller %d sees caller 0's change: %q", i, results[i])
		}
	}
}

func TestCoalesceMapsAreCopiedPerCaller(t *testing.T) {
	const callers = 10
	inner := &blockingClient{release: make(chan struct{})}
	cc, waitJoined := joinCounter(t, inner)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "db"}
	results := make([]map[string][]byte, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			m, err := cc.GetSecretMap(t.Context(), ref)
			if err != nil {
				t.Error(err)
			}
			results[i] = m
		})
	}
	waitJoined(callers)
	close(inner.release)
	wg.Wait()
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times; want 1", n)
	}
	results[0]["a"][0] = 'Z'
	results[0]["new"] = nil
	delete(results[0], "b")
	for i := 1; i < callers; i++ {
		if len(results[i]) != 2 || string(results[i]["a"]) != "A" || string(results[i]["b"]) != "B" {
			t.Fatalf("caller %d sees caller 0's changes: %q", i, results[i])
		}
	}
}

func TestCoalesceKeepsDifferentReadsApart(t *testing.T) {
	refs := []esv1.ExternalSecretDataRemoteRef{
		{Key: "a"},
		{Key: "b"},
		{Key: "a", Property: "p"},
		{Key: "a", Version: "2"},
		{Key: "a", MetadataPolicy: esv1.MetadataPolicyFetch},
		{Key: "a", DecodingStrategy: esv1.DecodingStrategyBase64},
	}
	inner := &blockingClient{release: make(chan struct{})}
	cc, waitJoined := joinCounter(t, inner)
	var wg sync.WaitGroup
	for _, ref := range refs {
		for range 3 {
			wg.Go(func() {
				if _, err := cc.GetSecret(t.Context(), ref); err != nil {
					t.Error(err)
				}
			})
		}
	}
	// GetSecretMap and GetAllSecrets with look-alike arguments are other
	// operations.
	wg.Go(func() { _, _ = cc.GetSecretMap(t.Context(), refs[0]) })
	wg.Go(func() {
		_, _ = cc.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Tags: map[string]string{"a": "1"}})
	})
	wg.Go(func() {
		_, _ = cc.GetAllSecrets(t.Context(), esv1.ExternalSecretFind{Tags: map[string]string{"a": "2"}})
	})
	wg.Go(func() { _, _ = cc.Validate(t.Context()) })
	waitJoined(3*len(refs) + 4)
	close(inner.release)
	wg.Wait()
	if n, want := inner.calls.Load(), int64(len(refs)+4); n != want {
		t.Fatalf("provider called %d times; want %d (one per distinct read)", n, want)
	}
}

func TestCoalesceSharesErrorsWithoutCachingThem(t *testing.T) {
	const callers = 20
	boom := errors.New("provider unavailable")
	inner := &blockingClient{release: make(chan struct{}), err: boom}
	cc, waitJoined := joinCounter(t, inner)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "db"}
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := cc.GetSecret(t.Context(), ref); errors.Is(err, boom) {
				failed.Add(1)
			}
		})
	}
	waitJoined(callers)
	close(inner.release)
	wg.Wait()
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times; want 1", n)
	}
	if failed.Load() != callers {
		t.Fatalf("%d of %d callers got the error", failed.Load(), callers)
	}
	inner.err = nil
	got, err := cc.GetSecret(t.Context(), ref)
	if err != nil || inner.calls.Load() != 2 {
		t.Fatalf("after the error: %q, %v after %d calls; want a fresh call that succeeds", got, err, inner.calls.Load())
	}
}

func TestCoalesceCallerCancellation(t *testing.T) {
	inner := &blockingClient{release: make(chan struct{}), sawCtx: make(chan context.Context, 1)}
	cc, waitJoined := joinCounter(t, inner)
	ref := esv1.ExternalSecretDataRemoteRef{Key: "db"}

	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := cc.GetSecret(leaderCtx, ref)
		leaderErr <- err
	}()
	callCtx := <-inner.sawCtx
	if _, ok := callCtx.Deadline(); !ok {
		t.Errorf("the shared call has no deadline")
	}
	waitJoined(1)
	follower := make(chan []byte, 1)
	go func() {
		v, err := cc.GetSecret(t.Context(), ref)
		if err != nil {
			t.Error(err)
		}
		follower <- v
	}()
	waitJoined(2)

	// The first caller gives up: it returns at once, the shared call goes on.
	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader got %v; want context.Canceled", err)
	}
	if callCtx.Err() != nil {
		t.Fatalf("the shared call was cancelled with its first caller")
	}
	close(inner.release)
	if v := <-follower; string(v) != "value-of-db@#" {
		t.Fatalf("follower got %q", v)
	}
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("provider called %d times; want 1", n)
	}
}

// resolving is a client that applies property itself.
type resolving struct{ blockingClient }

func (*resolving) ResolvesProperty() bool { return true }

func TestCoalesceForwards(t *testing.T) {
	plain := Coalesce(&blockingClient{})
	if ResolvesProperty(plain) {
		t.Errorf("ResolvesProperty of a plain client = true")
	}
	r := Coalesce(&resolving{})
	if !ResolvesProperty(r) {
		t.Errorf("ResolvesProperty of a resolving client = false")
	}
	if Coalesce(r) != r {
		t.Errorf("Coalesce wrapped a coalesced client again")
	}
	v, err := r.Validate(t.Context())
	if err != nil || v.Identity != "tester" {
		t.Errorf("Validate = %+v, %v", v, err)
	}
}

// Warnings a shared call records reach every caller that shared it.
func TestCoalesceReplaysWarningsToEveryCaller(t *testing.T) {
	release := make(chan struct{})
	inner := &warningClient{release: release}
	c, waitJoined := joinCounter(t, inner)
	const callers = 5
	lists := make(chan []string, callers)
	for range callers {
		go func() {
			var w Warnings
			_, _ = c.GetSecret(WithWarnings(context.Background(), &w), esv1.ExternalSecretDataRemoteRef{Key: "k"})
			lists <- w.List()
		}()
	}
	waitJoined(callers)
	close(release)
	for range callers {
		if got := <-lists; len(got) != 1 || got[0] != "interpreted k" {
			t.Errorf("caller saw warnings %q, want [interpreted k]", got)
		}
	}
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("%d provider calls, want 1 shared call", n)
	}
}

type warningClient struct {
	Client
	release chan struct{}
	calls   atomic.Int32
}

func (w *warningClient) GetSecret(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	w.calls.Add(1)
	<-w.release
	Warn(ctx, "interpreted "+ref.Key)
	return []byte("v"), nil
}

// A completed read answers a later caller only when that caller allows
// reads from that time on (WithReadsSince); errors, Validate and callers
// without a bound always reach the provider.
func TestCoalesceReusesRecentReads(t *testing.T) {
	ref := esv1.ExternalSecretDataRemoteRef{Key: "db"}
	for _, tc := range []struct {
		name      string
		since     func(first time.Time) time.Time // zero: WithReadsSince not used
		err       error
		wantCalls int64
	}{
		{name: "no bound: only calls in flight are shared", since: func(time.Time) time.Time { return time.Time{} }, wantCalls: 2},
		{name: "read started after the bound is reused", since: func(first time.Time) time.Time { return first.Add(-time.Second) }, wantCalls: 1},
		{name: "read started before the bound is not", since: func(time.Time) time.Time { return time.Now().Add(time.Hour) }, wantCalls: 2},
		{name: "an earlier bound accepts the read too", since: func(first time.Time) time.Time { return first.Add(-RecentReadTTL / 2) }, wantCalls: 1},
		{name: "errors are not reused", since: func(first time.Time) time.Time { return first.Add(-time.Second) }, err: errors.New("boom"), wantCalls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &blockingClient{err: tc.err}
			var shared atomic.Int64
			c := coalesce(inner, func() { shared.Add(1) })
			first := time.Now()
			_, _ = c.GetSecret(WithReadsSince(t.Context(), first.Add(-time.Second)), ref)
			ctx := t.Context()
			if s := tc.since(first); !s.IsZero() {
				ctx = WithReadsSince(ctx, s)
			}
			got, err := c.GetSecret(ctx, ref)
			if calls := inner.calls.Load(); calls != tc.wantCalls {
				t.Errorf("provider calls = %d, want %d", calls, tc.wantCalls)
			}
			if tc.err == nil && (err != nil || string(got) != "value-of-db@#") {
				t.Errorf("second read = %q, %v", got, err)
			}
			if wantShared := 2 - tc.wantCalls; shared.Load() != wantShared {
				t.Errorf("shared = %d, want %d", shared.Load(), wantShared)
			}
		})
	}
	t.Run("Validate is never answered from memory", func(t *testing.T) {
		inner := &blockingClient{}
		c := coalesce(inner, nil)
		ctx := WithReadsSince(t.Context(), time.Now().Add(-time.Minute))
		for range 2 {
			if _, err := c.Validate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if inner.calls.Load() != 2 {
			t.Errorf("Validate calls = %d, want 2", inner.calls.Load())
		}
	})
	t.Run("callers get their own copy", func(t *testing.T) {
		c := coalesce(&blockingClient{}, nil)
		ctx := WithReadsSince(t.Context(), time.Now().Add(-time.Minute))
		a, _ := c.GetSecret(ctx, ref)
		a[0] = 'X'
		b, _ := c.GetSecret(ctx, ref)
		if string(b) != "value-of-db@#" {
			t.Errorf("a caller's change leaked into another's result: %q", b)
		}
	})
}
