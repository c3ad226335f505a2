package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// latest is the version alias of the newest version.
const latest = "latest"

var (
	// secretIDPattern is what Secret Manager accepts as a secret ID.
	secretIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	// fullNamePattern is a full secret resource name.
	fullNamePattern = regexp.MustCompile(`^projects/[^/]+(/locations/[^/]+)?/secrets/[a-zA-Z0-9_-]{1,255}$`)
	// crc32c is the Castagnoli table Secret Manager's checksums use.
	crc32c = crc32.MakeTable(crc32.Castagnoli)
)

// parent returns projects/P[/locations/L].
func (c *Client) parent() string {
	p := "projects/" + c.project
	if c.location != "" {
		p += "/locations/" + c.location
	}
	return p
}

// secretName returns the resource name of the secret key names: a secret
// ID in the store's project (and location), or a full resource name.
func (c *Client) secretName(key string) (string, error) {
	switch {
	case secretIDPattern.MatchString(key):
		return c.parent() + "/secrets/" + key, nil
	case fullNamePattern.MatchString(key):
		return key, nil
	default:
		return "", provider.NewConfigError("remoteRef.key", "%q is not a Secret Manager secret ID (1 to 255 letters, digits, - and _) or a resource name projects/<project>/secrets/<id>", key)
	}
}

// parseVersion turns remoteRef.version into a version ID: "" and "latest"
// are "latest", "N" and "versions/N" are N.
func parseVersion(v string) (string, error) {
	id := strings.TrimPrefix(v, "versions/")
	switch {
	case v == "" || id == latest:
		return latest, nil
	default:
		if n, err := strconv.ParseUint(id, 10, 63); err == nil && n > 0 {
			return id, nil
		}
		return "", provider.NewConfigError("remoteRef.version", "%q is not a Secret Manager version: use latest, a version number such as 3, or versions/3", v)
	}
}

// access reads a version's payload and checks its CRC32C. When version is
// "latest", it is disabled or destroyed, and the store's policy is
// LatestOrFetch, the newest enabled version is read instead.
func (c *Client) access(ctx context.Context, key, secret, version string) ([]byte, error) {
	name := secret + "/versions/" + version
	resp, err := do(ctx, c, func(ctx context.Context) (*secretmanagerpb.AccessSecretVersionResponse, error) {
		return c.sm.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	})
	if status.Code(err) == codes.FailedPrecondition && version == latest && c.policy == esv1.SecretVersionSelectionPolicyLatestOrFetch {
		return c.accessNewestEnabled(ctx, key, secret)
	}
	if err != nil {
		return nil, c.wrapError(err, call{op: "AccessSecretVersion", permission: "secretmanager.versions.access", key: key, resource: name})
	}
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil && int64(crc32.Checksum(data, crc32c)) != *sum {
		return nil, fmt.Errorf("calling Secret Manager AccessSecretVersion on %s: the payload does not match its CRC32C checksum (corrupted in transit); it is read again on the next attempt", resp.GetName())
	}
	return data, nil
}

// accessNewestEnabled reads the newest enabled version of secret (the
// LatestOrFetch fallback). Listing versions needs
// secretmanager.versions.list.
func (c *Client) accessNewestEnabled(ctx context.Context, key, secret string) ([]byte, error) {
	cl := call{op: "ListSecretVersions", permission: "secretmanager.versions.list", key: key, resource: secret}
	v, err := do(ctx, c, func(ctx context.Context) (*secretmanagerpb.SecretVersion, error) {
		// Versions are listed newest first.
		it := c.sm.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: secret, Filter: "state:ENABLED", PageSize: 1})
		return it.Next()
	})
	if errors.Is(err, iterator.Done) {
		return nil, &provider.NotFoundError{Key: key, Detail: fmt.Sprintf("Secret Manager secret %s has no enabled version (its latest is disabled or destroyed)", secret)}
	}
	if err != nil {
		return nil, fmt.Errorf("falling back to the newest enabled version (secretVersionSelectionPolicy LatestOrFetch) because the latest is disabled or destroyed: %w", c.wrapError(err, cl))
	}
	id := v.GetName()[strings.LastIndex(v.GetName(), "/")+1:]
	return c.access(ctx, key, secret, id)
}

