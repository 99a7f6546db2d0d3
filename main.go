// Command gitgate is a validating admission webhook that makes Git the only
// way into a Kubernetes cluster: a change is admitted only when it comes
// from the GitOps agent, matches the manifest at the current Git revision,
// or is covered by a break-glass grant.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `gitgate makes Git the only way into a Kubernetes cluster.

Usage:
  gitgate serve [flags]   run the admission webhook
  gitgate breakglass ...  grant, revoke or list break-glass grants
  gitgate version         print the version

Run "gitgate serve --help" for the flags.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stderr)
	case "breakglass":
		return runBreakglass(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "gitgate", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gitgate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// parseFlags parses a subcommand's flags; ok is false when the command
// should exit with code (help printed, or a usage error).
func parseFlags(name string, args []string, stderr io.Writer, bind func(*pflag.FlagSet)) (code int, ok bool) {
	fs := pflag.NewFlagSet("gitgate "+name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bind(fs)
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gitgate %s: unexpected arguments %q\n", name, fs.Args())
		return 2, false
	}
	return 0, true
}
