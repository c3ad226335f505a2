package gcp

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"cloud.google.com/go/compute/metadata"
	corev1 "k8s.io/api/core/v1"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// gsaAnnotation is the ServiceAccount annotation of GKE workload identity
// that names the Google service account the ServiceAccount acts as.
const gsaAnnotation = "iam.gke.io/gcp-service-account"

// workloadIdentityAuth is GKE workload identity (auth.workloadIdentity): a
// token of serviceAccountRef with audience "<project>.svc.id.goog" is
// exchanged at STS for audience
// "identitynamespace:<project>.svc.id.goog:https://container.googleapis.com/v1/projects/<project>/locations/<location>/clusters/<name>",
// and, when the ServiceAccount carries the iam.gke.io/gcp-service-account
// annotation, the federated token is exchanged for a token of that Google
// service account.
type workloadIdentityAuth struct {
	spec    esv1.GCPWorkloadIdentity
	project string // clusterProjectID, else projectID
}

// newWorkloadIdentityAuth checks auth.workloadIdentity.
func newWorkloadIdentityAuth(spec esv1.GCPWorkloadIdentity, p *esv1.GCPSMProvider) (authMethod, error) {
	const f = field + ".auth.workloadIdentity"
	if spec.ServiceAccountRef.Name == "" {
		return nil, provider.NewConfigError(f+".serviceAccountRef.name", "is required: name the Kubernetes ServiceAccount bound to the Google service account")
	}
	project := spec.ClusterProjectID
	if project == "" {
		project = p.ProjectID
	}
	if project == "" {
		return nil, provider.NewConfigError(f+".clusterProjectID", "is empty and so is %s.projectID: set the project of the GKE cluster (its workload identity pool is <project>.svc.id.goog)", field)
	}
	if !projectPattern.MatchString(project) {
		return nil, provider.NewConfigError(f+".clusterProjectID", "%q is not a Google Cloud project ID", project)
	}
	if (spec.ClusterLocation == "") != (spec.ClusterName == "") {
		return nil, provider.NewConfigError(f, "set both clusterLocation and clusterName, or neither (then they are read from the GKE metadata server)")
	}
	return workloadIdentityAuth{spec: spec, project: project}, nil
}

// audience returns the STS audience of the cluster's identity namespace.
func audience(pool, project, location, cluster string) string {
	return fmt.Sprintf("identitynamespace:%s:https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", pool, project, location, cluster)
}

// credentials reads the ServiceAccount (for the annotation) and, when the
// cluster is not named, its location and name from the metadata server.
func (a workloadIdentityAuth) credentials(ctx context.Context, p Provider, hc *http.Client, r provider.Refs, _ *esv1.GCPSMProvider) (credentials, error) {
	const f = field + ".auth.workloadIdentity.serviceAccountRef"
	ref := a.spec.ServiceAccountRef
	ns, err := r.NamespaceFor(f, ref.Namespace)
	if err != nil {
		return credentials{}, err
	}
	sa := provider.ServiceAccount{Namespace: ns, Name: ref.Name}
	var obj corev1.ServiceAccount
	if err := r.Get(ctx, f, sa.Namespace, sa.Name, &obj); err != nil {
		return credentials{}, err
	}
	gsa := obj.Annotations[gsaAnnotation]
	if gsa != "" && !gsaPattern.MatchString(gsa) {
		return credentials{}, provider.NewConfigError(f, "the %s annotation of ServiceAccount %s is %q, not a Google service account email", gsaAnnotation, sa, gsa)
	}
	location, cluster := a.spec.ClusterLocation, a.spec.ClusterName
	if location == "" {
		if location, cluster, err = clusterFromMetadata(ctx); err != nil {
			return credentials{}, provider.NewConfigError(field+".auth.workloadIdentity", "clusterLocation and clusterName are empty and the GKE metadata server did not give them (%v): set them", err)
		}
	}
	pool := a.project + ".svc.id.goog"
	fed := federation{
		audience:       audience(pool, a.project, location, cluster),
		sa:             sa,
		tokenAudiences: append([]string{pool}, ref.Audiences...),
		impersonate:    gsa,
		member:         fmt.Sprintf("serviceAccount:%s[%s/%s]", pool, sa.Namespace, sa.Name),
		source:         fmt.Sprintf("GKE workload identity of ServiceAccount %s", sa),
	}
	return fed.credentials(p, hc, r), nil
}

// clusterFromMetadata reads the cluster's location and name from the GKE
// metadata server, as the instance attributes GKE sets on its nodes.
func clusterFromMetadata(ctx context.Context) (location, name string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if location, err = metadata.InstanceAttributeValueWithContext(ctx, "cluster-location"); err != nil {
		return "", "", err
	}
	if name, err = metadata.InstanceAttributeValueWithContext(ctx, "cluster-name"); err != nil {
		return "", "", err
	}
	return location, name, nil
}
