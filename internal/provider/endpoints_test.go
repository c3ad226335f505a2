package provider

import (
	"strings"
	"testing"
)

func TestEndpointOverrides(t *testing.T) {
	RegisterEndpoint("test.one", "the test service")
	t.Cleanup(func() {
		endpoints.Lock()
		delete(endpoints.known, "test.one")
		endpoints.overrides = nil
		endpoints.Unlock()
	})
	if got := EndpointOverride("test.one"); got != "" {
		t.Fatalf("override before any was set: %q", got)
	}
	if err := SetEndpointOverrides(map[string]string{"test.one": "https://127.0.0.1:8443/"}); err != nil {
		t.Fatal(err)
	}
	if got := EndpointOverride("test.one"); got != "https://127.0.0.1:8443" {
		t.Errorf("override = %q, want the URL without its trailing slash", got)
	}
	for _, bad := range []map[string]string{
		{"test.two": "https://x"},
		{"test.one": "127.0.0.1:8443"},
		{"test.one": "ftp://x"},
	} {
		err := SetEndpointOverrides(bad)
		if err == nil || !strings.Contains(err.Error(), "--endpoint-override") {
			t.Errorf("SetEndpointOverrides(%v) = %v, want an error naming the flag", bad, err)
		}
	}
	// A refused set keeps the previous overrides.
	if got := EndpointOverride("test.one"); got != "https://127.0.0.1:8443" {
		t.Errorf("a refused set changed the override to %q", got)
	}
	if !strings.Contains(strings.Join(KnownEndpoints(), "\n"), "test.one (the test service)") {
		t.Errorf("KnownEndpoints lacks test.one: %v", KnownEndpoints())
	}
}
