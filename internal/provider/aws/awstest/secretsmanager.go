package awstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The staging labels Secrets Manager manages.
const (
	// StageCurrent labels the version reads get by default.
	StageCurrent = "AWSCURRENT"
	// StagePrevious labels the version that was current before.
	StagePrevious = "AWSPREVIOUS"
)

// Secret is a secret version to put on the server.
type Secret struct {
	// Name is the secret's name.
	Name string
	// String is the version's SecretString (ignored when Binary is set).
	String string
	// Binary is the version's SecretBinary.
	Binary []byte
	// Tags, when not nil, replace the secret's tags.
	Tags map[string]string
	// Description, when not empty, replaces the secret's description.
	Description string
	// VersionID is the version's ID. When empty, a random UUID.
	VersionID string
	// Stages are the version's staging labels. When empty, AWSCURRENT.
	// Moving AWSCURRENT to this version moves AWSPREVIOUS to the version
	// that was current, as PutSecretValue does.
	Stages []string
}

// secret is a stored secret.
type secret struct {
	name, arn, description string
	tags                   map[string]string
	versions               []*secretVersion // oldest first
	created, changed       time.Time
	deleted                time.Time
}

// secretVersion is one version of a secret.
type secretVersion struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// PutSecret creates the secret or adds a version to it and returns the
// secret's ARN and the version's ID.
func (s *Server) PutSecret(in Secret) (arn, versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	sec := s.secrets[in.Name]
	if sec == nil {
		sec = &secret{
			name:    in.Name,
			arn:     fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.Region, s.AccountID, in.Name, randomAlnum(6)),
			tags:    map[string]string{},
			created: now,
		}
		s.secrets[in.Name] = sec
	}
	sec.changed = now
	if in.Tags != nil {
		sec.tags = maps.Clone(in.Tags)
	}
	if in.Description != "" {
		sec.description = in.Description
	}
	v := &secretVersion{id: in.VersionID, created: now}
	if v.id == "" {
		v.id = newUUID()
	}
	if in.Binary != nil {
		v.bin = slices.Clone(in.Binary)
	} else {
		str := in.String
		v.str = &str
	}
	stages := in.Stages
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	for _, st := range stages {
		for _, old := range sec.versions {
			if !slices.Contains(old.stages, st) {
				continue
			}
			old.stages = slices.DeleteFunc(old.stages, func(x string) bool { return x == st })
			if st == StageCurrent {
				for _, o := range sec.versions {
					o.stages = slices.DeleteFunc(o.stages, func(x string) bool { return x == StagePrevious })
				}
				old.stages = append(old.stages, StagePrevious)
			}
		}
		v.stages = append(v.stages, st)
	}
	sec.versions = append(sec.versions, v)
	return sec.arn, v.id
}

// DeleteSecret schedules the secret for deletion: reads then fail with
// InvalidRequestException and ListSecrets leaves it out.
func (s *Server) DeleteSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		sec.deleted = s.now()
	}
}

// SecretARN returns the ARN of the secret name, or "" if there is none.
func (s *Server) SecretARN(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		return sec.arn
	}
	return ""
}

// findSecretLocked finds a secret by name, ARN or partial ARN (the ARN
// without its random suffix).
func (s *Server) findSecretLocked(id string) *secret {
	if sec := s.secrets[id]; sec != nil {
		return sec
	}
	if !strings.HasPrefix(id, "arn:") {
		return nil
	}
	for _, sec := range s.secrets {
		if sec.arn == id || sec.arn[:len(sec.arn)-7] == id {
			return sec
		}
	}
	return nil
}

// secretResource is the ARN a policy is checked against for id.
func (s *Server) secretResource(sec *secret, id string) string {
	switch {
	case sec != nil:
		return sec.arn
	case strings.HasPrefix(id, "arn:"):
		return id
	default:
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", s.Region, s.AccountID, id)
	}
}

