package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func newServeCmd() *cobra.Command {
	var o serveOptions
	zopts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "serve --repo-url URL --branch BRANCH [flags]",
		Short: "Run the admission webhook",
		Long: `Run the admission webhook: follow a Git repository and admit a change only
when it comes from the GitOps agent, matches what Git declares, or is
covered by a break-glass grant.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			log := zap.New(zap.UseFlagOptions(&zopts))
			ctrl.SetLogger(log)
			if err := registerBuildInfo(); err != nil {
				return failed(err)
			}
			if err := serve(ctrl.SetupSignalHandler(), &o); err != nil {
				log.Error(err, "gitgate stopped")
				return failed(err)
			}
			return nil
		},
	}
	o.BindFlags(cmd.Flags())
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	zopts.BindFlags(gofs)
	cmd.Flags().AddGoFlagSet(gofs)
	cmd.SetUsageFunc(groupedUsage(serveFlagGroups()))
	return cmd
}

// flagGroup is a heading in `serve --help` and the flags under it.
type flagGroup struct {
	title string
	names map[string]bool
}

// serveFlagGroups sorts serve's flags by the options struct that binds
// them, so a flag added there lands under the right heading. The flags of
// serveOptions itself are split by name; the rest of them are the
// server's.
func serveFlagGroups() []flagGroup {
	namesOf := func(bind func(*pflag.FlagSet)) map[string]bool {
		fs := pflag.NewFlagSet("", pflag.ContinueOnError)
		bind(fs)
		names := map[string]bool{}
		fs.VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		return names
	}
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	git := namesOf(func(fs *pflag.FlagSet) { new(gitOptions).BindFlags(fs) })
	for n := range namesOf(func(fs *pflag.FlagSet) { new(fluxOptions).BindFlags(fs) }) {
		git[n] = true
	}
	for n := range set("source", "sources-file", "repo-url", "branch", "tag", "semver", "commit", "path", "interval", "default-namespace") {
		git[n] = true
	}
	logging := namesOf(func(fs *pflag.FlagSet) {
		gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
		new(zap.Options).BindFlags(gofs)
		fs.AddGoFlagSet(gofs)
	})
	return []flagGroup{
		{"Git source", git},
		{"Identities", namesOf(func(fs *pflag.FlagSet) { new(identityOptions).BindFlags(fs) })},
		{"Comparison", set("fields", "ignore", "ignore-file")},
		{"Denials", set("denial-hint", "repo-browse-url")},
		{"Policy, break-glass and audit", namesOf(func(fs *pflag.FlagSet) { new(policyOptions).BindFlags(fs) })},
		{"Drift scan", namesOf(func(fs *pflag.FlagSet) { new(driftScanOptions).BindFlags(fs) })},
		{"Certificates", namesOf(func(fs *pflag.FlagSet) { new(certOptions).BindFlags(fs) })},
		{"Logging", logging},
		{"Server", nil}, // every other flag
	}
}

// groupedUsage prints a command's usage with its flags under the groups'
// headings; a flag in no group goes under the last.
func groupedUsage(groups []flagGroup) func(*cobra.Command) error {
	return func(cmd *cobra.Command) error {
		sets := make([]*pflag.FlagSet, len(groups))
		for i := range sets {
			sets[i] = pflag.NewFlagSet(groups[i].title, pflag.ContinueOnError)
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			i := len(groups) - 1
			for j, g := range groups {
				if g.names[f.Name] {
					i = j
					break
				}
			}
			sets[i].AddFlag(f)
		})
		var b strings.Builder
		fmt.Fprintf(&b, "Usage:\n  %s %s\n", cmd.Parent().CommandPath(), cmd.Use)
		for i, fs := range sets {
			if fs.HasFlags() {
				fmt.Fprintf(&b, "\n%s flags:\n%s", groups[i].title, fs.FlagUsages())
			}
		}
		fmt.Fprint(cmd.OutOrStderr(), b.String())
		return nil
	}
}
