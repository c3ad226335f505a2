package gcptest

import (
	"context"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// secret is one stored secret.
type secret struct {
	project, location, id string
	labels, annotations   map[string]string
	created               time.Time
	versions              []*version // version n at index n-1
}

type version struct {
	n       int
	state   secretmanagerpb.SecretVersion_State
	data    []byte
	created time.Time
}

// resource is a parsed Secret Manager resource name.
type resource struct {
	project, location, secret, version string
}

// parseName parses projects/P[/locations/L][/secrets/S[/versions/V]].
func parseName(name string) (resource, bool) {
	parts := strings.Split(name, "/")
	if len(parts) < 2 || parts[0] != "projects" || parts[1] == "" {
		return resource{}, false
	}
	r := resource{project: parts[1]}
	rest := parts[2:]
	if len(rest) >= 2 && rest[0] == "locations" {
		r.location, rest = rest[1], rest[2:]
	}
	if len(rest) >= 2 && rest[0] == "secrets" {
		r.secret, rest = rest[1], rest[2:]
	}
	if len(rest) >= 2 && rest[0] == "versions" && r.secret != "" {
		r.version, rest = rest[1], rest[2:]
	}
	return r, len(rest) == 0
}

// ProjectNumber returns the number the server gives project: Google answers
// with resource names that carry the project number, not its ID.
func ProjectNumber(project string) string {
	if _, err := strconv.Atoi(project); err == nil {
		return project
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(project))
	return strconv.FormatUint(100000000000+uint64(h.Sum32()), 10)
}

// parent returns projects/P[/locations/L] with the given project spelling.
func (r resource) parent(project string) string {
	p := "projects/" + project
	if r.location != "" {
		p += "/locations/" + r.location
	}
	return p
}

// secretName returns the secret's name with the given project spelling.
func (r resource) secretName(project string) string {
	return r.parent(project) + "/secrets/" + r.secret
}

// key is the storage key of a secret: its name with the project ID.
func (s *Server) key(r resource) string {
	return r.secretName(s.projectID(r.project))
}

// projectID maps a project number back to the ID secrets were added under.
func (s *Server) projectID(project string) string {
	if _, err := strconv.Atoi(project); err != nil {
		return project
	}
	for _, sec := range s.secrets {
		if ProjectNumber(sec.project) == project {
			return sec.project
		}
	}
	return project
}

// AddSecret creates the secret name ("projects/<id>/secrets/<id>" or
// "projects/<id>/locations/<location>/secrets/<id>") with labels and
// annotations, without versions. It panics on a malformed name.
func (s *Server) AddSecret(name string, labels, annotations map[string]string) {
	r, ok := parseName(name)
	if !ok || r.secret == "" || r.version != "" {
		panic("gcptest: not a secret name: " + name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[s.key(r)] = &secret{project: r.project, location: r.location, id: r.secret,
		labels: maps.Clone(labels), annotations: maps.Clone(annotations), created: time.Now()}
}

// AddVersion adds an enabled version holding data to the secret name
// (created without labels if missing) and returns its number.
func (s *Server) AddVersion(name string, data []byte) int {
	r, ok := parseName(name)
	if !ok || r.secret == "" {
		panic("gcptest: not a secret name: " + name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[s.key(r)]
	if sec == nil {
		sec = &secret{project: r.project, location: r.location, id: r.secret, created: time.Now()}
		s.secrets[s.key(r)] = sec
	}
	v := &version{n: len(sec.versions) + 1, state: secretmanagerpb.SecretVersion_ENABLED, data: slices.Clone(data), created: time.Now()}
	sec.versions = append(sec.versions, v)
	return v.n
}

// SetVersionState sets the state of version n of the secret name
// (ENABLED, DISABLED or DESTROYED; destroying drops the data).
func (s *Server) SetVersionState(name string, n int, state secretmanagerpb.SecretVersion_State) {
	r, _ := parseName(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[s.key(r)]
	if sec == nil || n < 1 || n > len(sec.versions) {
		panic(fmt.Sprintf("gcptest: %s has no version %d", name, n))
	}
	sec.versions[n-1].state = state
	if state == secretmanagerpb.SecretVersion_DESTROYED {
		sec.versions[n-1].data = nil
	}
}

type principalKey struct{}

// intercept counts the call, applies latency and faults, and checks the
// bearer token of every Secret Manager call.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	op := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	f, leave := s.enter(op)
	defer leave()
	if f != nil {
		return nil, status.Error(f.code, f.message)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var authz string
	if v := md.Get("authorization"); len(v) > 0 {
		authz = v[0]
	}
	principal, ok := s.principalOf(authz)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, unauthenticated)
	}
	return handler(context.WithValue(ctx, principalKey{}, principal), req)
}

// secretManager implements the Secret Manager gRPC service.
type secretManager struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	s *Server
}

// denied is Google's PermissionDenied for permission on resource.
func denied(permission, resource string) error {
	return status.Errorf(codes.PermissionDenied, "Permission '%s' denied for resource '%s' (or it may not exist).", permission, resource)
}

// check parses name and checks that the caller holds role on it.
func (m *secretManager) check(ctx context.Context, name, role, permission string) (resource, error) {
	r, ok := parseName(name)
	if !ok {
		return r, status.Errorf(codes.InvalidArgument, "The provided name [%s] is not valid.", name)
	}
	principal, _ := ctx.Value(principalKey{}).(string)
	m.s.mu.Lock()
	project := m.s.projectID(r.project)
	m.s.mu.Unlock()
	var secretName string
	if r.secret != "" {
		secretName = r.secretName(project)
	}
	if !m.s.allowed(principal, role, project, secretName) {
		return r, denied(permission, name)
	}
	return r, nil
}

// lookup returns the secret r names, or NotFound.
func (m *secretManager) lookup(r resource, notFound string) (*secret, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	sec := m.s.secrets[m.s.key(r)]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] %s", r.secretName(ProjectNumber(m.s.projectID(r.project))), notFound)
	}
	return sec, nil
}

func (sec *secret) name() string {
	return resource{project: sec.project, location: sec.location, secret: sec.id}.secretName(ProjectNumber(sec.project))
}

func (sec *secret) proto() *secretmanagerpb.Secret {
	return &secretmanagerpb.Secret{
		Name:        sec.name(),
		CreateTime:  timestamppb.New(sec.created),
		Labels:      maps.Clone(sec.labels),
		Annotations: maps.Clone(sec.annotations),
	}
}

func (sec *secret) versionProto(v *version) *secretmanagerpb.SecretVersion {
	return &secretmanagerpb.SecretVersion{
		Name:       fmt.Sprintf("%s/versions/%d", sec.name(), v.n),
		CreateTime: timestamppb.New(v.created),
		State:      v.state,
	}
}

// AccessSecretVersion returns a version's payload (version "latest" is the
// newest version, whatever its state).
func (m *secretManager) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	r, err := m.check(ctx, req.GetName(), RoleSecretAccessor, "secretmanager.versions.access")
	if err != nil {
		return nil, err
	}
	if r.secret == "" || r.version == "" {
		return nil, status.Errorf(codes.InvalidArgument, "The provided name [%s] is not a secret version name.", req.GetName())
	}
	sec, err := m.lookup(r, "not found or has no versions.")
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	var v *version
	switch r.version {
	case "latest":
		if len(sec.versions) == 0 {
			return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", sec.name())
		}
		v = sec.versions[len(sec.versions)-1]
	default:
		n, err := strconv.Atoi(r.version)
		if err != nil || n < 1 {
			return nil, status.Errorf(codes.InvalidArgument, "The provided Secret Version ID [%s] does not match the expected format [0-9]+ or [latest].", r.version)
		}
		if n > len(sec.versions) {
			return nil, status.Errorf(codes.NotFound, "Secret Version [%s/versions/%d] not found.", sec.name(), n)
		}
		v = sec.versions[n-1]
	}
	if v.state != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s/versions/%d] is in %s state.", sec.name(), v.n, v.state)
	}
	crc := int64(crc32.Checksum(v.data, crc32.MakeTable(crc32.Castagnoli)))
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    fmt.Sprintf("%s/versions/%d", sec.name(), v.n),
		Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(v.data), DataCrc32C: &crc},
	}, nil
}

