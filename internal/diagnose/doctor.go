package diagnose

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller/externalsecret"
	"github.com/secretbridge/secretbridge/internal/controller/secretstore"
	"github.com/secretbridge/secretbridge/internal/manager"
	"github.com/secretbridge/secretbridge/internal/provider"
)

// Scheme returns the types the checks read: the controller's scheme plus
// CRDs and Leases.
func Scheme() *runtime.Scheme {
	s := manager.Scheme()
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(coordinationv1.AddToScheme(s))
	return s
}

// Doctor runs the checks against one cluster.
type Doctor struct {
	// Kube reads the cluster (uncached), requests ServiceAccount tokens and
	// reads credential Secrets, with the user's kubeconfig identity. Its
	// scheme must include Scheme().
	Kube client.Client
	// Controller is the controller's own identity, which stores may
	// authenticate as. Zero: discovered from the controller's pod.
	Controller provider.Controller
	// ControllerClass is the spec.controller value of the stores the
	// controller serves ("" for the default).
	ControllerClass string
	// Progress, when set, is told which check runs (for a spinner).
	Progress func(step string)
}

func (d *Doctor) progress(step string) {
	if d.Progress != nil {
		d.Progress(step)
	}
}

// crdNames are the CRDs the controller needs.
var crdNames = []string{
	"externalsecrets.external-secrets.io",
	"secretstores.external-secrets.io",
	"clustersecretstores.external-secrets.io",
	"clusterexternalsecrets.external-secrets.io",
}

// checkCRDs checks that the CRDs are installed, established and serve v1.
func (d *Doctor) checkCRDs(ctx context.Context) Check {
	d.progress("checking the CRDs")
	for _, name := range crdNames {
		var crd apiextensionsv1.CustomResourceDefinition
		err := d.Kube.Get(ctx, client.ObjectKey{Name: name}, &crd)
		switch {
		case apierrors.IsNotFound(err):
			return fail("crds", "CRD "+name+" is not installed",
				"the external-secrets.io API is not installed in this cluster",
				"install secretbridge (helm install secretbridge …) or apply config/crd/bases")
		case apierrors.IsForbidden(err):
			return warn("crds", "cannot read CRDs (forbidden)", "your kubeconfig identity may not read customresourcedefinitions, so this was not checked", "")
		case err != nil:
			return fail("crds", "reading CRD "+name+" failed", err.Error(), "check the --kubeconfig and --context")
		}
		established := false
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		served := slices.ContainsFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool { return v.Name == "v1" && v.Served })
		if !established || !served {
			return fail("crds", "CRD "+name+" is not serving v1",
				fmt.Sprintf("established=%t, v1 served=%t", established, served),
				"reinstall the CRDs of this secretbridge version (apply config/crd/bases)")
		}
	}
	return ok("crds", "external-secrets.io CRDs installed, v1 served")
}

// controllerPodLabel selects the controller's pods (set by the Helm chart).
const controllerPodLabel = "app.kubernetes.io/name=secretbridge"

