// Command gitgate is a validating admission webhook that makes Git the only
// way into a Kubernetes cluster: a change is admitted only when it comes
// from the GitOps agent, matches the manifest at the current Git revision,
// or is covered by a break-glass grant.
package main

import (
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run executes the command line args and returns the process's exit code:
// 0 success, 1 failure (or a denial, a drift), 2 a usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	return exitCode(cmd, err, stderr)
}
