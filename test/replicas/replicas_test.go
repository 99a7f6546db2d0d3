// Package replicas proves that gitgate's replicas agree on the revision
// they enforce: a push notification reaches one replica, as it does through
// the Service, and the other loads the pushed revision through the sync
// ConfigMap, long before its own poll (an hour here) would.
package replicas

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/sources/receiver"
	"github.com/gitgate/gitgate/test/harness"
)

// TestMain removes the gitgate binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveGitgateBuild()
	os.Exit(code)
}

const secret = "receiver-shared-secret-0123456789"

func TestPushReachesEveryReplica(t *testing.T) {
	log.SetOutput(io.Discard) // gittestserver logs every Git request
	cp, err := harness.StartControlPlane(harness.ControlPlaneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	k, err := harness.NewKubectl(cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if r := k.Run("", "create", "namespace", harness.GitgateNamespace); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	git, err := harness.StartGitServer(harness.GitServerOptions{Fixture: filepath.Join(harness.RepoRoot(), "examples", "shop")})
	if err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	hook, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	// Only the sync signal can move the revision: polls are an hour apart.
	args := []string{"--branch", "main", "--interval", "1h", "--sync-namespace", harness.GitgateNamespace}
	a := start(t, cp.Kubeconfig, git.HTTPURL(), append(args, "--receiver-bind-address", hook, "--receiver-secret-file", secretFile)...)
	b := start(t, cp.Kubeconfig, git.HTTPURL(), args...)

	sha, err := git.Commit(harness.Change{Write: map[string]string{"config.yaml": strings.Replace(readFixture(t), "hello", "hello again", 1)}, Message: "push"})
	if err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()
	notify(t, "http://"+hook+"/hook")
	for name, g := range map[string]*harness.Gitgate{"the notified replica": a, "the other replica": b} {
		took := waitForRevision(t, g, sha)
		t.Logf("%s enforces the pushed revision %s after %s", name, sha[:7], took.Sub(pushed).Round(time.Millisecond))
	}
}

func start(t *testing.T, kubeconfig, repo string, args ...string) *harness.Gitgate {
	t.Helper()
	g, err := harness.StartGitgate(harness.GitgateOptions{Kubeconfig: kubeconfig, RepoURL: repo, Args: args})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gitgate logs:\n%s", harness.Tail(g.Logs(), 60))
		}
		g.Stop()
	})
	return g
}

func readFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "examples", "shop", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// notify sends a generic HMAC-signed push notification.
func notify(t *testing.T, url string) {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(receiver.HeaderSignature, receiver.Sign(body, []byte(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push notification: HTTP %d", resp.StatusCode)
	}
}

// waitForRevision waits, as a liveness bound, until g enforces sha, and
// returns when it saw it.
func waitForRevision(t *testing.T, g *harness.Gitgate, sha string) time.Time {
	t.Helper()
	want := `gitgate_git_revision_info{revision="main@sha1:` + sha + `"} 1`
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m, err := g.Metrics(); err == nil && strings.Contains(m, want) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitgate did not load %s within 30s (its poll is an hour away)", sha)
		}
	}
}
