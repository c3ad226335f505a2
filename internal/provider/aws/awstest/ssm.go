package awstest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parameter is a parameter version to put on the server.
type Parameter struct {
	// Name is the parameter's name, e.g. "/prod/db/password".
	Name string
	// Value is the version's value.
	Value string
	// Type is String (the default), StringList or SecureString.
	Type string
	// Tags, when not nil, replace the parameter's tags.
	Tags map[string]string
	// Labels are attached to this version (and removed from others).
	Labels []string
}

// parameter is a stored parameter.
type parameter struct {
	name     string
	tags     map[string]string
	versions []*paramVersion // oldest first
}

// paramVersion is one version of a parameter.
type paramVersion struct {
	version  int64
	typ      string
	value    string
	labels   []string
	modified time.Time
}

// PutParameter creates the parameter or adds a version to it and returns
// the version number.
func (s *Server) PutParameter(in Parameter) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[in.Name]
	if p == nil {
		p = &parameter{name: in.Name, tags: map[string]string{}}
		s.params[in.Name] = p
	}
	if in.Tags != nil {
		p.tags = maps.Clone(in.Tags)
	}
	typ := in.Type
	if typ == "" {
		typ = "String"
	}
	v := &paramVersion{version: int64(len(p.versions) + 1), typ: typ, value: in.Value, modified: s.now()}
	for _, l := range in.Labels {
		for _, old := range p.versions {
			old.labels = slices.DeleteFunc(old.labels, func(x string) bool { return x == l })
		}
		v.labels = append(v.labels, l)
	}
	p.versions = append(p.versions, v)
	return v.version
}

// ParameterARN returns the ARN of the parameter name.
func (s *Server) ParameterARN(name string) string {
	if strings.HasPrefix(name, "/") {
		return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", s.Region, s.AccountID, name)
	}
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", s.Region, s.AccountID, name)
}

// The SSM wire shapes.
type (
	ssmParameter struct {
		Name             string
		Type             string
		Value            string
		Version          int64
		Selector         string `json:",omitempty"`
		LastModifiedDate float64
		ARN              string
		DataType         string
	}
	ssmTag struct {
		Key   string
		Value string
	}
)

// ssmOp serves one SSM operation.
func (s *Server) ssmOp(op string, caller *principal, body json.RawMessage) (any, *apiError) {
	switch op {
	case OpGetParameter:
		var in struct {
			Name           string
			WithDecryption bool
		}
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.getParameter(caller, in.Name, in.WithDecryption)
	case OpGetParametersByPath:
		var in struct {
			Path           string
			Recursive      bool
			WithDecryption bool
			MaxResults     int
			NextToken      string
		}
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.getParametersByPath(caller, in.Path, in.Recursive, in.WithDecryption, in.MaxResults, in.NextToken)
	case OpListTagsForResource:
		var in struct{ ResourceType, ResourceId string }
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.listTagsForResource(caller, in.ResourceType, in.ResourceId)
	default:
		return nil, newError(http.StatusBadRequest, "UnknownOperationException", "")
	}
}

// parameterNameLocked returns the name a GetParameter Name (a name or an
// ARN, either with an optional ":version" or ":label" selector) refers to,
// and the selector.
func (s *Server) parameterNameLocked(in string) (name, selector string) {
	if i := strings.LastIndex(in, ":"); i > 0 && !strings.HasSuffix(in[:i], ":parameter") && !strings.Contains(in[i:], "/") {
		in, selector = in[:i], in[i:]
	}
	if rest, ok := strings.CutPrefix(in, fmt.Sprintf("arn:aws:ssm:%s:%s:parameter", s.Region, s.AccountID)); ok {
		// The ARN of "/a/b" is …:parameter/a/b and that of "a" is
		// …:parameter/a: prefer a hierarchical parameter that exists.
		if _, exists := s.params[rest]; exists || strings.Count(rest, "/") > 1 {
			return rest, selector
		}
		return strings.TrimPrefix(rest, "/"), selector
	}
	return in, selector
}