// GetSecret returns a secret's metadata.
func (m *secretManager) GetSecret(ctx context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	r, err := m.check(ctx, req.GetName(), RoleViewer, "secretmanager.secrets.get")
	if err != nil {
		return nil, err
	}
	sec, err := m.lookup(r, "not found.")
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	return sec.proto(), nil
}

// ListSecrets lists the secrets of a project (and location), sorted by
// name, filtered by the subset of Google's filter syntax find needs:
// terms "labels.<k>=<v>", "labels.<k>:<v>" and "name:<substring>" joined
// by AND.
func (m *secretManager) ListSecrets(ctx context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	r, err := m.check(ctx, req.GetParent(), RoleViewer, "secretmanager.secrets.list")
	if err != nil {
		return nil, err
	}
	match, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	project := m.s.projectID(r.project)
	var all []*secretmanagerpb.Secret
	for _, sec := range m.s.secrets {
		if sec.project == project && sec.location == r.location && match(sec) {
			all = append(all, sec.proto())
		}
	}
	m.s.mu.Unlock()
	slices.SortFunc(all, func(a, b *secretmanagerpb.Secret) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := paginate(all, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &secretmanagerpb.ListSecretsResponse{Secrets: page, NextPageToken: next, TotalSize: int32(len(all))}, nil
}

// ListSecretVersions lists a secret's versions, newest first; the filter
// may be "state:<STATE>".
func (m *secretManager) ListSecretVersions(ctx context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	r, err := m.check(ctx, req.GetParent(), RoleViewer, "secretmanager.versions.list")
	if err != nil {
		return nil, err
	}
	sec, err := m.lookup(r, "not found.")
	if err != nil {
		return nil, err
	}
	var state string
	if f := req.GetFilter(); f != "" {
		var ok bool
		if state, ok = strings.CutPrefix(f, "state:"); !ok {
			return nil, status.Errorf(codes.InvalidArgument, "Invalid filter: %s", f)
		}
	}
	m.s.mu.Lock()
	var all []*secretmanagerpb.SecretVersion
	for i := len(sec.versions) - 1; i >= 0; i-- {
		if v := sec.versions[i]; state == "" || v.state.String() == state {
			all = append(all, sec.versionProto(v))
		}
	}
	m.s.mu.Unlock()
	page, next, err := paginate(all, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &secretmanagerpb.ListSecretVersionsResponse{Versions: page, NextPageToken: next, TotalSize: int32(len(all))}, nil
}

// paginate returns one page of all; page tokens are offsets.
func paginate[T any](all []T, size int32, token string) ([]T, string, error) {
	if size <= 0 {
		size = 25
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(all) {
			return nil, "", status.Errorf(codes.InvalidArgument, "Invalid page token.")
		}
		start = n
	}
	end := min(start+int(size), len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, nil
}

// parseFilter compiles a ListSecrets filter.
func parseFilter(filter string) (func(*secret) bool, error) {
	var terms []func(*secret) bool
	for term := range strings.SplitSeq(filter, " AND ") {
		term = strings.TrimSpace(term)
		switch {
		case term == "":
		case strings.HasPrefix(term, "labels."):
			kv := strings.TrimPrefix(term, "labels.")
			i := strings.IndexAny(kv, "=:")
			if i < 1 {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid filter term: %s", term)
			}
			k, v := kv[:i], strings.Trim(kv[i+1:], `"`)
			terms = append(terms, func(sec *secret) bool { got, ok := sec.labels[k]; return ok && got == v })
		case strings.HasPrefix(term, "name:"):
			sub := strings.Trim(strings.TrimPrefix(term, "name:"), `"`)
			terms = append(terms, func(sec *secret) bool { return strings.Contains(sec.id, sub) })
		default:
			return nil, status.Errorf(codes.InvalidArgument, "Invalid filter term: %s", term)
		}
	}
	return func(sec *secret) bool {
		for _, t := range terms {
			if !t(sec) {
				return false
			}
		}
		return true
	}, nil
}