// checkController looks for a running controller: its pods, else its
// leader-election Lease, else evidence that statuses are being written
// (seen: the diagnosed object's conditions). It fills d.Controller from the
// pod when it was not given.
func (d *Doctor) checkController(ctx context.Context, seen []metav1.Time) Check {
	d.progress("looking for the controller")
	var pods corev1.PodList
	sel, _ := metav1.ParseToLabelSelector(controllerPodLabel)
	ls, _ := metav1.LabelSelectorAsSelector(sel)
	if err := d.Kube.List(ctx, &pods, client.MatchingLabelsSelector{Selector: ls}); err == nil {
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning {
				continue
			}
			if d.Controller.Namespace == "" {
				d.Controller = provider.Controller{Namespace: p.Namespace, ServiceAccount: p.Spec.ServiceAccountName}
			}
			image := ""
			if len(p.Spec.Containers) > 0 {
				image = p.Spec.Containers[0].Image
			}
			c := ok("controller", "running: pod %s/%s (%s)", p.Namespace, p.Name, image)
			c.Details = append(c.Details, fmt.Sprintf("ServiceAccount %s/%s, controller class %q", p.Namespace, p.Spec.ServiceAccountName, d.ControllerClass))
			return c
		}
	}
	var leases coordinationv1.LeaseList
	if err := d.Kube.List(ctx, &leases); err == nil {
		for _, l := range leases.Items {
			if l.Name != "secretbridge-controller" || l.Spec.RenewTime == nil {
				continue
			}
			age := time.Since(l.Spec.RenewTime.Time)
			if age < 2*time.Minute {
				holder := ""
				if l.Spec.HolderIdentity != nil {
					holder = *l.Spec.HolderIdentity
				}
				return ok("controller", "running: leader %s (Lease %s/%s renewed %s ago)", holder, l.Namespace, l.Name, age.Round(time.Second))
			}
		}
	}
	var latest time.Time
	for _, t := range seen {
		if t.After(latest) {
			latest = t.Time
		}
	}
	if !latest.IsZero() {
		return warn("controller", "no controller pod found; statuses were written "+age(latest)+" ago",
			"no pod labelled "+controllerPodLabel+" runs, but a controller wrote this object's status (it may run outside the cluster)", "")
	}
	return warn("controller", "no running controller found",
		"no pod labelled "+controllerPodLabel+" runs and nothing has written a status yet",
		"install or start the controller (helm install secretbridge …, or `secretbridge controller`)")
}

// age formats how long ago t was, coarsely.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// ExternalSecret diagnoses one ExternalSecret.
func (d *Doctor) ExternalSecret(ctx context.Context, namespace, name string) *Report {
	r := &Report{Object: "es/" + namespace + "/" + name, OK: true}
	if !r.add(d.checkCRDs(ctx)) {
		return r
	}
	var es esv1.ExternalSecret
	if err := d.Kube.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &es); err != nil {
		diag := err.Error()
		if apierrors.IsNotFound(err) {
			diag = fmt.Sprintf("there is no ExternalSecret %q in namespace %q", name, namespace)
		}
		r.add(fail("object", "ExternalSecret not found", diag, "check the name and -n/--namespace (kubectl get es -A)"))
		return r
	}
	var seen []metav1.Time
	for _, c := range es.Status.Conditions {
		seen = append(seen, c.LastTransitionTime)
	}
	if es.Status.RefreshTime != nil {
		seen = append(seen, *es.Status.RefreshTime)
	}
	if !r.add(d.checkController(ctx, seen)) {
		return r
	}
	ref := es.Spec.SecretStoreRef
	if ref == nil || ref.Name == "" {
		r.add(fail("store", "spec.secretStoreRef is empty", "the ExternalSecret names no store", "set spec.secretStoreRef.name (and kind)"))
		return r
	}
	store, c := d.getStore(ctx, string(ref.KindOrDefault()), namespace, ref.Name)
	if !r.add(c) {
		return r
	}
	if !r.addAll(d.storeChecks(ctx, store, namespace)) {
		return r
	}
	pc := d.connect(ctx, store, namespace)
	defer pc.close()
	if !r.addAll(pc.checks) {
		return r
	}
	if !r.addAll(d.refChecks(ctx, &es, store, pc)) {
		return r
	}
	r.addAll(d.targetChecks(ctx, &es))
	return r
}

// Store diagnoses a SecretStore (kind SecretStore, in namespace) or a
// ClusterSecretStore (namespace: the ExternalSecret namespace to resolve
// referent credentials in, may be empty).
func (d *Doctor) Store(ctx context.Context, kind, namespace, name string) *Report {
	prefix := "store/" + namespace + "/"
	if kind == string(esv1.SecretStoreKindClusterSecretStore) {
		prefix = "clusterstore/"
	}
	r := &Report{Object: prefix + name, OK: true}
	if !r.add(d.checkCRDs(ctx)) {
		return r
	}
	store, c := d.getStore(ctx, kind, namespace, name)
	if !r.add(c) {
		return r
	}
	var seen []metav1.Time
	for _, c := range store.StoreStatus().Conditions {
		seen = append(seen, c.LastTransitionTime)
	}
	if !r.add(d.checkController(ctx, seen)) {
		return r
	}
	if !r.addAll(d.storeChecks(ctx, store, "")) {
		return r
	}
	referent := ""
	if kind == string(esv1.SecretStoreKindClusterSecretStore) {
		referent = namespace
	}
	pc := d.connect(ctx, store, referent)
	r.addAll(pc.checks)
	pc.close()
	return r
}