// wire returns a parameter version in the wire shape.
func (s *Server) wire(p *parameter, v *paramVersion, decrypt bool, selector string) ssmParameter {
	value := v.value
	if v.typ == "SecureString" && !decrypt {
		sum := sha256.Sum256([]byte(v.value))
		value = "AQICAHh" + base64.StdEncoding.EncodeToString(sum[:])
	}
	return ssmParameter{
		Name:             p.name,
		Type:             v.typ,
		Value:            value,
		Version:          v.version,
		Selector:         selector,
		LastModifiedDate: epoch(v.modified),
		ARN:              s.ParameterARN(p.name),
		DataType:         "text",
	}
}

// getParameter serves GetParameter.
func (s *Server) getParameter(caller *principal, in string, decrypt bool) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, selector := s.parameterNameLocked(in)
	if err := authorize(caller, "ssm:GetParameter", s.ParameterARN(name)); err != nil {
		return nil, err
	}
	p := s.params[name]
	if p == nil {
		return nil, newError(http.StatusBadRequest, "ParameterNotFound", "")
	}
	v := p.versions[len(p.versions)-1]
	if selector != "" {
		sel := strings.TrimPrefix(selector, ":")
		v = nil
		n, numErr := strconv.ParseInt(sel, 10, 64)
		for _, cand := range p.versions {
			if (numErr == nil && cand.version == n) || (numErr != nil && slices.Contains(cand.labels, sel)) {
				v = cand
			}
		}
		if v == nil {
			if numErr == nil {
				return nil, newError(http.StatusBadRequest, "ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", n, name)
			}
			return nil, newError(http.StatusBadRequest, "ParameterVersionNotFound", "Systems Manager could not find label %s of %s. Verify the label and try again.", sel, name)
		}
	}
	return map[string]any{"Parameter": s.wire(p, v, decrypt, selector)}, nil
}

// getParametersByPath serves GetParametersByPath: the latest version of
// each parameter under path (direct children, or all descendants when
// recursive), sorted by name.
func (s *Server) getParametersByPath(caller *principal, path string, recursive, decrypt bool, maxResults int, token string) (any, *apiError) {
	if !strings.HasPrefix(path, "/") {
		return nil, newError(http.StatusBadRequest, "ValidationException",
			"The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\" if it includes a forward slash (\"/\"). Path: %s", path)
	}
	if maxResults == 0 {
		maxResults = 10
	}
	if maxResults < 1 || maxResults > 10 {
		return nil, newError(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10", maxResults)
	}
	base := strings.TrimSuffix(path, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := authorize(caller, "ssm:GetParametersByPath", s.ParameterARN(base)); err != nil {
		return nil, err
	}
	var matched []*parameter
	for _, name := range slices.Sorted(maps.Keys(s.params)) {
		rest, ok := strings.CutPrefix(name, base+"/")
		if !ok || rest == "" || (!recursive && strings.Contains(rest, "/")) {
			continue
		}
		matched = append(matched, s.params[name])
	}
	ps, next, err := page(matched, token, maxResults)
	if err != nil {
		return nil, err
	}
	list := make([]ssmParameter, 0, len(ps))
	for _, p := range ps {
		list = append(list, s.wire(p, p.versions[len(p.versions)-1], decrypt, ""))
	}
	out := map[string]any{"Parameters": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// listTagsForResource serves ListTagsForResource for parameters.
func (s *Server) listTagsForResource(caller *principal, typ, id string) (any, *apiError) {
	if typ != "Parameter" {
		return nil, newError(http.StatusBadRequest, "InvalidResourceType", "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, _ := s.parameterNameLocked(id)
	if err := authorize(caller, "ssm:ListTagsForResource", s.ParameterARN(name)); err != nil {
		return nil, err
	}
	p := s.params[name]
	if p == nil {
		return nil, newError(http.StatusBadRequest, "InvalidResourceId", "")
	}
	tags := make([]ssmTag, 0, len(p.tags))
	for _, k := range slices.Sorted(maps.Keys(p.tags)) {
		tags = append(tags, ssmTag{Key: k, Value: p.tags[k]})
	}
	return map[string]any{"TagList": tags}, nil
}
