package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The version notation of remoteRef.version for Secrets Manager.
const (
	// stageCurrent is the staging label read when no version is given.
	stageCurrent = "AWSCURRENT"
	// versionIDPrefix marks a version ID ("uuid/<id>") rather than a
	// staging label.
	versionIDPrefix = "uuid/"
	// batchSize is the most secrets one BatchGetSecretValue call reads.
	batchSize = 20
)

// secretsManager reads AWS Secrets Manager.
type secretsManager struct {
	c   *Client
	api *secretsmanager.Client
}

// id returns the SecretId for key: the store's prefix and the key, or the
// key alone when it is an ARN.
func (b *secretsManager) id(key string) string {
	if strings.HasPrefix(key, "arn:") {
		return key
	}
	return b.c.prefix + key
}

// get reads GetSecretValue (version: empty = AWSCURRENT, "uuid/<id>" = a
// version ID, else a staging label) or, under metadataPolicy Fetch,
// DescribeSecret's tags.
func (b *secretsManager) get(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	id := b.id(ref.Key)
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		out, err := b.api.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, b.c.wrapError(err, call{action: "secretsmanager:DescribeSecret", key: ref.Key, id: id})
		}
		tags := make(map[string]string, len(out.Tags))
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return json.Marshal(tags)
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	switch v := ref.Version; {
	case v == "":
		in.VersionStage = aws.String(stageCurrent)
	case strings.HasPrefix(v, versionIDPrefix):
		vid := strings.TrimPrefix(v, versionIDPrefix)
		if vid == "" {
			return nil, provider.NewConfigError("remoteRef.version", "%q names no version ID: write uuid/<version ID>, or a staging label such as AWSPREVIOUS", v)
		}
		in.VersionId = aws.String(vid)
	default:
		in.VersionStage = aws.String(v)
	}
	out, err := b.api.GetSecretValue(ctx, in)
	if err != nil {
		return nil, b.c.wrapError(err, call{action: "secretsmanager:GetSecretValue", key: ref.Key, id: id, version: ref.Version})
	}
	value, ok := payload(out.SecretString, out.SecretBinary)
	if !ok {
		return nil, fmt.Errorf("secret %q (%s) has neither SecretString nor SecretBinary in version %s", ref.Key, aws.ToString(out.ARN), aws.ToString(out.VersionId))
	}
	return value, nil
}

// filterValue is what ListSecrets accepts as a filter value; other values
// are matched by the client only.
var filterValue = regexp.MustCompile(`^[a-zA-Z0-9 :_@/+=.-]{1,512}$`)

// filters returns the ListSecrets filters that narrow m on the server:
// name (a prefix) for the path, tag-key and tag-value for the tags. They
// are prefix matches, so m is applied again to what comes back.
func filters(m finder) []smtypes.Filter {
	var out []smtypes.Filter
	if filterValue.MatchString(m.path) {
		out = append(out, smtypes.Filter{Key: smtypes.FilterNameStringTypeName, Values: []string{m.path}})
	}
	for _, k := range slices.Sorted(maps.Keys(m.tags)) {
		if filterValue.MatchString(k) {
			out = append(out, smtypes.Filter{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{k}})
		}
		if v := m.tags[k]; filterValue.MatchString(v) {
			out = append(out, smtypes.Filter{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{v}})
		}
	}
	return out
}

// find lists the secrets m matches with ListSecrets (narrowed by server
// filters, then matched exactly) and reads their current values with
// BatchGetSecretValue, 20 at a time. A secret deleted between the two
// calls is left out; any other per-secret error fails the find.
func (b *secretsManager) find(ctx context.Context, m finder) (map[string][]byte, error) {
	var matched []smtypes.SecretListEntry
	pages := secretsmanager.NewListSecretsPaginator(b.api, &secretsmanager.ListSecretsInput{Filters: filters(m), MaxResults: aws.Int32(100)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, b.c.wrapError(err, call{action: "secretsmanager:ListSecrets", id: m.path})
		}
		for _, e := range page.SecretList {
			tags := make(map[string]string, len(e.Tags))
			for _, t := range e.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if m.matchName(aws.ToString(e.Name)) && m.matchTags(tags) {
				matched = append(matched, e)
			}
		}
	}
	out := make(map[string][]byte, len(matched))
	var failed []error
	for chunk := range slices.Chunk(matched, batchSize) {
		ids := make([]string, 0, len(chunk))
		names := make(map[string]string, len(chunk))
		for _, e := range chunk {
			ids = append(ids, aws.ToString(e.ARN))
			names[aws.ToString(e.ARN)] = aws.ToString(e.Name)
		}
		res, err := b.api.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
		if err != nil {
			return nil, b.c.wrapError(err, call{action: "secretsmanager:BatchGetSecretValue", id: m.path})
		}
		for _, v := range res.SecretValues {
			if value, ok := payload(v.SecretString, v.SecretBinary); ok {
				out[aws.ToString(v.Name)] = value
			}
		}
		for _, e := range res.Errors {
			id := aws.ToString(e.SecretId)
			name := names[id]
			if name == "" {
				name = id
			}
			apiErr := &smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.Message)}
			err := b.c.wrapError(apiErr, call{action: "secretsmanager:GetSecretValue", key: name, id: id})
			if provider.IsNotFound(err) {
				continue
			}
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%d of the %d secrets that match could not be read; the first: %w", len(failed), len(matched), failed[0])
	}
	return out, nil
}

// probe lists one secret (secretsmanager:ListSecrets).
func (b *secretsManager) probe(ctx context.Context) error {
	in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(1)}
	if filterValue.MatchString(b.c.prefix) {
		in.Filters = []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{b.c.prefix}}}
	}
	_, err := b.api.ListSecrets(ctx, in)
	return b.c.wrapError(err, call{action: "secretsmanager:ListSecrets", id: b.c.prefix})
}