// epoch is a timestamp as AWS JSON protocols send it: seconds since the
// epoch, with milliseconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// The Secrets Manager wire shapes.
type (
	smTag struct {
		Key   string
		Value string
	}
	smFilter struct {
		Key    string
		Values []string
	}
	smSecretValue struct {
		ARN           string
		Name          string
		VersionId     string
		SecretString  *string `json:",omitempty"`
		SecretBinary  []byte  `json:",omitempty"`
		VersionStages []string
		CreatedDate   float64
	}
	smListEntry struct {
		ARN                    string
		Name                   string
		Description            string              `json:",omitempty"`
		Tags                   []smTag             `json:",omitempty"`
		SecretVersionsToStages map[string][]string `json:",omitempty"`
		CreatedDate            float64
		LastChangedDate        float64
		DeletedDate            *float64 `json:",omitempty"`
	}
	smAPIError struct {
		SecretId  string
		ErrorCode string
		Message   string
	}
)

// secretsManagerOp serves one Secrets Manager operation.
func (s *Server) secretsManagerOp(op string, caller *principal, body json.RawMessage) (any, *apiError) {
	switch op {
	case OpGetSecretValue:
		var in struct{ SecretId, VersionId, VersionStage string }
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.getSecretValue(caller, in.SecretId, in.VersionId, in.VersionStage)
	case OpDescribeSecret:
		var in struct{ SecretId string }
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.describeSecret(caller, in.SecretId)
	case OpListSecrets:
		var in struct {
			Filters                []smFilter
			MaxResults             int
			NextToken              string
			IncludePlannedDeletion bool
		}
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.listSecrets(caller, in.Filters, in.MaxResults, in.NextToken, in.IncludePlannedDeletion)
	case OpBatchGetSecretValue:
		var in struct {
			SecretIdList []string
			Filters      []smFilter
			MaxResults   int
			NextToken    string
		}
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return s.batchGetSecretValue(caller, in.SecretIdList, in.Filters, in.MaxResults, in.NextToken)
	default:
		return nil, newError(http.StatusBadRequest, "UnknownOperationException", "")
	}
}

// decode unmarshals a JSON request body.
func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return newError(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	return nil
}

