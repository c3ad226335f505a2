package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// The ServiceAccount annotations EKS's IAM Roles for Service Accounts use.
const (
	// roleAnnotation names the role a ServiceAccount's token may assume.
	roleAnnotation = "eks.amazonaws.com/role-arn"
	// audienceAnnotation overrides the token's audience.
	audienceAnnotation = "eks.amazonaws.com/audience"
	// defaultAudience is the audience STS expects by default.
	defaultAudience = "sts.amazonaws.com"
)

// jwtAuth exchanges a ServiceAccount token for AWS credentials
// (auth.jwt.serviceAccountRef), as IAM Roles for Service Accounts does:
// a token requested with the TokenRequest API (audience from the
// eks.amazonaws.com/audience annotation, else sts.amazonaws.com, plus
// serviceAccountRef.audiences) is passed to AssumeRoleWithWebIdentity for
// the role in the eks.amazonaws.com/role-arn annotation. Without that
// annotation, spec.provider.aws.role is the web identity role itself.
//
// The ServiceAccount is read when the client is built; tokens are requested
// only when the SDK's credentials cache refreshes the session (about once
// an hour), not per read.
type jwtAuth struct {
	spec esv1.AWSJWTAuth
}

// newJWTAuth checks auth.jwt.
func newJWTAuth(spec esv1.AWSJWTAuth) (authMethod, error) {
	if spec.ServiceAccountRef == nil || spec.ServiceAccountRef.Name == "" {
		return nil, provider.NewConfigError(field+".auth.jwt.serviceAccountRef.name", "is required: name the ServiceAccount whose token is exchanged for AWS credentials")
	}
	return jwtAuth{spec: spec}, nil
}

// session reads the ServiceAccount and returns a session whose
// credentials come from AssumeRoleWithWebIdentity.
func (a jwtAuth) session(ctx context.Context, p Provider, base aws.Config, r refs, spec *esv1.AWSProvider) (session, error) {
	const f = field + ".auth.jwt.serviceAccountRef"
	ref := a.spec.ServiceAccountRef
	ns, err := r.namespaceFor(f, ref.Namespace)
	if err != nil {
		return session{}, err
	}
	sa := serviceAccount{Namespace: ns, Name: ref.Name}
	obj, err := r.getServiceAccount(ctx, f, sa)
	if err != nil {
		return session{}, err
	}
	role, roleAssumed := obj.Annotations[roleAnnotation], false
	switch {
	case role != "" && !roleARNPattern.MatchString(role):
		return session{}, provider.NewConfigError(f, "the %s annotation of ServiceAccount %s is %q, not an IAM role ARN", roleAnnotation, sa, role)
	case role == "" && spec.Role == "":
		return session{}, provider.NewConfigError(f, "ServiceAccount %s has no %s annotation and %s.role is empty: annotate the ServiceAccount with the IAM role its token may assume, or set role", sa, roleAnnotation, field)
	case role == "":
		role, roleAssumed = spec.Role, true
		if spec.ExternalID != "" || len(spec.SessionTags) > 0 || len(spec.TransitiveTagKeys) > 0 || spec.SessionTagsPolicyOrDefault() != esv1.AWSSessionTagsPolicyNone {
			return session{}, provider.NewConfigError(f, "ServiceAccount %s has no %s annotation, so role is assumed with AssumeRoleWithWebIdentity, which takes no externalID or session tags: annotate the ServiceAccount with the role its token may assume and keep role for the AssumeRole that carries them", sa, roleAnnotation)
		}
	}
	audiences := []string{defaultAudience}
	if aud := obj.Annotations[audienceAnnotation]; aud != "" {
		audiences = []string{aud}
	}
	audiences = append(audiences, ref.Audiences...)
	wi := &webIdentityProvider{
		sts:       sts.NewFromConfig(base),
		role:      role,
		sa:        sa,
		audiences: audiences,
		token:     r.requestToken,
	}
	if roleAssumed {
		wi.field = field + ".role"
	} else {
		wi.field = fmt.Sprintf("the %s annotation of ServiceAccount %s", roleAnnotation, sa)
	}
	base.Credentials = p.cached(wi)
	return session{
		cfg:         base,
		source:      fmt.Sprintf("ServiceAccount %s via AssumeRoleWithWebIdentity on %s", sa, role),
		roleAssumed: roleAssumed,
		roles:       []string{role},
	}, nil
}

// webIdentityProvider requests a ServiceAccount token and exchanges it with
// AssumeRoleWithWebIdentity (an unsigned STS call).
type webIdentityProvider struct {
	sts       *sts.Client
	role      string
	field     string
	sa        serviceAccount
	audiences []string
	token     func(ctx context.Context, sa serviceAccount, audiences []string) (string, error)
}

// Retrieve returns fresh credentials for the role.
func (p *webIdentityProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	fail := func(err error, tokenStep bool) (aws.Credentials, error) {
		return aws.Credentials{}, &RoleError{
			Role: p.role, Field: p.field, Action: "sts:AssumeRoleWithWebIdentity", Caller: "ServiceAccount " + p.sa.String(),
			sa: &p.sa, tokenStep: tokenStep, audiences: p.audiences, Err: err,
		}
	}
	tok, err := p.token(ctx, p.sa, p.audiences)
	if err != nil {
		return fail(err, true)
	}
	out, err := p.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(p.role),
		RoleSessionName:  aws.String(sessionName),
		WebIdentityToken: aws.String(tok),
		DurationSeconds:  aws.Int32(int32(sessionDuration / time.Second)),
	})
	if err != nil {
		return fail(err, false)
	}
	return credentialsOf(out.Credentials, "AssumeRoleWithWebIdentity")
}
