// Command demo runs gitgate end to end on this machine: a local control
// plane, a Git server seeded with examples/shop, and gitgate registered as
// the API server's validating webhook. It then runs the kubectl commands a
// GitOps agent and a person would, and shows what gitgate allows and denies.
//
// Run it through hack/demo.sh, which builds the control plane first.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/gitgate/gitgate/test/harness"
)

func main() { os.Exit(run()) }

func run() int {
	keep := flag.Bool("keep", false, "keep everything running after the demo, until Ctrl-C")
	flag.Parse()
	log.SetOutput(io.Discard) // the Git server logs every request

	fixture := filepath.Join(harness.RepoRoot(), "examples", "shop")
	fmt.Println("Starting etcd, kube-apiserver, a Git server seeded from examples/shop, and gitgate ...")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: fixture})
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	defer stack.Stop()
	fmt.Printf("gitgate follows %s (branch main) and serves %s\n", stack.Git.HTTPURL(), stack.Gitgate.URL())

	rel := "examples/shop"
	steps := []struct {
		title string
		args  []string
		allow bool
	}{
		{"The GitOps agent applies what is in Git", []string{"apply", "--as", harness.Agent, "-f", fixture}, true},
		{"A person re-applies the same manifests: nothing differs from Git", []string{"apply", "--as", harness.Person, "-f", fixture}, true},
		{"A person changes the image by hand", []string{"set", "image", "deployment/web", "app=registry.example.com/shop:latest", "-n", "shop", "--as", harness.Person}, false},
		{"A person adds a label by hand", []string{"label", "deployment/web", "owner=me", "-n", "shop", "--as", harness.Person}, false},
		{"A person creates an object Git does not declare", []string{"create", "configmap", "hotfix", "--from-literal=debug=true", "-n", "shop", "--as", harness.Person}, false},
		{"A person deletes a managed Service", []string{"delete", "service", "web", "-n", "shop", "--as", harness.Person}, false},
		{"A kube-system controller updates a managed Deployment (exempt)", []string{"annotate", "deployment/web", "example.com/restarted=now", "-n", "shop", "--as", harness.ExemptController}, true},
	}
	failed := 0
	for i, s := range steps {
		r := stack.Kubectl.Run("", s.args...)
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
	fmt.Println("\nEvery step behaved as expected: Git is the only way in.")
	if *keep {
		fmt.Printf("\nStill running. Try it yourself:\n  export KUBECONFIG=%s\n  kubectl --as dev-user -n shop edit deployment web\nPress Ctrl-C to stop.\n", stack.ControlPlane.Kubeconfig)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		<-ctx.Done()
	}
	return 0
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "   " + strings.ReplaceAll(s, "\n", "\n   ") + "\n"
}
