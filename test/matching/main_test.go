// Package matching proves gitgate's comparison on real API-server
// defaulting: a corpus of manifests written as people write them is applied
// by the GitOps agent, then a person re-applies them (no false denials),
// changes every declared field (no false allows), and adds labels,
// annotations, env vars and containers (denied in strict mode, allowed in
// declared mode).
package matching

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/test/harness"
)

var env struct {
	stack  *harness.Stack
	corpus string
	// admin reads live objects; person writes as dev-user (a
	// cluster-admin that only gitgate stands in the way of).
	admin, person client.Client
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "matching", setup)) }

func setup(r *harness.Running) error {
	env.corpus = filepath.Join(harness.RepoRoot(), "test", "matching", "testdata", "corpus")
	stack, err := harness.StartStack(context.Background(), harness.StackOptions{Fixture: env.corpus})
	if err != nil {
		return err
	}
	r.Cleanup(stack.Stop)
	r.Logs = stack.Gitgate.Logs
	env.stack = stack
	env.admin = stack.ControlPlane.Client
	cfg := rest.CopyConfig(stack.ControlPlane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: harness.Person}
	env.person, err = client.New(cfg, client.Options{})
	return err
}
