// Command demo runs gitgate end to end on this machine: a local control
// plane, a Git server seeded with examples/shop, and gitgate registered as
// the API server's validating webhook. It then runs the kubectl commands a
// GitOps agent and a person would, and shows what gitgate allows and denies.
//
// Run it through hack/demo.sh, which builds the control plane first.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

func main() { os.Exit(run()) }

func run() int {
	keep := flag.Bool("keep", false, "keep everything running after the demo, until Ctrl-C")
	flag.Parse()
	log.SetOutput(io.Discard) // the Git server logs every request

	defer harness.RemoveGitgateBuild() // after stack.Stop, deferred below
	fixture := filepath.Join(harness.RepoRoot(), "examples", "shop")
	fmt.Println("Starting etcd, kube-apiserver, a Git server seeded from examples/shop, and gitgate ...")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: fixture})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	defer stack.Stop()
	fmt.Printf("gitgate follows %s (branch main) and serves %s\n", stack.Git.HTTPURL(), stack.Gitgate.URL())
	if r := stack.Kubectl.Run("", "create", "namespace", harness.GitgateNamespace); r.Failed() {
		fmt.Fprintln(os.Stderr, "demo:", r.Stderr)
		return 1
	}

	rel := "examples/shop"
	gitgateBin, err := harness.BuildGitgate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	hotfix := []string{"set", "image", "deployment/web", "app=registry.example.com/shop:1.4.3-hotfix", "-n", "shop", "--as", harness.Person}
	steps := []step{
		{title: "The GitOps agent applies what is in Git", args: []string{"apply", "--as", harness.Agent, "-f", fixture}, allow: true},
		{title: "A person re-applies the same manifests: nothing differs from Git", args: []string{"apply", "--as", harness.Person, "-f", fixture}, allow: true},
		{title: "A person changes the image by hand", args: []string{"set", "image", "deployment/web", "app=registry.example.com/shop:latest", "-n", "shop", "--as", harness.Person}},
		{title: "A person adds a label by hand", args: []string{"label", "deployment/web", "owner=me", "-n", "shop", "--as", harness.Person}},
		{title: "A person creates an object Git does not declare", args: []string{"create", "configmap", "hotfix", "--from-literal=debug=true", "-n", "shop", "--as", harness.Person}},
		{title: "A person deletes a managed Service", args: []string{"delete", "service", "web", "-n", "shop", "--as", harness.Person}},
		{title: "A kube-system controller updates a managed Deployment (exempt)", args: []string{"annotate", "deployment/web", "example.com/restarted=now", "-n", "shop", "--as", harness.ExemptController}, allow: true},
		{title: "An incident: the on-call engineer opens a 15-minute break-glass grant", gitgate: true, allow: true,
			args: []string{"breakglass", "grant", "inc-42", "--user", harness.Person, "--for", "15m", "--reason", "INC-42 checkout down, hotfix"}},
		{title: "The hotfix goes through, with a warning; gitgate writes an audit record", args: hotfix, allow: true, waitAllowed: true},
		{title: "The grant is revoked", gitgate: true, allow: true, args: []string{"breakglass", "revoke", "inc-42"}},
		{title: "Hand changes are denied again", args: []string{"label", "deployment/web", "owner=me", "-n", "shop", "--as", harness.Person}, waitDenied: true},
	}
	failed := 0
	for i, s := range steps {
		var r harness.Result
		switch {
		case s.gitgate:
			r = runGitgate(gitgateBin, stack.ControlPlane.Kubeconfig, s.args)
		default:
			// Grants reach gitgate through a watch: give it a moment.
			waitUntil(stack.Kubectl, s.args, s.waitAllowed, s.waitDenied)
			r = stack.Kubectl.Run("", s.args...)
		}
		fmt.Printf("\n%d. %s\n$ %s\n", i+1, s.title, strings.ReplaceAll(r.CommandLine(), fixture, rel))
		fmt.Print(indent(r.Stdout + r.Stderr))
		verdict := "allowed"
		if r.Failed() {
			verdict = "denied"
		}
		if r.Failed() == s.allow {
			failed++
			verdict += " (unexpected!)"
		}
		fmt.Printf("   => %s\n", verdict)
	}
	if failed > 0 {
		fmt.Printf("\n%d step(s) did not behave as expected.\n", failed)
		return 1
	}
	fmt.Println("\nEvery step behaved as expected: Git is the only way in, and break-glass is the audited exception.")
	if *keep {
		fmt.Printf("\nStill running. Try it yourself:\n  export KUBECONFIG=%s\n  kubectl --as dev-user -n shop edit deployment web\nPress Ctrl-C to stop.\n", stack.ControlPlane.Kubeconfig)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
	}
	return 0
}

// step is one command of the demo and whether it should be allowed.
type step struct {
	title string
	args  []string
	allow bool
	// gitgate runs the gitgate binary instead of kubectl.
	gitgate bool
	// waitAllowed and waitDenied retry a server-side dry run first, until
	// gitgate has picked up a grant change.
	waitAllowed, waitDenied bool
}

func runGitgate(bin, kubeconfig string, args []string) harness.Result {
	cmd := exec.Command(bin, append(args, "--kubeconfig", kubeconfig, "--gitgate-namespace", harness.GitgateNamespace)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return harness.Result{Args: args, Stdout: out.String(), Stderr: errb.String(), Err: err, Command: "gitgate"}
}

func waitUntil(k *harness.Kubectl, args []string, allowed, denied bool) {
	if !allowed && !denied {
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r := k.Run("", append(args, "--dry-run=server")...); r.Failed() == denied {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "   " + strings.ReplaceAll(s, "\n", "\n   ") + "\n"
}
