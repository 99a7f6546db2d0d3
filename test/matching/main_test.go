// Package matching proves gitgate's comparison on real API-server
// defaulting: a corpus of manifests written as people write them is applied
// by the GitOps agent, then a person re-applies them (no false denials),
// changes every declared field (no false allows), and adds labels,
// annotations, env vars and containers (denied in strict mode, allowed in
// declared mode).
package matching

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gitgate/gitgate/test/harness"
)

var env struct {
	stack  *harness.Stack
	corpus string
	// admin reads live objects; person writes as dev-user (a
	// cluster-admin that only gitgate stands in the way of).
	admin, person client.Client
}

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // gittestserver logs every Git request
	ctrllog.SetLogger(logr.Discard())
	env.corpus = filepath.Join(harness.RepoRoot(), "test", "matching", "testdata", "corpus")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: env.corpus})
	if err != nil {
		fmt.Fprintln(os.Stderr, "matching setup:", err)
		os.Exit(1)
	}
	env.stack = stack
	env.admin = stack.ControlPlane.Client
	cfg := rest.CopyConfig(stack.ControlPlane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: harness.Person}
	if env.person, err = client.New(cfg, client.Options{}); err != nil {
		fmt.Fprintln(os.Stderr, "matching setup:", err)
		stack.Stop()
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- gitgate logs (tail) ---\n%s\n", tail(stack.Gitgate.Logs(), 8000))
	}
	stack.Stop()
	os.Exit(code)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
