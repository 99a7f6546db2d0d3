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
		Use:   "render (--local DIR | --repo-url URL --branch BRANCH) [--path DIR] [--source argocd --local-repo-url URL]",
		Short: "Print what gitgate indexes for a source, like flux build",
		Long: `Print every object gitgate indexes for a source, as it compares them:
rendered with kustomize where a kustomization is, placed in a namespace,
and normalized. Each object is preceded by the file that declares it.`,
		Example: `  gitgate render --local ./clusters/prod
  gitgate render --repo-url https://git.example.com/fleet.git --branch main --path clusters/prod
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
