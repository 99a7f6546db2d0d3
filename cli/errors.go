package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// usageError is a mistake in the command line: the message and the
// command's usage go to stderr and the exit code is 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// runError is a failure at run time (the cluster, Git, a file): exit code
// 1, no usage.
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// failed marks err as a run-time failure; nil stays nil.
func failed(err error) error {
	if err == nil {
		return nil
	}
	return runError{err}
}

// errSilentFailure ends a command with exit code 1 after it has said
// everything on stdout (a denial, a drift): nothing more is printed.
var errSilentFailure = errors.New("failed")

// exactArgs is cobra.ExactArgs with a message that names the command's
// arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d: %q", cmd.CommandPath(), n, len(args), args)}
		}
		return nil
	}
}
