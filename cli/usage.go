package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroup is a heading in `serve --help` and the flags under it.
type flagGroup struct {
	title string
	names map[string]bool
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