// errSecretNotFound is Secrets Manager's answer for a secret that does not
// exist.
func errSecretNotFound() *apiError {
	return newError(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

// getSecretValue serves GetSecretValue.
func (s *Server) getSecretValue(caller *principal, id, versionID, stage string) (any, *apiError) {
	if id == "" {
		return nil, newError(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.findSecretLocked(id)
	if err := authorize(caller, "secretsmanager:GetSecretValue", s.secretResource(sec, id)); err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, errSecretNotFound()
	}
	if !sec.deleted.IsZero() {
		return nil, newError(http.StatusBadRequest, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
	}
	v, err := sec.version(versionID, stage)
	if err != nil {
		return nil, err
	}
	return sec.value(v), nil
}

// version selects a version by ID and/or staging label (AWSCURRENT when
// neither is given).
func (sec *secret) version(versionID, stage string) (*secretVersion, *apiError) {
	if versionID != "" {
		for _, v := range sec.versions {
			if v.id != versionID {
				continue
			}
			if stage != "" && !slices.Contains(v.stages, stage) {
				return nil, newError(http.StatusBadRequest, "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId.")
			}
			return v, nil
		}
		return nil, newError(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: %s", versionID)
	}
	if stage == "" {
		stage = StageCurrent
	}
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stage) {
			return v, nil
		}
	}
	return nil, newError(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
}

// value returns a version in the GetSecretValue shape.
func (sec *secret) value(v *secretVersion) smSecretValue {
	return smSecretValue{
		ARN:           sec.arn,
		Name:          sec.name,
		VersionId:     v.id,
		SecretString:  v.str,
		SecretBinary:  v.bin,
		VersionStages: slices.Clone(v.stages),
		CreatedDate:   epoch(v.created),
	}
}

// tagList returns the secret's tags sorted by key.
func (sec *secret) tagList() []smTag {
	var out []smTag
	for _, k := range slices.Sorted(maps.Keys(sec.tags)) {
		out = append(out, smTag{Key: k, Value: sec.tags[k]})
	}
	return out
}

// listEntry returns the secret in the ListSecrets/DescribeSecret shape.
func (sec *secret) listEntry() smListEntry {
	e := smListEntry{
		ARN:                    sec.arn,
		Name:                   sec.name,
		Description:            sec.description,
		Tags:                   sec.tagList(),
		SecretVersionsToStages: map[string][]string{},
		CreatedDate:            epoch(sec.created),
		LastChangedDate:        epoch(sec.changed),
	}
	for _, v := range sec.versions {
		if len(v.stages) > 0 {
			e.SecretVersionsToStages[v.id] = slices.Clone(v.stages)
		}
	}
	if !sec.deleted.IsZero() {
		d := epoch(sec.deleted)
		e.DeletedDate = &d
	}
	return e
}

// describeSecret serves DescribeSecret.
func (s *Server) describeSecret(caller *principal, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.findSecretLocked(id)
	if err := authorize(caller, "secretsmanager:DescribeSecret", s.secretResource(sec, id)); err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, errSecretNotFound()
	}
	e := sec.listEntry()
	out := map[string]any{
		"ARN":                e.ARN,
		"Name":               e.Name,
		"VersionIdsToStages": e.SecretVersionsToStages,
		"CreatedDate":        e.CreatedDate,
		"LastChangedDate":    e.LastChangedDate,
	}
	if e.Description != "" {
		out["Description"] = e.Description
	}
	if len(e.Tags) > 0 {
		out["Tags"] = e.Tags
	}
	if e.DeletedDate != nil {
		out["DeletedDate"] = *e.DeletedDate
	}
	return out, nil
}

// The filter keys ListSecrets accepts.
var filterKeys = []string{"description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"}

// checkFilters validates ListSecrets/BatchGetSecretValue filters.
func checkFilters(filters []smFilter) *apiError {
	for i, f := range filters {
		if !slices.Contains(filterKeys, f.Key) {
			return newError(http.StatusBadRequest, "ValidationException",
				"1 validation error detected: Value '%s' at 'filters.%d.member.key' failed to satisfy constraint: Member must satisfy enum value set: [%s]", f.Key, i+1, strings.Join(filterKeys, ", "))
		}
		if len(f.Values) == 0 || len(f.Values) > 10 {
			return newError(http.StatusBadRequest, "ValidationException",
				"1 validation error detected: Value at 'filters.%d.member.values' failed to satisfy constraint: Member must have length between 1 and 10", i+1)
		}
	}
	return nil
}

// matches reports whether the secret passes every filter (filters are
// ANDed, a filter's values ORed). name, tag-key and tag-value are
// case-sensitive prefix matches of the whole name, key or value;
// description and all match the beginning of words, ignoring case; a value
// starting with "!" negates.
func (sec *secret) matches(filters []smFilter) bool {
	for _, f := range filters {
		ok := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			v = strings.TrimPrefix(v, "!")
			if sec.matchesValue(f.Key, v) != neg {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchesValue reports whether one filter value matches the secret.
func (sec *secret) matchesValue(key, v string) bool {
	switch key {
	case "name":
		return strings.HasPrefix(sec.name, v)
	case "tag-key":
		for k := range sec.tags {
			if strings.HasPrefix(k, v) {
				return true
			}
		}
	case "tag-value":
		for _, tv := range sec.tags {
			if strings.HasPrefix(tv, v) {
				return true
			}
		}
	case "description":
		return wordPrefix(sec.description, v)
	case "all":
		for w := range strings.FieldsSeq(v) {
			if wordPrefix(sec.name, w) || wordPrefix(sec.description, w) {
				return true
			}
			for k, tv := range sec.tags {
				if wordPrefix(k, w) || wordPrefix(tv, w) {
					return true
				}
			}
		}
	}
	return false
}

// wordPrefix reports whether a word of s (split at anything but letters
// and digits) starts with prefix, ignoring case.
func wordPrefix(s, prefix string) bool {
	prefix = strings.ToLower(prefix)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if strings.HasPrefix(strings.ToLower(w), prefix) {
			return true
		}
	}
	return false
}

// selectSecretsLocked returns the secrets that pass filters, sorted by name.
func (s *Server) selectSecretsLocked(filters []smFilter, includeDeleted bool) []*secret {
	var out []*secret
	for _, name := range slices.Sorted(maps.Keys(s.secrets)) {
		sec := s.secrets[name]
		if !sec.deleted.IsZero() && !includeDeleted {
			continue
		}
		if sec.matches(filters) {
			out = append(out, sec)
		}
	}
	return out
}

// page cuts items at the offset NextToken encodes and returns the page
// and the next token.
func page[T any](items []T, token string, size int) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", newError(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// listSecrets serves ListSecrets.
func (s *Server) listSecrets(caller *principal, filters []smFilter, maxResults int, token string, includeDeleted bool) (any, *apiError) {
	if err := authorize(caller, "secretsmanager:ListSecrets", "*"); err != nil {
		return nil, err
	}
	if err := checkFilters(filters); err != nil {
		return nil, err
	}
	if maxResults == 0 {
		maxResults = 100
	}
	if maxResults < 1 || maxResults > 100 {
		return nil, newError(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", maxResults)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secs, next, err := page(s.selectSecretsLocked(filters, includeDeleted), token, maxResults)
	if err != nil {
		return nil, err
	}
	list := make([]smListEntry, 0, len(secs))
	for _, sec := range secs {
		list = append(list, sec.listEntry())
	}
	out := map[string]any{"SecretList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// batchGetSecretValue serves BatchGetSecretValue: the AWSCURRENT value of
// each listed secret, or of each secret that passes filters.
func (s *Server) batchGetSecretValue(caller *principal, ids []string, filters []smFilter, maxResults int, token string) (any, *apiError) {
	if err := authorize(caller, "secretsmanager:BatchGetSecretValue", "*"); err != nil {
		return nil, err
	}
	if (len(ids) == 0) == (len(filters) == 0) {
		return nil, newError(http.StatusBadRequest, "InvalidParameterException", "Either SecretIdList or Filters must be specified, but not both.")
	}
	if len(ids) > 20 {
		return nil, newError(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: Member must have length less than or equal to 20")
	}
	if len(ids) > 0 && (maxResults != 0 || token != "") {
		return nil, newError(http.StatusBadRequest, "InvalidParameterException", "MaxResults and NextToken can be specified only with Filters.")
	}
	out := map[string]any{}
	var values []smSecretValue
	var errs []smAPIError
	s.mu.Lock()
	defer s.mu.Unlock()
	type item struct {
		id  string
		sec *secret
	}
	var items []item
	if len(ids) > 0 {
		for _, id := range ids {
			items = append(items, item{id: id, sec: s.findSecretLocked(id)})
		}
	} else {
		if err := authorize(caller, "secretsmanager:ListSecrets", "*"); err != nil {
			return nil, err
		}
		if err := checkFilters(filters); err != nil {
			return nil, err
		}
		if maxResults == 0 {
			maxResults = 20
		}
		if maxResults < 1 || maxResults > 20 {
			return nil, newError(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 20", maxResults)
		}
		secs, next, err := page(s.selectSecretsLocked(filters, false), token, maxResults)
		if err != nil {
			return nil, err
		}
		for _, sec := range secs {
			items = append(items, item{id: sec.name, sec: sec})
		}
		if next != "" {
			out["NextToken"] = next
		}
	}
	for _, it := range items {
		if err := authorize(caller, "secretsmanager:GetSecretValue", s.secretResource(it.sec, it.id)); err != nil {
			errs = append(errs, smAPIError{SecretId: it.id, ErrorCode: err.code, Message: err.message})
			continue
		}
		if it.sec == nil {
			e := errSecretNotFound()
			errs = append(errs, smAPIError{SecretId: it.id, ErrorCode: e.code, Message: e.message})
			continue
		}
		if !it.sec.deleted.IsZero() {
			errs = append(errs, smAPIError{SecretId: it.id, ErrorCode: "InvalidRequestException", Message: "You can't perform this operation on the secret because it was marked for deletion."})
			continue
		}
		v, err := it.sec.version("", StageCurrent)
		if err != nil {
			errs = append(errs, smAPIError{SecretId: it.id, ErrorCode: err.code, Message: err.message})
			continue
		}
		values = append(values, it.sec.value(v))
	}
	out["SecretValues"] = values
	if len(errs) > 0 {
		out["Errors"] = errs
	}
	return out, nil
}
