package provider

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Endpoint overrides replace the address a provider's SDK would use for one
// cloud service: a VPC or Private Service Connect endpoint, a sovereign
// cloud, a FIPS endpoint, or a wire-protocol test server. They are set once,
// at start-up, from `secretbridge controller --endpoint-override NAME=URL`;
// each provider declares the names it reads with RegisterEndpoint.
//
// One mechanism serves every provider, so the built binary can be pointed at
// the test servers of internal/provider/<name>/<name>test by the e2e tests and
// the benchmark exactly as a user points it at a private endpoint.

var endpoints = struct {
	sync.RWMutex
	known     map[string]string // name → what it replaces
	overrides map[string]string // name → base URL
}{known: map[string]string{}}

// RegisterEndpoint declares an overridable endpoint; providers call it from
// init. The description says which SDK address it replaces.
func RegisterEndpoint(name, description string) {
	endpoints.Lock()
	defer endpoints.Unlock()
	if _, dup := endpoints.known[name]; dup {
		panic("provider: endpoint " + name + " registered twice")
	}
	endpoints.known[name] = description
}

// KnownEndpoints lists the registered names with their descriptions, sorted,
// for --help and for error messages.
func KnownEndpoints() []string {
	endpoints.RLock()
	defer endpoints.RUnlock()
	out := make([]string, 0, len(endpoints.known))
	for name, desc := range endpoints.known {
		out = append(out, name+" ("+desc+")")
	}
	slices.Sort(out)
	return out
}

// SetEndpointOverrides validates and installs the overrides. Every name must
// be registered and every value an absolute http(s) URL; nothing is installed
// when one is wrong.
func SetEndpointOverrides(in map[string]string) error {
	endpoints.Lock()
	defer endpoints.Unlock()
	out := make(map[string]string, len(in))
	for name, raw := range in {
		if _, ok := endpoints.known[name]; !ok {
			names := make([]string, 0, len(endpoints.known))
			for n := range endpoints.known {
				names = append(names, n)
			}
			slices.Sort(names)
			return fmt.Errorf("--endpoint-override: unknown endpoint %q; known: %s", name, strings.Join(names, ", "))
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--endpoint-override %s=%q: not an absolute http(s) URL such as https://host:port", name, raw)
		}
		out[name] = strings.TrimSuffix(raw, "/")
	}
	endpoints.overrides = out
	return nil
}

// EndpointOverride returns the base URL that replaces the named endpoint, or
// "" when the SDK's own address is used.
func EndpointOverride(name string) string {
	endpoints.RLock()
	defer endpoints.RUnlock()
	if _, ok := endpoints.known[name]; !ok {
		panic("provider: endpoint " + name + " read but never registered")
	}
	return endpoints.overrides[name]
}
