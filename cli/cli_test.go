package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs gitgate with args and stdin, as main does.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name                   string
		args                   []string
		code                   int
		stdout, stderr, absent []string
	}{
		{name: "no command", args: nil, code: 2, stderr: []string{"Error: a command is required", "Usage:", "Available Commands:"}},
		{name: "unknown command", args: []string{"serv"}, code: 2, stderr: []string{`unknown command "serv"`, "Usage:"}},
		{name: "unknown flag", args: []string{"serve", "--bogus"}, code: 2, stderr: []string{"unknown flag: --bogus", "Git source flags:"}},
		{name: "bad flag value", args: []string{"serve", "--port", "x"}, code: 2, stderr: []string{`invalid argument "x" for "--port"`, "Usage:\n  gitgate serve"}},
		{name: "invalid serve flags", args: []string{"serve", "--fields", "loose"}, code: 2, stderr: []string{"--repo-url or --sources-file is required", "--fields must be strict or declared", "Server flags:"}},
		{name: "invalid --gitops-kind", args: []string{"serve", "--repo-url", "https://x/y.git", "--branch", "main", "--gitops-kind", "fluxcd.controlplane.io/resourcesets", "--gitops-kind", "/Kustomization"}, code: 2,
			stderr: []string{`--gitops-kind "fluxcd.controlplane.io/resourcesets": "resourcesets" is not a kind`, `"/Kustomization": want GROUP or GROUP/KIND`, "Identities flags:"}},
		{name: "serve takes no arguments", args: []string{"serve", "extra"}, code: 2, stderr: []string{`unknown command "extra"`}},
		{name: "help serve", args: []string{"help", "serve"}, code: 0, stdout: []string{"Run the admission webhook", "Git source flags:", "--repo-url", "Identities flags:", "--agent", "--gitops-kind", "Comparison flags:", "--fields", "Policy, break-glass and audit flags:", "--mode", "Certificates flags:", "--cert-mode", "Logging flags:", "--zap-log-level", "Server flags:", "--port"}, absent: []string{"Available Commands"}},
		{name: "serve --help", args: []string{"serve", "--help"}, code: 0, stdout: []string{"Git source flags:"}},
		{name: "help check", args: []string{"help", "check"}, code: 0, stdout: []string{"offline", "--as-group", "--operation", "-o, --output"}},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"gitgate dev\n", "commit: ", "built: ", "go: go1."}},
		{name: "version takes no arguments", args: []string{"version", "x"}, code: 2, stderr: []string{`unknown command "x" for "gitgate version"`}},
		{name: "completion bash", args: []string{"completion", "bash"}, code: 0, stdout: []string{"bash completion V2 for gitgate", "__start_gitgate"}},
		{name: "completion zsh", args: []string{"completion", "zsh"}, code: 0, stdout: []string{"#compdef gitgate"}},
		{name: "completion fish", args: []string{"completion", "fish"}, code: 0, stdout: []string{"complete -c gitgate"}},
		{name: "breakglass without a command", args: []string{"breakglass"}, code: 2, stderr: []string{"grant, revoke or list"}},
		{name: "breakglass grant without a name", args: []string{"breakglass", "grant"}, code: 2, stderr: []string{"takes 1 argument(s)", "--reason"}},
		{name: "breakglass revoke with a bad flag", args: []string{"breakglass", "revoke", "x", "--for", "1h"}, code: 2, stderr: []string{"unknown flag: --for"}},
		{name: "check without anything", args: []string{"check"}, code: 2, stderr: []string{"a source is required", "-f is required", "--as is required", "Usage:"}},
		{name: "check with two sources", args: []string{"check", "--local", ".", "--repo-url", "https://x/y.git", "-f", "x", "--as", "u"}, code: 2, stderr: []string{"--local and --repo-url are exclusive"}},
		{name: "check update without old", args: []string{"check", "--local", ".", "-f", "x", "--as", "u", "--operation", "update"}, code: 2, stderr: []string{"--operation update needs --old"}},
		{name: "check bad operation", args: []string{"check", "--local", ".", "-f", "x", "--as", "u", "--operation", "patch", "-o", "yaml"}, code: 2, stderr: []string{"--operation must be create, update or delete", "-o must be text or json"}},
		{name: "check reads stdin once", args: []string{"check", "--local", ".", "-f", "-", "--old", "-", "--as", "u", "--operation", "update"}, code: 2, stderr: []string{"cannot both read stdin"}},
		{name: "check update of an object --old lacks", args: []string{"check", "--local", shop, "-f", filepath.Join(shop, "config.yaml"), "--old", filepath.Join(shop, "web.yaml"), "--as", "u", "--operation", "update"}, code: 1, stderr: []string{"--old holds no ConfigMap shop/web-config to update"}},
		{name: "render without a source", args: []string{"render"}, code: 2, stderr: []string{"a source is required"}},
		{name: "render of a missing directory", args: []string{"render", "--local", "/nonexistent"}, code: 1, stderr: []string{"--local /nonexistent", "no such file"}, absent: []string{"Usage:"}},
		{name: "render --source flux needs a directory", args: []string{"render", "--source", "flux", "--repo-url", "https://x/y.git", "--branch", "main", "--path", "a", "--path", "b"}, code: 2,
			stderr: []string{"--source flux reads a directory: --local DIR", "--branch, --tag, --semver and --commit need --repo-url, not --source flux", "--source flux renders one --path"}},
		{name: "render --source flux bad flags", args: []string{"render", "--source", "flux", "--local", ".", "--local-source", "flux-system", "--kube-version", "one"}, code: 2,
			stderr: []string{"--local-source must be NAMESPACE/NAME", "--kube-version: kube version \"one\""}},
		{name: "render --source bogus", args: []string{"render", "--source", "bogus", "--local", "."}, code: 2, stderr: []string{"--source must be repo, flux or argocd"}},
		{name: "render flux flags need --source flux", args: []string{"render", "--local", ".", "--kube-version", "1.33"}, code: 2, stderr: []string{"need --source flux"}},
		{name: "help render", args: []string{"help", "render"}, code: 0, stdout: []string{"--source flux", "--local-source", "--kube-version", "--api-versions", "fresh install (revision 1"}},
		{name: "drift bad output", args: []string{"drift", "--local", ".", "-o", "yaml"}, code: 2, stderr: []string{"-o must be table or json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(stdout+stderr, w) {
					t.Errorf("output holds %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}

// shop is the example repository the e2e tests enforce.
var shop = filepath.Join("..", "examples", "shop")

const (
	undeclaredConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\ndata: {a: b}\n"
	shopConfig          = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {greeting: hello, currency: EUR}\n"
	changedConfig       = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {greeting: hi, currency: EUR}\n"
	unknownKind         = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"
	agentUser           = "system:serviceaccount:flux-system:kustomize-controller"
)

func TestCheckVerdicts(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	writeFile(t, old, shopConfig)
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		verdicts []string // verdict lines, in order
		message  []string
	}{
		{name: "a person creates what Git does not declare", stdin: undeclaredConfigMap, args: []string{"--as", "alice"}, code: 1,
			verdicts: []string{"denied CREATE ConfigMap shop/extra (not-in-git)"}, message: []string{"[not-in-git] gitgate denied CREATE of ConfigMap shop/extra by alice: Git does not declare this object in path ./ at sha1:", "To create it, commit it to"}},
		{name: "a person updates a declared object to Git's values", stdin: shopConfig, args: []string{"--as", "alice", "--operation", "update", "--old", old}, code: 0,
			verdicts: []string{"allowed UPDATE ConfigMap shop/web-config (matches-git)"}},
		{name: "a person changes a declared value", stdin: changedConfig, args: []string{"--as", "alice", "--operation", "update", "--old", old}, code: 1,
			verdicts: []string{"denied UPDATE ConfigMap shop/web-config (field-mismatch)"}, message: []string{`data.greeting: Git has "hello", request has "hi"`, "file config.yaml"}},
		{name: "a person deletes a declared object", stdin: shopConfig, args: []string{"--as", "alice", "--operation", "delete"}, code: 1,
			verdicts: []string{"denied DELETE ConfigMap shop/web-config (managed-delete)"}},
		{name: "a person creates a declared object: defaults unknown offline", stdin: shopConfig, args: []string{"--as", "alice"}, code: 1,
			verdicts: []string{"denied CREATE ConfigMap shop/web-config (defaults-unknown)"}, message: []string{"without a cluster to dry-run it"}},
		{name: "the agent may do anything", stdin: undeclaredConfigMap, args: []string{"--as", agentUser}, code: 0,
			verdicts: []string{"allowed CREATE ConfigMap shop/extra (agent)"}},
		{name: "warn mode allows with the denial as a warning", stdin: undeclaredConfigMap, args: []string{"--as", "alice", "--mode", "warn"}, code: 0,
			verdicts: []string{"allowed CREATE ConfigMap shop/extra (not-in-git)"}, message: []string{"Warning: ", "Git does not declare this object"}},
		{name: "an unknown kind is reported, not guessed", stdin: unknownKind, args: []string{"--as", "alice"}, code: 1,
			verdicts: []string{"denied CREATE Widget.example.com shop/w (unknown-kind)"}, message: []string{"unknown kind Widget.example.com"}},
		{name: "one denial among allowed objects", stdin: shopConfig + "---\n" + undeclaredConfigMap, args: []string{"--as", agentUser, "--operation", "delete"}, code: 0,
			verdicts: []string{"allowed DELETE ConfigMap shop/web-config (agent)", "allowed DELETE ConfigMap shop/extra (agent)"}},
		{name: "a manifest without a namespace updates the object in -n's", stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {greeting: hello, currency: EUR}\n", args: []string{"--as", "alice", "--operation", "update", "--old", old, "-n", "shop"}, code: 0,
			verdicts: []string{"allowed UPDATE ConfigMap shop/web-config (matches-git)"}},
		{name: "a List as kubectl get -o yaml prints it, namespace from -n", stdin: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n", args: []string{"--as", "alice", "-n", "shop"}, code: 1,
			verdicts: []string{"denied CREATE ConfigMap shop/a (not-in-git)", "denied CREATE Secret shop/b (not-in-git)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check", "--local", shop, "-f", "-"}, tc.args...)
			code, stdout, stderr := runCLI(t, tc.stdin, args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			var lines []string
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, "allowed ") || strings.HasPrefix(l, "denied ") {
					lines = append(lines, l)
				}
			}
			if strings.Join(lines, "\n") != strings.Join(tc.verdicts, "\n") {
				t.Errorf("verdicts:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.verdicts, "\n"))
			}
			for _, w := range tc.message {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	code, stdout, stderr := runCLI(t, undeclaredConfigMap+"---\n"+shopConfig, "check", "--local", shop, "-f", "-", "--as", "alice", "-o", "json", "--operation", "delete")
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	var got []checkVerdict
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(got) != 2 {
		t.Fatalf("got %d verdicts, want 2:\n%s", len(got), stdout)
	}
	want := []checkVerdict{
		{Operation: "DELETE", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "extra", Allowed: true, Reason: "not-managed"},
		{Operation: "DELETE", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config", Allowed: false, Reason: "managed-delete"},
	}
	for i, w := range want {
		g := got[i]
		g.Message, g.Warnings = "", nil
		if g.Operation != w.Operation || g.Kind != w.Kind || g.Namespace != w.Namespace || g.Name != w.Name || g.Allowed != w.Allowed || g.Reason != w.Reason {
			t.Errorf("verdict %d = %+v, want %+v", i, g, w)
		}
	}
	if !strings.HasPrefix(got[1].Message, "[managed-delete] gitgate denied DELETE of ConfigMap shop/web-config by alice") {
		t.Errorf("message %q", got[1].Message)
	}
}

func TestRender(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "render", "--local", shop)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{"# revision sha1:", ": 4 objects", "---\n# Namespace shop from 00-namespace.yaml\n", "# Deployment.apps shop/web from web.yaml\napiVersion: apps/v1\n", "cpu: 500m", "# Service shop/web from web.yaml"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("render output lacks %q:\n%s", w, stdout)
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "w.yaml"), unknownKind)
	code, _, stderr = runCLI(t, "", "render", "--local", dir)
	if code != 0 || !strings.Contains(stderr, "Warning: unknown kind Widget.example.com") {
		t.Errorf("exit code %d, stderr:\n%s\nwant 0 and a warning about Widget", code, stderr)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