// addAll records checks up to the first failure and reports whether the
// checks may go on.
func (r *Report) addAll(cs []Check) bool {
	for _, c := range cs {
		if !r.add(c) {
			return false
		}
	}
	return true
}

// getStore reads a store.
func (d *Doctor) getStore(ctx context.Context, kind, namespace, name string) (provider.Store, Check) {
	d.progress("reading the store")
	var store provider.Store
	key := client.ObjectKey{Name: name}
	where := "in the cluster"
	if kind == string(esv1.SecretStoreKindClusterSecretStore) {
		store = &esv1.ClusterSecretStore{}
	} else {
		store = &esv1.SecretStore{}
		key.Namespace = namespace
		where = "in namespace " + namespace
	}
	if err := d.Kube.Get(ctx, key, store); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fail("store", fmt.Sprintf("%s %q not found %s", kind, name, where),
				fmt.Sprintf("the ExternalSecret refers to %s %q, which does not exist %s", kind, name, where),
				"create the store, or fix spec.secretStoreRef (name, and kind: SecretStore or ClusterSecretStore)")
		}
		return nil, fail("store", "reading "+kind+" "+name+" failed", err.Error(), "")
	}
	return store, ok("store", "%s %q found", kind, name)
}

// storeChecks checks the store's class, whether namespace (the
// ExternalSecret's, "" for none) may use it, and its Ready condition.
func (d *Doctor) storeChecks(ctx context.Context, store provider.Store, namespace string) []Check {
	var out []Check
	if cls := store.StoreSpec().Controller; cls != d.ControllerClass {
		return append(out, fail("class", fmt.Sprintf("store class %q, controller class %q", cls, d.ControllerClass),
			fmt.Sprintf("%s %q sets spec.controller %q, so a controller of class %q ignores it and its ExternalSecrets", store.StoreKind(), store.GetName(), cls, d.ControllerClass),
			"remove spec.controller from the store, or run the controller with --controller-class "+cls+" (doctor: --controller-class)"))
	}
	if css, isCluster := store.(*esv1.ClusterSecretStore); isCluster && namespace != "" {
		allowed, err := externalsecret.NamespaceAllowed(ctx, d.Kube, css, namespace)
		switch {
		case err != nil:
			return append(out, fail("namespace", "evaluating spec.conditions failed", err.Error(), "fix the ClusterSecretStore's spec.conditions"))
		case !allowed:
			return append(out, fail("namespace", fmt.Sprintf("namespace %q may not use ClusterSecretStore %q", namespace, css.Name),
				fmt.Sprintf("ClusterSecretStore %q has spec.conditions, and none admits namespace %q (%s)", css.Name, namespace, describeConditions(css.Spec.Conditions)),
				fmt.Sprintf("add %q to spec.conditions[].namespaces (or a matching namespaceSelector/namespaceRegexes), or use another store", namespace)))
		default:
			out = append(out, ok("namespace", "namespace %q may use ClusterSecretStore %q", namespace, css.Name))
		}
	}
	cond := secretstore.ReadyCondition(store.StoreStatus())
	switch {
	case cond == nil:
		out = append(out, warn("ready", "the store has no Ready condition yet", "no controller has validated it yet", ""))
	case cond.Status != corev1.ConditionTrue:
		// Not a failure here: the network and authentication checks
		// below pin down why, more precisely than the condition.
		out = append(out, warn("ready", fmt.Sprintf("store not Ready (%s)", cond.Reason), cond.Message, ""))
	default:
		out = append(out, ok("ready", "store Ready (%s)", cond.Message))
	}
	return out
}

