package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
)

// syncSettle is how long sync waits for a new outcome of an ExternalSecret
// that was already failing before it reports that it still fails: a failed
// sync that fails the same way leaves status unchanged, so there is nothing
// newer to wait for.
const syncSettle = 3 * time.Second

// syncResult is the outcome for one ExternalSecret.
type syncResult struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	OK        bool          `json:"ok"`
	Took      time.Duration `json:"tookNanoseconds"`
	Reason    string        `json:"reason,omitempty"`
	Message   string        `json:"message,omitempty"`
}

func newSyncCommand() *cobra.Command {
	var (
		kube     kubeFlags
		selector string
		timeout  time.Duration
		output   string
	)
	cmd := &cobra.Command{
		Use:   "sync [es/NAME ...]",
		Short: "Refresh ExternalSecrets now and wait for the outcome",
		Long: `sync sets the force-sync annotation (` + esv1.AnnotationForceSync + `) on each
ExternalSecret, which makes the controller fetch and write at once, then waits
until the controller reports the outcome. It prints one line per object with
the time from the request to Ready, and exits non-zero if any failed or timed
out.`,
		Example: `  # One ExternalSecret:
  secretbridge sync es/database-credentials -n team-a

  # Everything labelled app=billing in every namespace, waiting at most 2 minutes:
  kubectl secretbridge sync -A -l app=billing --timeout 2m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if len(args) == 0 && selector == "" && !kube.allNamespaces {
				return errors.New("name ExternalSecrets (es/NAME), or select them with -l or -A")
			}
			kc, _, ns, err := kube.connect()
			if err != nil {
				return err
			}
			keys, err := syncTargets(cmd.Context(), kc, ns, args, selector, kube.allNamespaces)
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				return errors.New("no ExternalSecret matches")
			}
			prog := newProgress(cmd.ErrOrStderr())
			prog.step(fmt.Sprintf("syncing %d ExternalSecret(s)", len(keys)))
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			results := make([]syncResult, len(keys))
			var wg sync.WaitGroup
			for i, key := range keys {
				wg.Go(func() { results[i] = syncOne(ctx, kc, key) })
			}
			wg.Wait()
			prog.done()
			out := cmd.OutOrStdout()
			if output == "json" {
				err = writeJSON(out, results)
			} else {
				err = printSyncResults(out, results, style{on: isTerminal(out)})
			}
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if !r.OK {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d ExternalSecret(s) did not sync", failed, len(results))
			}
			return nil
		},
	}
	kube.add(cmd, true)
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Label selector, for example app=billing.")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait for the outcome.")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	return cmd
}

// syncTargets lists the ExternalSecrets to sync.
func syncTargets(ctx context.Context, kc client.Client, ns string, args []string, selector string, all bool) ([]types.NamespacedName, error) {
	var keys []types.NamespacedName
	for _, a := range args {
		ref, err := parseRef(a, "ExternalSecret")
		if err != nil {
			return nil, err
		}
		keys = append(keys, types.NamespacedName{Namespace: ns, Name: ref.name})
	}
	if len(args) > 0 {
		return keys, nil
	}
	var opts []client.ListOption
	if !all {
		opts = append(opts, client.InNamespace(ns))
	}
	if selector != "" {
		sel, err := parseSelector(selector)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	var list esv1.ExternalSecretList
	if err := kc.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing ExternalSecrets: %w", err)
	}
	for _, es := range list.Items {
		keys = append(keys, types.NamespacedName{Namespace: es.Namespace, Name: es.Name})
	}
	return keys, nil
}

// syncOne requests a sync of one ExternalSecret and waits for its outcome:
// success when syncedResourceVersion changes (it hashes the annotations,
// so only a sync of the annotated object sets the new value), failure when
// Ready turns False with a new reason or message, or stays False for
// syncSettle.
func syncOne(ctx context.Context, kc client.WithWatch, key types.NamespacedName) syncResult {
	res := syncResult{Namespace: key.Namespace, Name: key.Name}
	start := time.Now()
	var es esv1.ExternalSecret
	if err := kc.Get(ctx, key, &es); err != nil {
		res.Reason, res.Message = "NotFound", err.Error()
		return res
	}
	if es.Spec.RefreshPolicyOrDefault() == esv1.RefreshPolicyCreatedOnce && es.Status.RefreshTime != nil {
		res.Reason, res.Message = "CreatedOnce", "refreshPolicy CreatedOnce never syncs again after the first sync; delete the target Secret to have it recreated"
		return res
	}
	before := es.Status.SyncedResourceVersion
	beforeReady := readyOf(&es)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		esv1.AnnotationForceSync: start.UTC().Format(time.RFC3339Nano),
	}}})
	if err := kc.Patch(ctx, &es, client.RawPatch(types.MergePatchType, patch)); err != nil {
		res.Reason, res.Message = "PatchFailed", fmt.Sprintf("setting %s: %v", esv1.AnnotationForceSync, err)
		return res
	}
	// Watch from the patched version on, so no status change is missed
	// and the time to Ready is measured to the event, not to a poll.
	w, err := kc.Watch(ctx, &esv1.ExternalSecretList{}, client.InNamespace(key.Namespace),
		client.MatchingFields{"metadata.name": key.Name}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: es.ResourceVersion}})
	if err != nil {
		res.Reason, res.Message = "WatchFailed", err.Error()
		return res
	}
	defer w.Stop()
	settle := time.NewTimer(syncSettle)
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			res.Took = time.Since(start)
			res.Reason = "Timeout"
			res.Message = "the controller reported no outcome in time; is it running? (secretbridge doctor es/" + key.Name + ")"
			if c := readyOf(&es); c != nil {
				res.Message += fmt.Sprintf("; last Ready=%s %s: %s", c.Status, c.Reason, c.Message)
			}
			return res
		case <-settle.C:
			// A failure that repeats itself leaves status as it was.
			if c := readyOf(&es); c != nil && c.Status == corev1.ConditionFalse && es.Status.SyncedResourceVersion == before {
				res.Took = time.Since(start)
				res.Reason, res.Message = c.Reason, c.Message
				return res
			}
		case ev, open := <-w.ResultChan():
			if !open {
				res.Took, res.Reason, res.Message = time.Since(start), "WatchClosed", "the API server closed the watch; run sync again"
				return res
			}
			obj, isES := ev.Object.(*esv1.ExternalSecret)
			if !isES {
				continue
			}
			es = *obj
			res.Took = time.Since(start)
			c := readyOf(&es)
			switch {
			case es.Status.SyncedResourceVersion != before && es.Status.SyncedResourceVersion != "":
				res.OK = true
				if c != nil {
					res.Reason = c.Reason
				}
				return res
			case c != nil && c.Status == corev1.ConditionFalse && (beforeReady == nil || beforeReady.Status != c.Status || beforeReady.Message != c.Message):
				res.Reason, res.Message = c.Reason, c.Message
				return res
			}
		}
	}
}

// readyOf returns a copy of the Ready condition, or nil.
func readyOf(es *esv1.ExternalSecret) *esv1.ExternalSecretStatusCondition {
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ConditionReady {
			return &c
		}
	}
	return nil
}

// printSyncResults prints one line per object.
func printSyncResults(w io.Writer, results []syncResult, s style) error {
	var err error
	for _, r := range results {
		took := r.Took.Round(time.Millisecond)
		if r.OK {
			_, err = fmt.Fprintf(w, "%s %s/%s synced in %s\n", s.green("✓"), r.Namespace, r.Name, took)
		} else {
			_, err = fmt.Fprintf(w, "%s %s/%s failed after %s: %s: %s\n", s.red("✗"), r.Namespace, r.Name, took, r.Reason, r.Message)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
