// Package cli is gitgate's command line: one cobra command per file, each
// binding its flags into a plain options or config struct, validating them
// (a mistake is a usage error, exit code 2) and running (a failure is exit
// code 1). It is the only package that imports cobra and pflag; the
// admission server it starts (package server) knows no flags.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Run executes the command line args and returns the process's exit code:
// 0 success, 1 failure (or a denial, a drift), 2 a usage error.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	return exitCode(cmd, err, stderr)
}

// Exit codes, as kubectl diff and grep use them.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gitgate",
		Short: "gitgate makes Git the only way into a Kubernetes cluster.",
		Long: `gitgate makes Git the only way into a Kubernetes cluster: a change is
admitted only when it comes from the GitOps agent, matches the manifest at
the current Git revision, or is covered by a break-glass grant.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// A bare "gitgate" is a usage error, not a silent success.
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("a command is required")}
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServeCmd(),
		newCheckCmd(),
		newRenderCmd(),
		newDriftCmd(),
		newBreakglassCmd(),
		newVersionCmd(),
	)
	return root
}

// exitCode prints err as its kind asks and maps it to the exit code. cmd
// is the command that ran (or failed to parse); cobra's own errors
// (unknown command or flag, wrong arguments) are usage errors.
func exitCode(cmd *cobra.Command, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errSilentFailure):
		return exitFailed
	case !errors.As(err, new(runError)):
		// A usageError, or one of cobra's, which carry no type.
		fmt.Fprintf(stderr, "Error: %v\n", err)
		if cmd != nil {
			fmt.Fprintln(stderr)
			fmt.Fprint(stderr, cmd.UsageString())
		}
		return exitUsage
	case cmd == nil:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitFailed
	default:
		fmt.Fprintf(stderr, "Error: %s: %v\n", cmd.CommandPath(), err)
		return exitFailed
	}
}
