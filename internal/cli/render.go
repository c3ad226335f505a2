package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/secretbridge/secretbridge/api/v1"
	"github.com/secretbridge/secretbridge/internal/controller/externalsecret"
	"github.com/secretbridge/secretbridge/internal/provider"
	"github.com/secretbridge/secretbridge/internal/provider/fake"
)

// renderedKey is one key of a rendered Secret.
type renderedKey struct {
	Name  string `json:"name"`
	Size  int    `json:"size"`
	Value string `json:"value,omitempty"` // only with --reveal
}

// renderedSecret is what `render` prints.
type renderedSecret struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Type        corev1.SecretType `json:"type,omitempty"`
	Keys        []renderedKey     `json:"keys"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Interpreted []string          `json:"interpreted,omitempty"`
	Missing     int               `json:"missingEntries,omitempty"`
	Deleted     bool              `json:"wouldDelete,omitempty"`
	Source      string            `json:"source"`
}

// masked stands for a value that is not revealed.
const masked = "********"

func newRenderCommand() *cobra.Command {
	var (
		kube    kubeFlags
		file    string
		data    string
		reveal  bool
		output  string
		ctrlNS  string
		ctrlSA  string
		ctrlCls string
	)
	cmd := &cobra.Command{
		Use:   "render -f externalsecret.yaml",
		Short: "Show the Secret an ExternalSecret would produce, without writing it",
		Long: `render runs the controller's own sync code (fetch, property, decoding,
rewrite, template) for an ExternalSecret manifest and prints the target Secret
it would write: name, type, keys and sizes. Values are masked unless --reveal.

Live (the default), values are read through the store the manifest names,
in the cluster, with the identity the controller uses. Offline, --data names a
YAML file mapping each remote key to its value (a string, or a map that is
served as a JSON object, as Vault and most providers return), and no cluster
is needed unless the template uses templateFrom.`,
		Example: `  # What would this manifest produce, reading the real store?
  secretbridge render -f externalsecret.yaml -n team-a

  # Offline, with made-up provider values:
  cat > values.yaml <<EOF
  secret/data/prod/app-db:
    username: app
    password: example
  EOF
  secretbridge render -f externalsecret.yaml --data values.yaml --reveal

  # As a kubectl plugin, for tools:
  kubectl secretbridge render -f es.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if file == "" {
				return errors.New("-f is required: the ExternalSecret manifest (- for stdin)")
			}
			es, err := readExternalSecret(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var clients externalsecret.ClientFunc
			var reader client.Reader
			source := "offline values from " + data
			if data != "" {
				fc, err := offlineClient(data)
				if err != nil {
					return err
				}
				clients = func(context.Context, *esv1.SecretStoreRef) (provider.Client, error) { return fc, nil }
				if es.Namespace == "" {
					es.Namespace = "default"
				}
			} else {
				kc, _, ns, err := kube.connect()
				if err != nil {
					return err
				}
				if es.Namespace == "" || kube.namespace != "" {
					es.Namespace = ns
				}
				src := &directClients{}
				defer src.close()
				r := &externalsecret.Reconciler{Client: kc, APIReader: kc, ProviderKube: kc, Clients: src, ControllerClass: ctrlCls}
				clients, reader = r.StoreClients(es), kc
				ctx = provider.WithController(ctx, provider.Controller{Namespace: ctrlNS, ServiceAccount: ctrlSA})
				source = "live, through " + storeName(es)
			}
			prog := newProgress(cmd.ErrOrStderr())
			prog.step("fetching and shaping")
			res, err := externalsecret.Render(ctx, es, clients, reader)
			prog.done()
			if err != nil {
				return fmt.Errorf("rendering %s: %w", es.Name, err)
			}
			out := renderedFrom(es, res, reveal, source)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			return printRendered(cmd.OutOrStdout(), out, reveal)
		},
	}
	kube.add(cmd, false)
	f := cmd.Flags()
	f.StringVarP(&file, "filename", "f", "", "The ExternalSecret manifest (YAML or JSON; - reads stdin).")
	f.StringVar(&data, "data", "", "Render offline: a YAML file mapping remote keys to values (strings or maps).")
	f.BoolVar(&reveal, "reveal", false, "Print the values (they are masked by default).")
	f.StringVarP(&output, "output", "o", "text", "Output format: text or json.")
	f.StringVar(&ctrlNS, "controller-namespace", os.Getenv("SECRETBRIDGE_CONTROLLER_NAMESPACE"), "The controller's namespace, for stores that authenticate as the controller.")
	f.StringVar(&ctrlSA, "controller-service-account", os.Getenv("SECRETBRIDGE_CONTROLLER_SERVICE_ACCOUNT"), "The controller's ServiceAccount.")
	f.StringVar(&ctrlCls, "controller-class", "", "The controller's --controller-class.")
	return cmd
}

