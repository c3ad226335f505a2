package aws

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// parameterStore reads Systems Manager Parameter Store.
type parameterStore struct {
	c   *Client
	api *ssm.Client
}

// name returns the parameter name for key: the store's prefix and the key,
// or the key alone when it is an ARN.
func (b *parameterStore) name(key string) string {
	if strings.HasPrefix(key, "arn:") {
		return key
	}
	return b.c.prefix + key
}

// get reads GetParameter with decryption (version appended as
// "name:version", a version number or a label) or, under metadataPolicy
// Fetch, ListTagsForResource.
func (b *parameterStore) get(ctx context.Context, ref esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	name := b.name(ref.Key)
	if ref.MetadataPolicyOrDefault() == esv1.MetadataPolicyFetch {
		tags, err := b.tags(ctx, ref.Key, name)
		if err != nil {
			return nil, err
		}
		return json.Marshal(tags)
	}
	selector := name
	if ref.Version != "" {
		selector += ":" + ref.Version
	}
	out, err := b.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(selector), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, b.c.wrapError(err, call{action: "ssm:GetParameter", key: ref.Key, id: name, version: ref.Version})
	}
	if out.Parameter == nil {
		return nil, &provider.NotFoundError{Key: ref.Key, Detail: "GetParameter answered without a parameter"}
	}
	return []byte(aws.ToString(out.Parameter.Value)), nil
}

// tags returns a parameter's tags (ssm:ListTagsForResource).
func (b *parameterStore) tags(ctx context.Context, key, name string) (map[string]string, error) {
	out, err := b.api.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter,
		ResourceId:   aws.String(name),
	})
	if err != nil {
		return nil, b.c.wrapError(err, call{action: "ssm:ListTagsForResource", key: key, id: name})
	}
	tags := make(map[string]string, len(out.TagList))
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// hierarchy returns the GetParametersByPath path for a find path: the path
// without a trailing slash, "/" for none.
func hierarchy(path string) string {
	if p := strings.TrimSuffix(path, "/"); p != "" {
		return p
	}
	return "/"
}

// find reads every parameter under m.path (a hierarchy; "/" when empty)
// with GetParametersByPath (recursive, decrypted) and keeps those whose
// name matches; with find.tags it reads each candidate's tags with
// ListTagsForResource.
func (b *parameterStore) find(ctx context.Context, m finder) (map[string][]byte, error) {
	if m.path != "" && !strings.HasPrefix(m.path, "/") {
		return nil, provider.NewConfigError("dataFrom[].find.path", "%q (after the store's prefix) is not a Parameter Store hierarchy: it must start with /", m.path)
	}
	path := hierarchy(m.path)
	out := map[string][]byte{}
	pages := ssm.NewGetParametersByPathPaginator(b.api, &ssm.GetParametersByPathInput{
		Path:           aws.String(path),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(10),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, b.c.wrapError(err, call{action: "ssm:GetParametersByPath", id: path})
		}
		for _, p := range page.Parameters {
			name := aws.ToString(p.Name)
			if !m.matchName(name) {
				continue
			}
			if len(m.tags) > 0 {
				tags, err := b.tags(ctx, name, name)
				if err != nil {
					return nil, err
				}
				if !m.matchTags(tags) {
					continue
				}
			}
			out[name] = []byte(aws.ToString(p.Value))
		}
	}
	return out, nil
}

// probe reads one parameter of the prefix's hierarchy
// (ssm:GetParametersByPath).
func (b *parameterStore) probe(ctx context.Context) error {
	path := "/"
	if p := b.c.prefix; strings.HasPrefix(p, "/") {
		path = hierarchy(p[:strings.LastIndex(p, "/")+1])
	}
	_, err := b.api.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String(path), MaxResults: aws.Int32(1)})
	return b.c.wrapError(err, call{action: "ssm:GetParametersByPath", id: path})
}
