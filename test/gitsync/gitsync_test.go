package gitsync

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/sources/receiver"
	"github.com/gitgate/gitgate/test/harness"
)

// The tests below share one cluster and repository. Each one that reads
// Git starts from the fixture, pushed anew and enforced (enforceFixture),
// so that any of them runs alone.

func TestAgentAppliesNamespaceAndOverlay(t *testing.T) {
	agentApplies(t)
}

// TestPersonReappliesOverlay: kubectl's own kustomize build, applied
// server-side so every object reaches the webhook, matches what gitgate
// rendered from Git.
func TestPersonReappliesOverlay(t *testing.T) {
	enforceFixture(t, "blue")
	r := env.kubectl.Run("", "apply", "--server-side", "--force-conflicts", "--as", person, "-k", filepath.Join(env.checkout, "overlays/prod"))
	if r.Failed() {
		t.Fatalf("%s: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	for _, obj := range []string{"deployment.apps/prod-web", "configmap/prod-flags", "configmap/prod-web-config-"} {
		if !strings.Contains(r.Stdout, obj) {
			t.Errorf("apply output lacks %s:\n%s", obj, r.Stdout)
		}
	}
}

func TestPersonScaleOfOverlayIsDenied(t *testing.T) {
	enforceFixture(t, "blue")
	r := env.kubectl.Run("", "scale", "deployment/prod-web", "-n", "prod", "--replicas", "5", "--as", person)
	wantDenied(t, r, "overlays/prod (kustomize)", "spec.replicas")
}

func TestForgedPushChangesNothing(t *testing.T) {
	enforceFixture(t, "blue")
	hash, err := env.git.Commit(harness.Change{Write: map[string]string{"overlays/prod/flags.yaml": flags("green")}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	for name, hdr := range map[string]http.Header{
		"forged github signature": {receiver.HeaderGitHubSignature: {receiver.Sign(body, []byte("not-the-secret-at-all"))}, receiver.HeaderGitHubEvent: {"push"}},
		"wrong gitlab token":      {receiver.HeaderGitLabToken: {"not-the-secret-at-all"}},
		"no signature":            {},
	} {
		if code := notify(t, body, hdr); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	time.Sleep(2 * time.Second) // a triggered sync would have finished by now
	if m := metrics(t); strings.Contains(m, hash) {
		t.Fatalf("revision %s loaded after forged notifications", hash)
	}
	wantDenied(t, applyFlags("green"), `Git has "blue", request has "green"`)
}

func TestSignedPushEnforcesNewRevision(t *testing.T) {
	enforceFixture(t, "blue")
	if _, err := env.git.Commit(harness.Change{Write: map[string]string{"overlays/prod/flags.yaml": flags("green")}}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	hdr := http.Header{receiver.HeaderGitHubSignature: {receiver.Sign(body, []byte(secret))}, receiver.HeaderGitHubEvent: {"push"}}
	if code := notify(t, body, hdr); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitRevision(t, headOf(t))
	if r := applyFlags("green"); r.Failed() {
		t.Errorf("%s: want allowed at the new revision, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// TestBrokenRootKeepsItsRevisionOthersMoveOn: --path namespaces and
// --path overlays/prod are two roots. A commit that breaks a file of
// namespaces and changes overlays/prod leaves namespaces at the last good
// revision, counted and logged with its name, while overlays/prod enforces
// the new one; gitgate stays ready.
func TestBrokenRootKeepsItsRevisionOthersMoveOn(t *testing.T) {
	good := enforceFixture(t, "green")
	before := failures(t, "render")
	next, err := env.git.Commit(harness.Change{Write: map[string]string{
		"namespaces/broken.yaml":   "apiVersion: v1\nkind: [unclosed\n",
		"overlays/prod/flags.yaml": flags("red"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{}`)
	if code := notify(t, body, http.Header{receiver.HeaderSignature: {receiver.Sign(body, []byte(secret))}}); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitRevision(t, next)
	if failures(t, "render") <= before {
		t.Error("no render failure counted")
	}
	m := metrics(t)
	for _, want := range []string{
		`gitgate_git_revision_info{revision="main@sha1:` + good + `"} 1`,
		`gitgate_root_sync_failures_total{root="path namespaces",source="` + env.git.HTTPURL() + `"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := applyFlags("red"); r.Failed() {
		t.Errorf("%s: overlays/prod must enforce the new revision, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	wantDenied(t, applyFlags("green"), `Git has "red", request has "green"`, "path overlays/prod at main@sha1:"+next+", file overlays/prod (kustomize)")
	r := env.kubectl.Run("", "label", "namespace", "prod", "team=web", "--as", person)
	wantDenied(t, r, "path namespaces at main@sha1:"+good+", file namespaces/prod.yaml")
	logs := env.gitgate.Logs()
	if !strings.Contains(logs, "namespaces/broken.yaml") || !strings.Contains(logs, `"root":"path namespaces"`) {
		t.Error("the log does not name the broken root and file")
	}
	if err := env.gitgate.WaitReady(5 * time.Second); err != nil {
		t.Errorf("a root failing after it loaded once made gitgate unready: %v", err)
	}
}

// TestReadyzWaitsForEveryRoot runs a second gitgate on a repository whose
// root broken/ never renders: it enforces the other root, but /readyz
// fails, naming the root, until every root has loaded once.
func TestReadyzWaitsForEveryRoot(t *testing.T) {
	files := fixtureWith("blue")
	files["broken/bad.yaml"] = "kind: [unclosed\n"
	hash, err := env.git.Commit(harness.Change{Orphan: true, Write: files, Message: "a broken root"})
	if err != nil {
		t.Fatal(err)
	}
	gg, err := harness.StartGitgate(harness.GitgateOptions{
		Kubeconfig: env.cp.Kubeconfig, RepoURL: env.git.HTTPURL(), NoWait: true,
		// Failed syncs are retried within seconds, whatever the interval.
		Args: []string{"--branch", "main", "--interval", "1h", "--path", "broken", "--path", "overlays/prod",
			"--git-username-file", filepath.Join(env.creds, "username"), "--git-password-file", filepath.Join(env.creds, "password"),
			"--git-insecure-http", "--sync-configmap", ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gg.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The metrics server may not listen yet.
		if m, err := gg.Metrics(); err == nil && strings.Contains(m, `gitgate_git_revision_info{revision="main@sha1:`+hash+`"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("root overlays/prod not loaded:\n%s", gg.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + gg.HealthAddr + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("/readyz passes with root broken never loaded")
	}
	if !strings.Contains(gg.Logs(), `"root":"path broken"`) {
		t.Errorf("the log does not name the broken root:\n%s", gg.Logs())
	}
	if _, err := env.git.Commit(harness.Change{Delete: []string{"broken/bad.yaml"}, Write: map[string]string{"broken/cm.yaml": flags("fixed")}}); err != nil {
		t.Fatal(err)
	}
	if err := gg.WaitReady(60 * time.Second); err != nil {
		t.Errorf("root broken fixed, but gitgate is not ready: %v\n%s", err, gg.Logs())
	}
}

func TestForcePushRewritesHistory(t *testing.T) {
	enforceFixture(t, "green")
	hash, err := env.git.Commit(harness.Change{Orphan: true, Write: fixtureWith("purple"), Message: "rewritten"})
	if err != nil {
		t.Fatal(err)
	}
	if code := notify(t, []byte(`{}`), http.Header{receiver.HeaderGitLabToken: {secret}, receiver.HeaderGitLabEvent: {"Push Hook"}}); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitRevision(t, hash)
	if r := applyFlags("purple"); r.Failed() {
		t.Errorf("%s: want allowed after the force-push, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	wantDenied(t, applyFlags("green"), `Git has "purple", request has "green"`, hash[:7])
}

// TestWrongPasswordIsClearAndNeverLogged runs a second gitgate with a
// wrong password: it says the server refused the credentials, and neither
// password appears in its output.
func TestWrongPasswordIsClearAndNeverLogged(t *testing.T) {
	const wrong = "wr0ng-pa55word-also-secret"
	dir := t.TempDir()
	if err := writeFiles(dir, map[string]string{"password": wrong + "\n"}); err != nil {
		t.Fatal(err)
	}
	bin, err := harness.BuildGitgate()
	if err != nil {
		t.Fatal(err)
	}
	port, _ := harness.FreePort()
	health, _ := harness.FreeAddr()
	metricsAddr, _ := harness.FreeAddr()
	var out syncBuf
	cmd := exec.Command(bin, "serve", "--kubeconfig", env.cp.Kubeconfig, "--repo-url", env.git.HTTPURL(), "--branch", "main",
		"--git-username-file", filepath.Join(env.creds, "username"), "--git-password-file", filepath.Join(dir, "password"), "--git-insecure-http",
		"--webhook-host", "127.0.0.1", "--port", strconv.Itoa(port), "--cert-dir", env.gitgate.CertDir,
		"--health-probe-bind-address", health, "--metrics-bind-address", metricsAddr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "sync failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no sync failure logged:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs := out.String()
	if !strings.Contains(logs, "refused the credentials") {
		t.Errorf("the failure does not say the credentials were refused:\n%s", logs)
	}
	for _, s := range []string{wrong, password} {
		if strings.Contains(logs, s) {
			t.Errorf("a password appears in the log:\n%s", logs)
		}
	}
}

func TestNoCredentialInLogs(t *testing.T) {
	logs := env.gitgate.Logs()
	for _, s := range []string{password, secret} {
		if strings.Contains(logs, s) {
			t.Errorf("a credential appears in gitgate's log")
		}
	}
	if !strings.Contains(logs, "revision loaded") {
		t.Error("the log is empty or lacks revision loads; the check above proves nothing")
	}
}

// agentApplies applies the namespace and the overlay, as kubectl builds
// it from the fixture on disk, as the agent.
func agentApplies(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{
		{"apply", "--as", agent, "-f", filepath.Join(env.checkout, "namespaces")},
		{"apply", "--as", agent, "-k", filepath.Join(env.checkout, "overlays/prod")},
	} {
		if r := env.kubectl.Run("", args...); r.Failed() {
			t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	}
}

// resetRepo pushes the fixture, its flags set to color, as the whole tree
// of main, whatever earlier tests committed, and returns the commit.
func resetRepo(t *testing.T, color string) string {
	t.Helper()
	hash, err := env.git.Commit(harness.Change{Orphan: true, Write: fixtureWith(color), Message: "fixture, " + color})
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// enforceFixture resets the repository (resetRepo), has gitgate load it
// through a signed push notification, and applies it as the agent. It
// returns the commit gitgate enforces.
func enforceFixture(t *testing.T, color string) string {
	t.Helper()
	hash := resetRepo(t, color)
	body := []byte(`{"ref":"refs/heads/main"}`)
	hdr := http.Header{receiver.HeaderGitHubSignature: {receiver.Sign(body, []byte(secret))}, receiver.HeaderGitHubEvent: {"push"}}
	if code := notify(t, body, hdr); code != http.StatusAccepted {
		t.Fatalf("signed push notification: status %d, want 202", code)
	}
	waitRevision(t, hash)
	agentApplies(t)
	return hash
}

// fixtureWith is the fixture with flags set to color.
func fixtureWith(color string) map[string]string {
	files := map[string]string{}
	for p, c := range fixture {
		files[p] = c
	}
	files["overlays/prod/flags.yaml"] = flags(color)
	return files
}

func flags(color string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flags\ndata:\n  color: " + color + "\n"
}

// applyFlags applies prod/prod-flags with color, as the person.
func applyFlags(color string) harness.Result {
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prod-flags\n  namespace: prod\ndata:\n  color: " + color + "\n"
	return env.kubectl.Run(manifest, "apply", "--server-side", "--force-conflicts", "--as", person, "-f", "-")
}

func notify(t *testing.T, body []byte, hdr http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.receiver, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func metrics(t *testing.T) string {
	t.Helper()
	m, err := env.gitgate.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// failures reads gitgate_git_sync_failures_total for reason.
func failures(t *testing.T, reason string) float64 {
	prefix := `gitgate_git_sync_failures_total{reason="` + reason + `"} `
	for _, line := range strings.Split(metrics(t), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waitRevision waits until gitgate enforces commit hash.
func waitRevision(t *testing.T, hash string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(metrics(t), `gitgate_git_revision_info{revision="main@sha1:`+hash+`"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("revision %s not enforced after 15s", hash)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// headOf is the server's current head of main.
func headOf(t *testing.T) string {
	t.Helper()
	h, err := env.git.Head()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func wantDenied(t *testing.T, r harness.Result, want ...string) {
	t.Helper()
	harness.WantDenied(t, r, want...)
}

// TestReadyzNamesAMissingSandbox runs gitgate with a dry-run namespace
// that does not exist: it serves (the plain /readyz that probes read
// passes), while /readyz's detail, the metric and the log say that
// people's early creates of declared objects will be refused.
func TestReadyzNamesAMissingSandbox(t *testing.T) {
	enforceFixture(t, "blue")
	gg, err := harness.StartGitgate(harness.GitgateOptions{
		Kubeconfig: env.cp.Kubeconfig, RepoURL: env.git.HTTPURL(),
		Args: []string{"--branch", "main", "--interval", "1h", "--dry-run-namespace", "no-such-sandbox",
			"--git-username-file", filepath.Join(env.creds, "username"), "--git-password-file", filepath.Join(env.creds, "password"),
			"--git-insecure-http", "--sync-configmap", ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer gg.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := gg.Metrics()
		if err == nil && strings.Contains(m, "gitgate_dry_run_sandbox_ready 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitgate_dry_run_sandbox_ready is not 0:\n%s\n%s", m, gg.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + gg.HealthAddr + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), "[-]dry-run-sandbox failed") {
		t.Errorf("/readyz?verbose = %d %q, want the sandbox check failed", resp.StatusCode, body)
	}
	// Probes read the plain /readyz: the sandbox alone takes no replica
	// out of service (that would refuse every write).
	plain, err := http.Get("http://" + gg.HealthAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d without the sandbox, want 200", plain.StatusCode)
	}
	if !strings.Contains(gg.Logs(), `the dry-run namespace \"no-such-sandbox\" does not exist`) {
		t.Errorf("the log does not say the sandbox namespace is missing:\n%s", gg.Logs())
	}
}
