package manager_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The manager starts against the real API server, answers its probes, serves
// Prometheus metrics, and stops cleanly when its context ends.
func TestManagerServesProbesAndMetrics(t *testing.T) {
	env := testenv.Get(t)
	ports, err := testenv.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", ports[0])
	probes := fmt.Sprintf("127.0.0.1:%d", ports[1])
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(ctx, env.Config, manager.Options{
			MetricsAddr: metrics, ProbeAddr: probes, Concurrent: 2,
			LeaderElect: true, LeaderElectionNamespace: "default", LeaderElectionID: "manager-test",
		})
	}()

	get := func(url string) (int, string, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		testenv.Eventually(t, 30*time.Second, func() error {
			code, body, err := get("http://" + probes + path)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("%s: HTTP %d %s", path, code, body)
			}
			return nil
		})
	}
	// The leader-election client writes the Lease, so the API-server client
	// metrics have samples once this process leads.
	testenv.Eventually(t, 30*time.Second, func() error {
		code, body, err := get("http://" + metrics + "/metrics")
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, "leader_election_master_status") {
			return fmt.Errorf("metrics: HTTP %d without leader_election_master_status", code)
		}
		return nil
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("manager stopped with an error: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("manager did not stop within 40s of its context ending")
	}
}

func TestNegativeConcurrencyIsRefused(t *testing.T) {
	env := testenv.Get(t)
	_, err := manager.New(env.Config, manager.Options{Concurrent: -1, MetricsAddr: "0", ProbeAddr: "0"})
	if err == nil || !strings.Contains(err.Error(), "--concurrent") {
		t.Fatalf("got %v, want an error naming --concurrent", err)
	}
}
