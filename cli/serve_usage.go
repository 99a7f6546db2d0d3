package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// flagGroup is a heading in `serve --help` and the flags under it.
type flagGroup struct {
	title string
	names map[string]bool
}

// serveFlagGroups sorts serve's flags by the binder that binds them, so a
// flag added there lands under the right heading; the last group, the
// server's, takes every other flag.
func serveFlagGroups() []flagGroup {
	var o serveOptions
	return []flagGroup{
		{"Git source", namesOf(o.bindSourceFlags)},
		{"Identities", namesOf(o.identities.BindFlags)},
		{"Comparison", namesOf(func(fs *pflag.FlagSet) { o.compare.BindFlags(fs, serveCompareUsage) })},
		{"Denials", namesOf(o.bindDenialFlags)},
		{"Policy, break-glass and audit", namesOf(func(fs *pflag.FlagSet) { bindPolicyFlags(fs, &o.cfg.Policy) })},
		{"Drift scan", namesOf(func(fs *pflag.FlagSet) { bindDriftScanFlags(fs, &o.cfg.DriftScan) })},
		{"Certificates", namesOf(o.certs.BindFlags)},
		{"Logging", namesOf(func(fs *pflag.FlagSet) { bindLogFlags(fs, new(zap.Options)) })},
		{"Server", nil}, // every other flag
	}
}

// namesOf is the names of the flags bind binds.
func namesOf(bind func(*pflag.FlagSet)) map[string]bool {
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	bind(fs)
	names := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
	return names
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
