package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/webhook"
)

// parseServe parses args as `gitgate serve` would and validates them.
func parseServe(t *testing.T, args ...string) (*serveOptions, error) {
	t.Helper()
	var o serveOptions
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &o, o.Validate()
}

func TestServeOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ignore.yaml")
	if err := os.WriteFile(good, []byte("- {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- {kind: Deployment, jsonPointer: [/spec]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--repo-url", "https://git.example.com/fleet.git", "--branch", "main"}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error; none means valid
	}{
		{name: "minimal", args: base},
		{name: "ignore rules from flag and file", args: append(base, "--ignore", "apps/Deployment=/spec/replicas", "--ignore-file", good, "--fields", "declared")},
		{name: "nothing", args: nil, want: []string{"--repo-url or --sources-file is required", "exactly one of branch, tag, semver or commit"}},
		{name: "two refs", args: []string{"--repo-url", "https://x/y.git", "--branch", "main", "--tag", "v1"}, want: []string{"exactly one"}},
		{name: "short commit", args: []string{"--repo-url", "https://x/y.git", "--commit", "abc123"}, want: []string{"not a full 40-character SHA-1"}},
		{name: "bad semver range", args: []string{"--repo-url", "https://x/y.git", "--semver", "not a range"}, want: []string{"semver range"}},
		{name: "password in the URL", args: []string{"--repo-url", "https://u:secret@x/y.git", "--branch", "main"}, want: []string{"must not carry a password"}},
		{name: "password in a URL that does not parse", args: []string{"--repo-url", "https://u:secret%zz@x/y.git", "--branch", "main"}, want: []string{"is not a URL", "https://x/y.git"}},
		{name: "password in the scp form", args: []string{"--repo-url", "git:secret@x.example:org/y.git", "--branch", "main"}, want: []string{"must not carry a password"}},
		{name: "scp form without a password", args: []string{"--repo-url", "git@x.example:org/y.git", "--branch", "main"}},
		{name: "credentials over plain http", args: []string{"--repo-url", "http://x/y.git", "--branch", "main", "--git-username-file", "u", "--git-password-file", "p"}, want: []string{"clear text", "--git-insecure-http"}},
		{name: "token over plain http", args: []string{"--repo-url", "http://x/y.git", "--branch", "main", "--git-token-file", "t"}, want: []string{"clear text"}},
		{name: "credentials over plain http, allowed", args: []string{"--repo-url", "http://x/y.git", "--branch", "main", "--git-username-file", "u", "--git-password-file", "p", "--git-insecure-http"}},
		{name: "anonymous plain http", args: []string{"--repo-url", "http://x/y.git", "--branch", "main"}},
		{name: "client CA file missing", args: append(base, "--client-ca-file", filepath.Join(dir, "nope.pem")), want: []string{"--client-ca-file", "no such file"}},
		{name: "client CA file without certificates", args: append(base, "--client-ca-file", good), want: []string{"--client-ca-file", "holds no PEM certificate"}},
		{name: "not a URL", args: []string{"--repo-url", "fleet", "--branch", "main"}, want: []string{"is not a URL"}},
		{name: "every error at once", args: append(base, "--dry-run-action", "allow", "--fields", "loose", "--interval", "0s", "--port", "0", "--ignore", "Deployment=spec"), want: []string{"--dry-run-action must be enforce or warn", "--fields must be strict or declared", "--interval must be positive", "--port must be 1-65535", "must start with /"}},
		{name: "dry-run namespace not a namespace name", args: append(base, "--dry-run-namespace", "Dry_Run"), want: []string{"--dry-run-namespace \"Dry_Run\""}},
		{name: "dry-run namespace empty", args: append(base, "--dry-run-namespace", ""), want: []string{"--dry-run-namespace \"\""}},
		{name: "ignore file with a typo", args: append(base, "--ignore-file", bad), want: []string{"--ignore-file", "jsonPointer"}},
		{name: "denial hint and browse link", args: append(base, "--denial-hint", "Page #sre-oncall.", "--repo-browse-url", "https://git.example.com/org/fleet/blob/{revision}/{file}")},
		{name: "denial hint too long", args: append(base, "--denial-hint", strings.Repeat("x", 201)), want: []string{"--denial-hint is 201 characters"}},
		{name: "browse link without {file}", args: append(base, "--repo-browse-url", "https://git.example.com/org/fleet"), want: []string{"must hold {file}"}},
		{name: "browse link that is no http URL", args: append(base, "--repo-browse-url", "file:///{file}"), want: []string{"want an http(s) URL template"}},
		{name: "missing ignore file", args: append(base, "--ignore-file", filepath.Join(dir, "nope.yaml")), want: []string{"no such file"}},
		{name: "memory limit", args: append(base, "--memory-limit", "300Mi")},
		{name: "memory limit not a quantity", args: append(base, "--memory-limit", "lots"), want: []string{`--memory-limit "lots": not a quantity of bytes`}},
		{name: "negative memory limit", args: append(base, "--memory-limit", "-1Mi"), want: []string{`--memory-limit "-1Mi"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServe(t, tc.args...)
			checkParseError(t, err, tc.want, "secret")
		})
	}
}

// TestServeConfig: what Validate hands the server is what the flags say,
// parsed once.
func TestServeConfig(t *testing.T) {
	o, err := parseServe(t, "--repo-url", "https://git.example.com/fleet.git", "--tag", "v1", "--path", "apps", "--cache-dir", "/c",
		"--memory-limit", "300Mi", "--fields", "declared", "--ignore", "apps/Deployment=/spec/replicas", "--mode", "warn", "--stale-action", "deny",
		"--cert-mode", "self-managed", "--cert-namespace", "gg", "--service-name", "hook")
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if !reflect.DeepEqual(c.Source, []string{server.SourceRepo}) || len(c.Sources) != 1 || c.Sources[0].URL != "https://git.example.com/fleet.git" || c.Sources[0].Ref.Tag != "v1" ||
		!reflect.DeepEqual(c.Sources[0].Paths, []string{"apps"}) || c.Sources[0].CacheDir != "/c" || c.Sources[0].Interval != 30*time.Second {
		t.Errorf("sources = %+v", c.Sources)
	}
	if c.MemoryLimit == nil || *c.MemoryLimit != 300<<20 {
		t.Errorf("memory limit = %v, want 300Mi", c.MemoryLimit)
	}
	if c.Fields != provenance.FieldsDeclared || c.Ignores == nil || c.Policy.Mode != webhook.Warn || c.Policy.StaleAction != server.StaleDeny {
		t.Errorf("fields %q, ignores %v, mode %q, stale action %q", c.Fields, c.Ignores, c.Policy.Mode, c.Policy.StaleAction)
	}
	if c.Certs.Mode != server.CertModeSelfManaged || c.Certs.SelfManaged.Namespace != "gg" || c.Certs.SelfManaged.Hosts[0] != "hook.gg.svc" {
		t.Errorf("certs = %+v", c.Certs)
	}
	if !reflect.DeepEqual(c.Identities, webhook.DefaultIdentities()) || !reflect.DeepEqual(c.Skip, webhook.DefaultSkip()) {
		t.Errorf("identities %+v, skip %v", c.Identities, c.Skip)
	}
	o, err = parseServe(t, "--source", "flux", "--cache-dir", "/c", "--git-insecure-http")
	if err != nil {
		t.Fatal(err)
	}
	if c := o.cfg; c.MemoryLimit != nil || len(c.Sources) != 0 || c.Flux.CacheDir != "/c" || !c.Flux.InsecureHTTP {
		t.Errorf("flux: memory limit %v, sources %v, flux %+v", c.MemoryLimit, c.Sources, c.Flux)
	}
}

// checkParseError holds parseServe's error to want: none when want is
// empty, else one holding every want and never the password secret.
func checkParseError(t *testing.T, err error, want []string, secret string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want an error with %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error repeats the password: %v", err)
	}
}

func TestRedactURLDropsCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@git.example.com/fleet.git": "https://git.example.com/fleet.git",
		"ssh://git@git.example.com/fleet.git":       "ssh://git.example.com/fleet.git",
		"https://git.example.com/fleet.git":         "https://git.example.com/fleet.git",
		"https://user:s3cr%zzet@git.example/fleet":  "https://git.example/fleet",
		"https://user:p/w@git.example/fleet":        "https://git.example/fleet",
		"git:s3cret@host.example:org/repo.git":      "host.example:org/repo.git",
	} {
		if got := gitsource.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
