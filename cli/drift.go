package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/gitgate/gitgate/drift"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/server"
)

// driftOptions are the flags of `gitgate drift`.
type driftOptions struct {
	source     sourceOptions
	kube       kubeFlags
	compare    compareOptions
	undeclared bool
	output     string
}

func newDriftCmd() *cobra.Command {
	var o driftOptions
	cmd := &cobra.Command{
		Use:   "drift (--local DIR | --repo-url URL --branch B | --source flux --local DIR) [--undeclared] [-n NS] [-o table|json]",
		Short: "Compare the live cluster with Git now",
		Long: `Compare the live cluster with Git now. Every object Git declares is
reported as missing, differs (with the field paths; never values, so no
Secret data is shown) or matches. --undeclared also lists objects, of the
kinds Git declares in a namespace, that Git does not declare there
(objects with ownerReferences left out). Exit code 1 when anything
drifted, 0 when all matches, 2 on a usage error.

With --source flux, --local DIR is read as Flux would apply it (see
gitgate render --help): every Kustomization and HelmRelease it declares
is a root, every GitRepository is DIR unless --local-source names one,
and a root that fails to render makes the exit code 1.`,
		Example: `  gitgate drift --repo-url https://git.example.com/fleet.git --branch main --undeclared
  gitgate drift --local . -n shop -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	o.source.BindFlags(fs)
	o.kube.bindConfig(fs)
	o.kube.bindNamespace(fs, "Report only this namespace; default all.")
	o.compare.BindFlags(fs, clientCompareUsage)
	fs.BoolVar(&o.undeclared, "undeclared", false, "Also list objects in managed namespaces that Git does not declare.")
	fs.StringVarP(&o.output, "output", "o", "table", "table or json.")
	return cmd
}

// Validate reports every usage error at once.
func (o *driftOptions) Validate() error {
	var errs []error
	if o.output != "table" && o.output != "json" {
		errs = append(errs, fmt.Errorf("-o must be table or json, got %q", o.output))
	}
	return errors.Join(append(errs, o.source.Validate(), o.compare.Validate())...)
}

func (o *driftOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	live, scope, err := o.cluster()
	if err != nil {
		return failed(err)
	}
	src, err := o.source.load(ctx, scope)
	if err != nil {
		return failed(err)
	}
	warnUnresolved(stderr, src.Snapshot, unknownInCluster)
	src.warnRoots(stderr)
	checker, err := o.compare.checkerFor(src)
	if err != nil {
		return failed(err)
	}
	report, err := drift.Compare(ctx, src.Snapshot, live, drift.Options{Checker: checker, Namespace: o.kube.namespace, Undeclared: o.undeclared})
	if err != nil {
		return failed(err)
	}
	if err := writeDrift(stdout, o.output, report); err != nil {
		return failed(err)
	}
	if err := src.rootsFailed(); err != nil {
		return failed(err)
	}
	if report.Drifted() {
		return errSilentFailure
	}
	return nil
}

// cluster connects to the cluster of the kubeconfig flags: a dynamic
// client, and discovery for kinds and their scope.
func (o *driftOptions) cluster() (*drift.Cluster, provenance.Scope, error) {
	cfg, err := o.kube.restConfig()
	if err != nil {
		return nil, nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(server.ScanConfig(cfg))
	if err != nil {
		return nil, nil, err
	}
	return &drift.Cluster{Client: dyn, Mapper: mapper}, server.MapperScope{Mapper: mapper}, nil
}

func writeDrift(w io.Writer, format string, r *drift.Report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "Git revision %s\n", r.Revision)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tOBJECT\tFILE\tFIELDS")
	for _, o := range r.Objects {
		fields := strings.Join(o.Fields, ", ")
		if o.State == drift.Unreadable {
			fields = o.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.State, o.Key(), dash(o.Path), dash(fields))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
