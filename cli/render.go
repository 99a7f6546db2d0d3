package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
)

func newRenderCmd() *cobra.Command {
	var o sourceOptions
	cmd := &cobra.Command{
		Use:   "render (--local DIR | --repo-url URL --branch BRANCH | --source flux --local DIR | --source argocd --local DIR [--local-repo-url URL]) [--path DIR]",
		Short: "Print what gitgate indexes for a source, like flux build",
		Long: `Print every object gitgate indexes for a source, as it compares them:
rendered with kustomize where a kustomization is, placed in a namespace,
and normalized. Each object is preceded by the file that declares it.

With --source flux, --local DIR is rendered as Flux would apply it:
--path as a Kustomization (like flux build kustomization --path), then
each Kustomization and HelmRelease among the results whose source is a
GitRepository, read from DIR, and so on down. Every GitRepository is DIR
unless --local-source names the one it is. Charts of HelmRepositories and
OCIRepositories are fetched over the network, from the repositories the
rendered roots declare; one that needs credentials from a Secret fails its
root, since no cluster is read. valuesFrom and substituteFrom read the
ConfigMaps and Secrets the rendered roots declare. A HelmRelease renders
as a fresh install (revision 1: its status.history is not known offline)
with helm template's capabilities (--kube-version, --api-versions).
Objects are grouped by root, each under a header naming it; a
HelmRelease's header names its chart, version and config digest, its
hooks follow apart (transient: never declared), and fields its chart
renders differently every time are noted. A root that fails is printed
with its error and the command exits 1 after the others.`,
		Example: `  gitgate render --local ./clusters/prod
  gitgate render --repo-url https://git.example.com/fleet.git --branch main --path clusters/prod
  gitgate render --source flux --local . --path clusters/production
  gitgate render --source argocd --local . --path argocd --local-repo-url https://git.example.com/fleet.git`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			src, err := o.load(ctx, nil)
			if err != nil {
				return failed(err)
			}
			warnUnresolved(cmd.ErrOrStderr(), src.Snapshot, unknownOffline)
			if src.Flux != nil {
				src.warnRoots(cmd.ErrOrStderr())
				if err := writeFluxRoots(cmd.OutOrStdout(), src); err != nil {
					return failed(err)
				}
				return failed(src.rootsFailed())
			}
			o.warnSkipped(cmd.ErrOrStderr())
			return failed(writeEntries(cmd.OutOrStdout(), src.Snapshot))
		},
	}
	o.BindFlags(cmd.Flags())
	return cmd
}

// writeEntries prints a snapshot's objects as a YAML stream.
func writeEntries(w io.Writer, snap *provenance.Snapshot) error {
	fmt.Fprintf(w, "# revision %s: %d objects\n", snap.Revisions(), snap.Len())
	for _, e := range snap.Entries() {
		data, err := yaml.Marshal(e.Object())
		if err != nil {
			return fmt.Errorf("%s: %w", e.Key, err)
		}
		fmt.Fprintf(w, "---\n# %s from %s\n%s", e.Key, e.Origin(), data)
	}
	return nil
}