// metadata returns the secret's labels and annotations as JSON.
func (c *Client) metadata(ctx context.Context, key, secret string) ([]byte, error) {
	s, err := do(ctx, c, func(ctx context.Context) (*secretmanagerpb.Secret, error) {
		return c.sm.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: secret})
	})
	if err != nil {
		return nil, c.wrapError(err, call{op: "GetSecret", permission: "secretmanager.secrets.get", key: key, resource: secret})
	}
	md := map[string]map[string]string{"annotations": s.GetAnnotations(), "labels": s.GetLabels()}
	for k, v := range md {
		if v == nil {
			md[k] = map[string]string{}
		}
	}
	return json.Marshal(md)
}

// probe lists one secret of the store's project (and location).
func (c *Client) probe(ctx context.Context) error {
	_, err := do(ctx, c, func(ctx context.Context) (*secretmanagerpb.Secret, error) {
		it := c.sm.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: c.parent(), PageSize: 1})
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			err = nil
		}
		return s, err
	})
	return c.wrapError(err, call{op: "ListSecrets", permission: "secretmanager.secrets.list", resource: c.parent()})
}

// finder is a compiled dataFrom[].find.
type finder struct {
	// prefix is find.path: IDs must start with it.
	prefix string
	// name, when set, must match IDs.
	name *regexp.Regexp
	// labels must all be on a secret, with these values.
	labels map[string]string
}

// labelPattern is what a label key or value may be, so that it can go
// into a list filter without quoting.
var labelPattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}0-9_-]{0,63}$`)

// newFinder compiles find.
func newFinder(find esv1.ExternalSecretFind) (finder, error) {
	m := finder{labels: find.Tags}
	if find.Path != nil {
		m.prefix = *find.Path
	}
	if find.Name != nil && find.Name.RegExp != "" {
		re, err := regexp.Compile(find.Name.RegExp)
		if err != nil {
			return finder{}, &provider.ConfigError{Field: "dataFrom[].find.name.regexp", Err: err}
		}
		m.name = re
	}
	for k, v := range m.labels {
		if k == "" || !labelPattern.MatchString(k) || !labelPattern.MatchString(v) {
			return finder{}, provider.NewConfigError("dataFrom[].find.tags", "%q=%q is not a Secret Manager label (lower-case letters, digits, _ and -, at most 63 characters)", k, v)
		}
	}
	if m.prefix == "" && m.name == nil && len(m.labels) == 0 {
		return finder{}, provider.NewConfigError("dataFrom[].find", "set name.regexp, path or tags: a find without any would read every secret of the project")
	}
	return m, nil
}

// filter returns the ListSecrets filter that narrows m on the server.
func (m finder) filter() string {
	var terms []string
	for k, v := range m.labels {
		terms = append(terms, fmt.Sprintf("labels.%s=%s", k, v))
	}
	return strings.Join(terms, " AND ")
}

// match reports whether the secret id with labels matches.
func (m finder) match(id string, labels map[string]string) bool {
	if !strings.HasPrefix(id, m.prefix) || (m.name != nil && !m.name.MatchString(id)) {
		return false
	}
	for k, v := range m.labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// findConcurrency bounds the versions read at once by a find.
const findConcurrency = 8

// find lists the secrets m matches and reads their newest version (under
// the store's selection policy). A secret without versions, or deleted
// between the calls, is left out; any other error fails the find.
func (c *Client) find(ctx context.Context, m finder) (map[string][]byte, error) {
	var names []string
	_, err := do(ctx, c, func(ctx context.Context) (struct{}, error) {
		names = names[:0]
		it := c.sm.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: c.parent(), Filter: m.filter(), PageSize: 100})
		for {
			s, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			id := s.GetName()[strings.LastIndex(s.GetName(), "/")+1:]
			if m.match(id, s.GetLabels()) {
				names = append(names, id)
			}
		}
	})
	if err != nil {
		return nil, c.wrapError(err, call{op: "ListSecrets", permission: "secretmanager.secrets.list", resource: c.parent()})
	}
	values := make([][]byte, len(names))
	found := make([]bool, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(findConcurrency)
	for i, id := range names {
		g.Go(func() error {
			v, err := c.access(gctx, id, c.parent()+"/secrets/"+id, latest)
			if provider.IsNotFound(err) {
				return nil
			}
			values[i], found[i] = v, err == nil
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("reading the secrets that match: %w", err)
	}
	out := make(map[string][]byte, len(names))
	for i, id := range names {
		if found[i] {
			out[id] = values[i]
		}
	}
	return out, nil
}
