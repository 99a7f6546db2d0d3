package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/render"
	"github.com/gitgate/gitgate/webhook"
)

// checkOptions are the flags of `gitgate check`.
type checkOptions struct {
	source     sourceOptions
	kube       kubeFlags
	identities identityOptions

	files     []string
	oldFile   string
	as        string
	asGroups  []string
	operation string
	output    string

	compare compareOptions
	mode    string
	// denialHint and browseURL are serve's --denial-hint and
	// --repo-browse-url, so the text is the webhook's.
	denialHint, browseURL string
}

func newCheckCmd() *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check (--local DIR | --repo-url URL --branch B | --source flux --local DIR) -f FILE --as USER [--operation create|update|delete] [--old FILE]",
		Short: "Give the webhook's verdict on objects, offline",
		Long: `Give the webhook's verdict on objects, offline: the same decision code and
the same text as gitgate serve, over a source read from a directory or a
Git repository, per object. Exit code 0 when all are allowed, 1 when any
is denied (or has a kind gitgate cannot place offline), 2 on a usage error.

Without a cluster, scope comes from the built-in kinds and the CRDs in the
source. A person's create of an object Git declares is denied with
defaults-unknown: the webhook holds it to the API server's dry-run
defaults, which check cannot learn.

With --source flux, --local DIR is read as Flux would apply it (see
gitgate render --help): every Kustomization and HelmRelease it declares
is a root, every GitRepository is DIR unless --local-source names one,
and a root that fails to render makes the exit code 1 whatever the
verdicts.`,
		Example: `  kubectl get deployment web -n shop -o yaml > live.yaml
  gitgate check --local . -f web.yaml --old live.yaml --operation update --as alice
  gitgate check --repo-url https://git.example.com/fleet.git --branch main -f extra.yaml --as alice -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			return o.run(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	o.source.BindFlags(fs)
	o.kube.bindConfig(fs)
	o.kube.bindNamespace(fs, "Namespace of namespaced objects that name none; default the kubeconfig context's, else default.")
	fs.StringArrayVarP(&o.files, "filename", "f", nil, "File, directory (its *.yaml, *.yml and *.json) or - for stdin, holding the objects of the request; repeatable. kubectl get -o yaml output (a List) works.")
	fs.StringVar(&o.oldFile, "old", "", "With --operation update: file, directory or - holding the objects as they are now (kubectl get -o yaml), matched by kind, namespace and name.")
	fs.StringVar(&o.as, "as", "", "User who sends the request. Required.")
	fs.StringArrayVar(&o.asGroups, "as-group", nil, "Group of the user; repeatable. system:authenticated is added, as the API server does.")
	fs.StringVar(&o.operation, "operation", "create", "create, update or delete.")
	fs.StringVarP(&o.output, "output", "o", "text", "text or json.")
	fs.StringVar(&o.mode, "mode", string(webhook.Enforce), "As serve's --mode: enforce, warn or audit; a Namespace's gitgate.dev/mode label in the source overrides it.")
	o.compare.BindFlags(fs, clientCompareUsage)
	fs.StringVar(&o.denialHint, "denial-hint", "", "As serve's --denial-hint: text that ends every denial.")
	fs.StringVar(&o.browseURL, "repo-browse-url", "", "As serve's --repo-browse-url: a template of links to files in your Git host's web view.")
	o.identities.BindFlags(fs)
	return cmd
}

// Validate reports every usage error at once.
func (o *checkOptions) Validate() error {
	errs := []error{o.source.Validate(), o.identities.Validate()}
	if len(o.files) == 0 {
		errs = append(errs, errors.New("-f is required: the objects to check"))
	}
	if o.as == "" {
		errs = append(errs, errors.New("--as is required: gitgate judges people, controllers and agents differently"))
	}
	switch o.operation {
	case "create", "delete":
		if o.oldFile != "" {
			errs = append(errs, fmt.Errorf("--old is for --operation update, not %s", o.operation))
		}
	case "update":
		if o.oldFile == "" {
			errs = append(errs, errors.New("--operation update needs --old: the objects as they are now"))
		}
		if o.oldFile == "-" && containsString(o.files, "-") {
			errs = append(errs, errors.New("-f - and --old - cannot both read stdin"))
		}
	default:
		errs = append(errs, fmt.Errorf("--operation must be create, update or delete, got %q", o.operation))
	}
	if o.output != "text" && o.output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", o.output))
	}
	if _, err := webhook.ParseMode(o.mode); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	errs = append(errs, o.compare.Validate())
	return errors.Join(errs...)
}

func (o *checkOptions) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	reqs, err := o.requests(stdin)
	if err != nil {
		return failed(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	src, err := o.source.load(ctx, nil)
	if err != nil {
		return failed(err)
	}
	warnUnresolved(stderr, src.Snapshot, unknownOffline)
	src.warnRoots(stderr)
	j, err := o.judge(src)
	if err != nil {
		return failed(err)
	}
	verdicts := make([]checkVerdict, len(reqs))
	allowed := true
	for i, r := range reqs {
		verdicts[i] = j.decide(ctx, r)
		allowed = allowed && verdicts[i].Allowed
	}
	if err := writeVerdicts(stdout, o.output, verdicts); err != nil {
		return failed(err)
	}
	// A root that failed declares nothing: a verdict may rest on its
	// absence, so the command fails whatever the verdicts.
	if err := src.rootsFailed(); err != nil {
		return failed(err)
	}
	if !allowed {
		return errSilentFailure
	}
	return nil
}

// judge builds the webhook's handler over the source as serve does,
// without the parts that need a cluster or a server.
func (o *checkOptions) judge(src *loadedSource) (*judge, error) {
	checker, err := o.compare.checkerFor(src)
	if err != nil {
		return nil, err
	}
	checker.GitOps = o.identities.gitops
	mode, _ := webhook.ParseMode(o.mode)
	controllers := webhook.ControllerChecker(checker.Ignores)
	controllers.GitOps = checker.GitOps
	store := &provenance.Store{}
	store.Swap(src.Snapshot)
	h := &webhook.Handler{
		Identities:  o.identities.identities,
		Skip:        o.identities.skip,
		Snapshots:   store,
		Checker:     checker,
		Controllers: controllers,
		GitOpsKinds: checker.GitOps,
		Repo:        webhook.Repo{URL: src.Repo, Browse: o.browseURL},
		DenialHint:  o.denialHint,
		Modes:       webhook.GitModes{Default: mode},
		Defaults:    offlineDefaults{},
	}
	groups := o.asGroups
	if !containsString(groups, "system:authenticated") {
		groups = append(groups, "system:authenticated")
	}
	return &judge{
		handler: h, scope: src.Scope, namespace: o.kube.contextNamespace(),
		user: authenticationv1.UserInfo{Username: o.as, Groups: groups},
	}, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// requests reads -f and --old and pairs each object with its old version.
func (o *checkOptions) requests(stdin io.Reader) ([]checkRequest, error) {
	objs, err := readObjects(o.files, stdin)
	if err != nil {
		return nil, err
	}
	op := admissionv1.Operation(strings.ToUpper(o.operation))
	reqs := make([]checkRequest, len(objs))
	for i, obj := range objs {
		reqs[i] = checkRequest{op: op, obj: obj}
		if op == admissionv1.Delete {
			reqs[i] = checkRequest{op: op, old: obj}
		}
	}
	if op != admissionv1.Update {
		return reqs, nil
	}
	olds, err := readObjects([]string{o.oldFile}, stdin)
	if err != nil {
		return nil, fmt.Errorf("--old: %w", err)
	}
	byKey := map[string]map[string]any{}
	for _, old := range olds {
		byKey[objectID(old, "")] = old
	}
	ns := o.kube.contextNamespace()
	for i := range reqs {
		// A manifest that names no namespace updates the object in -n's.
		old := byKey[objectID(reqs[i].obj, "")]
		if old == nil {
			old = byKey[objectID(reqs[i].obj, ns)]
		}
		if old == nil {
			return nil, fmt.Errorf("--old holds no %s to update", objectID(reqs[i].obj, ns))
		}
		reqs[i].old = old
	}
	return reqs, nil
}

// objectID names an object by group, kind, namespace and name; ns stands
// in for a namespace the object does not name.
func objectID(obj map[string]any, ns string) string {
	v := describe("", obj)
	if v.Namespace == "" {
		v.Namespace = ns
	}
	gk := schema.FromAPIVersionAndKind(v.APIVersion, v.Kind).GroupKind()
	return provenance.Key{Group: gk.Group, Kind: gk.Kind, Namespace: v.Namespace, Name: v.Name}.String()
}

// readObjects reads the objects of files, directories (not recursively,
// as kubectl -f) and - (stdin), in order.
func readObjects(names []string, stdin io.Reader) ([]map[string]any, error) {
	var out []map[string]any
	for _, name := range names {
		paths, err := expand(name)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			var data []byte
			if p == "-" {
				data, err = io.ReadAll(stdin)
			} else {
				data, err = os.ReadFile(p)
			}
			if err != nil {
				return nil, err
			}
			objs, err := render.ParseManifests(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

func expand(name string) ([]string, error) {
	if name == "-" {
		return []string{name}, nil
	}
	info, err := os.Stat(name)
	if err != nil || !info.IsDir() {
		return []string{name}, err
	}
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && render.IsManifestFile(e.Name()) {
			out = append(out, filepath.Join(name, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeVerdicts prints one verdict per object: text for people, or a
// JSON array.
func writeVerdicts(w io.Writer, format string, vs []checkVerdict) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(vs)
	}
	for _, v := range vs {
		verdict := "allowed"
		if !v.Allowed {
			verdict = "denied"
		}
		gk := schema.FromAPIVersionAndKind(v.APIVersion, v.Kind).GroupKind()
		key := provenance.Key{Group: gk.Group, Kind: gk.Kind, Namespace: v.Namespace, Name: v.Name}
		fmt.Fprintf(w, "%s %s %s (%s)\n", verdict, v.Operation, key, v.Reason)
		if v.Message != "" {
			fmt.Fprintf(w, "  %s\n", v.Message)
		}
		for _, warning := range v.Warnings {
			fmt.Fprintf(w, "  Warning: %s\n", warning)
		}
	}
	return nil
}
