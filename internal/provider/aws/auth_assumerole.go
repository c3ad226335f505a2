package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The session tags sessionTagsPolicy Simple adds.
const (
	tagNamespace = "esoNamespace"
	tagStoreName = "esoStoreName"
	tagStoreKind = "esoStoreKind"
)

// assumeRoles chains AssumeRole calls on top of the auth method's session,
// in upstream's order: each of additionalRoles, then role (which alone
// carries externalID and the session tags). A role the auth method already
// assumed (jwt without the role annotation) is not assumed again.
func (p Provider) assumeRoles(sess session, spec *esv1.AWSProvider, store provider.Store, namespace string) session {
	for i, role := range spec.AdditionalRoles {
		sess = p.assume(sess, &assumeRoleProvider{role: role, field: fmt.Sprintf("%s.additionalRoles[%d]", field, i)})
	}
	if spec.Role != "" && !sess.roleAssumed {
		ap := &assumeRoleProvider{role: spec.Role, field: field + ".role", externalID: spec.ExternalID, transitive: spec.TransitiveTagKeys}
		tags := sessionTags(spec, store, namespace)
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			ap.tags = append(ap.tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		sess = p.assume(sess, ap)
	}
	return sess
}

// sessionTags returns the tags of the role session: sessionTags, plus
// esoNamespace, esoStoreName and esoStoreKind under sessionTagsPolicy
// Simple, or customSessionTags under Custom.
func sessionTags(spec *esv1.AWSProvider, store provider.Store, namespace string) map[string]string {
	tags := map[string]string{}
	for _, t := range spec.SessionTags {
		tags[t.Key] = t.Value
	}
	switch spec.SessionTagsPolicyOrDefault() {
	case esv1.AWSSessionTagsPolicySimple:
		ns := store.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		if ns != "" {
			tags[tagNamespace] = ns
		}
		tags[tagStoreName] = store.GetName()
		tags[tagStoreKind] = store.StoreKind()
	case esv1.AWSSessionTagsPolicyCustom:
		maps.Copy(tags, spec.CustomSessionTags)
	}
	return tags
}

// assume returns sess with its credentials replaced by those of ap's role,
// assumed with sess's credentials.
func (p Provider) assume(sess session, ap *assumeRoleProvider) session {
	ap.sts = sts.NewFromConfig(sess.cfg)
	ap.caller = sess.describe()
	next := sess
	next.cfg = sess.cfg.Copy()
	next.cfg.Credentials = p.cached(ap)
	next.roles = append(slices.Clone(sess.roles), ap.role)
	return next
}

// describe says who a session's credentials belong to, in words.
func (s session) describe() string {
	if len(s.roles) == 0 {
		return s.source
	}
	return fmt.Sprintf("role %s (from %s)", s.roles[len(s.roles)-1], s.source)
}

// assumeRoleProvider assumes one role with sts:AssumeRole.
type assumeRoleProvider struct {
	sts        *sts.Client
	role       string
	field      string
	caller     string
	externalID string
	tags       []ststypes.Tag
	transitive []string
}

// Retrieve returns fresh credentials for the role.
func (p *assumeRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:           aws.String(p.role),
		RoleSessionName:   aws.String(sessionName),
		DurationSeconds:   aws.Int32(int32(sessionDuration / time.Second)),
		Tags:              p.tags,
		TransitiveTagKeys: p.transitive,
	}
	if p.externalID != "" {
		in.ExternalId = aws.String(p.externalID)
	}
	out, err := p.sts.AssumeRole(ctx, in)
	if err != nil {
		var inner *RoleError
		if errors.As(err, &inner) {
			// The credentials of the caller (an earlier role) failed.
			return aws.Credentials{}, err
		}
		return aws.Credentials{}, &RoleError{Role: p.role, Field: p.field, Action: "sts:AssumeRole", Caller: p.caller, externalID: p.externalID != "", tagged: len(p.tags) > 0, Err: err}
	}
	return credentialsOf(out.Credentials, "AssumeRole")
}

// credentialsOf converts STS credentials.
func credentialsOf(c *ststypes.Credentials, source string) (aws.Credentials, error) {
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
		return aws.Credentials{}, fmt.Errorf("%s answered without credentials", source)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          source,
		CanExpire:       c.Expiration != nil,
		Expires:         aws.ToTime(c.Expiration),
	}, nil
}
