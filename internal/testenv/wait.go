package testenv

import (
	"testing"
	"time"
)

// Eventually calls check every 100ms until it returns nil, and fails the test
// with check's last error if that does not happen within timeout.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