// describeConditions summarises ClusterSecretStore conditions.
func describeConditions(cs []esv1.ClusterSecretStoreCondition) string {
	var parts []string
	for _, c := range cs {
		if len(c.Namespaces) > 0 {
			parts = append(parts, "namespaces "+strings.Join(c.Namespaces, ","))
		}
		if len(c.NamespaceRegexes) > 0 {
			parts = append(parts, "namespaceRegexes "+strings.Join(c.NamespaceRegexes, ","))
		}
		if c.NamespaceSelector != nil {
			s, _ := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
			parts = append(parts, "namespaceSelector "+s.String())
		}
	}
	return strings.Join(parts, "; ")
}

// targetChecks looks at the target Secret: present, managed, owned by
// whom, edited elsewhere.
func (d *Doctor) targetChecks(ctx context.Context, es *esv1.ExternalSecret) []Check {
	d.progress("checking the target Secret")
	target := es.Spec.TargetOrDefault()
	name := target.NameOrDefault(es.Name)
	policy := target.CreationPolicyOrDefault()
	var s corev1.Secret
	err := d.Kube.Get(ctx, client.ObjectKey{Namespace: es.Namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		if policy == esv1.CreatePolicyMerge {
			return []Check{fail("target", fmt.Sprintf("Secret %q does not exist", name),
				"creationPolicy Merge only adds keys to an existing Secret", "create the Secret, or use creationPolicy Owner or Orphan")}
		}
		if policy == esv1.CreatePolicyNone {
			return []Check{ok("target", "creationPolicy None: no Secret is written")}
		}
		return []Check{d.readyCheck(es, ok("target", "Secret %q does not exist yet; a sync creates it", name))}
	case err != nil:
		return []Check{warn("target", "cannot read Secret "+name, err.Error(), "")}
	}
	if err := externalsecret.CheckOwnable(es, &s); err != nil {
		owner := "nothing (not managed by secretbridge)"
		if o := metav1.GetControllerOf(&s); o != nil {
			owner = fmt.Sprintf("%s %q", o.Kind, o.Name)
		}
		return []Check{fail("target", fmt.Sprintf("Secret %q is controlled by %s", name, owner), err.Error(),
			fmt.Sprintf("give this ExternalSecret another spec.target.name, use creationPolicy Merge, or (if the Secret is yours to replace) annotate the ExternalSecret with %s=true", externalsecret.AnnotationAdopt))}
	}
	managed := s.Labels[esv1.LabelManaged] == esv1.LabelManagedValue
	owner := "no owner"
	if o := metav1.GetControllerOf(&s); o != nil {
		owner = fmt.Sprintf("owned by %s %q", o.Kind, o.Name)
	}
	c := ok("target", "Secret %q exists, %d keys, %s, managed=%t", name, len(s.Data), owner, managed)
	if s.Annotations[esv1.AnnotationDataHash] != "" && !externalsecret.TargetIntact(es, &s) {
		c = warn("target", fmt.Sprintf("Secret %q was modified outside secretbridge", name),
			"its data no longer matches the data-hash annotation secretbridge wrote", "nothing: the next sync restores it (secretbridge sync es/"+es.Name+" to do it now)")
	}
	return []Check{d.readyCheck(es, c)}
}

// readyCheck adds the ExternalSecret's own Ready condition to the target
// check's details.
func (d *Doctor) readyCheck(es *esv1.ExternalSecret, c Check) Check {
	for _, cond := range es.Status.Conditions {
		if cond.Type == esv1.ConditionReady {
			c.Details = append(c.Details, fmt.Sprintf("ExternalSecret Ready=%s (%s): %s", cond.Status, cond.Reason, cond.Message))
		}
	}
	return c
}

// errString returns err's message, or "".
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// isConfig reports whether err is a spec problem.
func isConfig(err error) (*provider.ConfigError, bool) {
	var ce *provider.ConfigError
	return ce, errors.As(err, &ce)
}
