// Command gitgate is a validating admission webhook that makes Git the only
// way into a Kubernetes cluster: a change is admitted only when it comes
// from the GitOps agent, matches the manifest at the current Git revision,
// or is covered by a break-glass grant.
//
// The command line is package cli; main only hands it the process's
// arguments and streams and exits with the code it returns.
package main

import (
	"os"

	"github.com/gitgate/gitgate/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