// storeName names the ExternalSecret's store for messages.
func storeName(es *esv1.ExternalSecret) string {
	if es.Spec.SecretStoreRef == nil {
		return "no store"
	}
	return string(es.Spec.SecretStoreRef.KindOrDefault()) + " " + es.Spec.SecretStoreRef.Name
}

// readExternalSecret decodes a manifest (external-secrets.io v1 or v1beta1:
// one schema).
func readExternalSecret(path string, stdin io.Reader) (*esv1.ExternalSecret, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var es esv1.ExternalSecret
	if err := yaml.Unmarshal(raw, &es); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if es.Kind != "" && es.Kind != "ExternalSecret" {
		return nil, fmt.Errorf("%s holds a %s, not an ExternalSecret", path, es.Kind)
	}
	if es.Name == "" {
		return nil, fmt.Errorf("%s: metadata.name is empty", path)
	}
	return &es, nil
}

// offlineClient serves the values of a --data file through the fake
// provider: each remote key maps to a string, or to a map served as JSON.
func offlineClient(path string) (provider.Client, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	store := &esv1.SecretStore{}
	store.Spec.Provider.Fake = &esv1.FakeProvider{Data: []esv1.FakeProviderData{}}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		var v string
		switch val := values[key].(type) {
		case string:
			v = val
		default:
			b, err := json.Marshal(val)
			if err != nil {
				return nil, fmt.Errorf("%s: key %q: %w", path, key, err)
			}
			v = string(b)
		}
		store.Spec.Provider.Fake.Data = append(store.Spec.Provider.Fake.Data, esv1.FakeProviderData{Key: key, Value: v})
	}
	return fake.Provider{}.NewClient(context.Background(), store, nil, "")
}

// directClients builds provider clients without a cache (one command run)
// and closes them at the end.
type directClients struct {
	mu      sync.Mutex
	clients []provider.Client
}

// Get builds a client for store.
func (d *directClients) Get(ctx context.Context, store provider.Store, kube client.Client, namespace string) (provider.Client, error) {
	p, _, err := provider.ForStore(store.StoreSpec())
	if err != nil {
		return nil, err
	}
	c, err := p.NewClient(ctx, store, kube, namespace)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.clients = append(d.clients, c)
	d.mu.Unlock()
	return c, nil
}

// close closes every client built (revoking Vault tokens it created).
func (d *directClients) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range d.clients {
		_ = c.Close(ctx)
	}
}

// renderedFrom builds the printable result; values only with reveal.
func renderedFrom(es *esv1.ExternalSecret, res *externalsecret.Rendered, reveal bool, source string) renderedSecret {
	out := renderedSecret{Namespace: es.Namespace, Name: res.Name, Type: res.Type, Labels: res.Labels, Annotations: res.Annotations,
		Interpreted: res.Warnings, Missing: res.Missing, Deleted: res.Deleted, Source: source, Keys: []renderedKey{}}
	// The data hash is derived from the values; it is left out so that
	// nothing about them leaks without --reveal.
	delete(out.Annotations, esv1.AnnotationDataHash)
	for _, k := range slices.Sorted(maps.Keys(res.Data)) {
		rk := renderedKey{Name: k, Size: len(res.Data[k])}
		if reveal {
			rk.Value = string(res.Data[k])
		}
		out.Keys = append(out.Keys, rk)
	}
	return out
}

// printRendered prints the rendered Secret as text.
func printRendered(w io.Writer, r renderedSecret, reveal bool) error {
	if r.Deleted {
		_, err := fmt.Fprintf(w, "Secret %s/%s would be deleted: no remote data is left (deletionPolicy Delete)\n", r.Namespace, r.Name)
		return err
	}
	fmt.Fprintf(w, "Secret %s/%s (type %s, %d keys; %s)\n", r.Namespace, r.Name, r.Type, len(r.Keys), r.Source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  KEY\tSIZE\tVALUE")
	for _, k := range r.Keys {
		v := masked
		if reveal {
			v = k.Value
		}
		fmt.Fprintf(tw, "  %s\t%d B\t%s\n", k.Name, k.Size, v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printMap := func(title string, m map[string]string) {
		if len(m) == 0 {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "%s:\n", title)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s=%s\n", k, m[k])
		}
	}
	printMap("labels", r.Labels)
	printMap("annotations", r.Annotations)
	for _, i := range r.Interpreted {
		fmt.Fprintf(w, "interpreted: %s\n", i)
	}
	if r.Missing > 0 {
		fmt.Fprintf(w, "%d entries skipped: their remote secret does not exist (deletionPolicy allows it)\n", r.Missing)
	}
	if !reveal {
		_, err := fmt.Fprintln(w, "Values are masked; add --reveal to print them.")
		return err
	}
	return nil
}
