package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSourcesFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
- name: fleet
  url: https://git.example.com/fleet.git
  ref: {branch: main}
  paths: [apps, infra]
  credentials: {usernameFile: /etc/git/username, passwordFile: /etc/git/password}
- name: platform
  url: ssh://git@git.example.com/platform.git
  ref: {semver: ">=1.0.0"}
  interval: 5m
  credentials: {sshKeyFile: /etc/git/key, knownHostsFile: /etc/git/known_hosts}
  verify: {pgpKeyring: /etc/git/keys.asc}
`)
	tests := []struct {
		name string
		args []string
		file string // content of the sources file, when set
		want []string
	}{
		{name: "two sources", args: []string{"--sources-file", good}},
		{name: "typo in a field", file: "- {name: a, url: https://x/y.git, ref: {branch: main}, path: [apps]}\n", want: []string{`unknown field "path"`}},
		{name: "every source checked", file: `
- {name: Bad_Name, url: "https://u:secret@x/y.git", ref: {}}
- {name: ok, url: http://x/y.git, ref: {branch: main}, interval: 0s, credentials: {tokenFile: /t}}
- {name: ok, url: https://x/z.git, ref: {tag: v1}}
- {name: signed, url: https://x/w.git, ref: {tag: v1}, verify: {}}
`, want: []string{`source 1 ("Bad_Name"): name "Bad_Name" must be a DNS label`, "must not carry a password", "ref: exactly one",
			`source 2 ("ok"): interval "0s" must be a positive duration`, "clear text", "credentials.insecureHTTP",
			`source 3 ("ok"): name used twice`, `source 4 ("signed"): verify needs pgpKeyring or sshAllowedSigners`}},
		{name: "empty file", file: "[]\n", want: []string{"no source"}},
		{name: "not a list", file: "name: fleet\n", want: []string{"--sources-file"}},
		{name: "with --repo-url", args: []string{"--sources-file", good, "--repo-url", "https://x/y.git"}, want: []string{"--sources-file excludes --repo-url"}},
		{name: "with a credential flag", args: []string{"--sources-file", good, "--git-token-file", "/t"}, want: []string{"set them per source"}},
		{name: "missing file", args: []string{"--sources-file", filepath.Join(dir, "nope.yaml")}, want: []string{"no such file"}},
		{name: "flux", args: []string{"--source", "flux", "--flux-namespace", "flux-system", "--flux-namespace", "apps", "--git-insecure-http"}},
		{name: "flux with repo flags", args: []string{"--source", "flux", "--repo-url", "https://x/y.git", "--branch", "main"}, want: []string{"--source flux excludes --repo-url"}},
		{name: "flux with a credential flag", args: []string{"--source", "flux", "--git-token-file", "/t"}, want: []string{"each GitRepository names its own"}},
		{name: "flux with the receiver", args: []string{"--source", "flux", "--receiver-bind-address", ":9292", "--receiver-secret-file", "/s"}, want: []string{"excludes --receiver-bind-address"}},
		{name: "flux namespace not a name", args: []string{"--source", "flux", "--flux-namespace", "Flux_System"}, want: []string{`--flux-namespace "Flux_System"`}},
		{name: "flux interval", args: []string{"--source", "flux", "--flux-min-interval", "0s"}, want: []string{"--flux-min-interval must be positive"}},
		{name: "argocd", args: []string{"--source", "argocd", "--argocd-namespace", "argocd", "--argocd-namespace", "apps", "--argocd-cluster-name", "prod"}},
		{name: "argocd with credentials by URL", args: []string{"--source", "argocd", "--sources-file", write("argo.yaml", "- {name: fleet, url: 'https://git.example.com/fleet.git', credentials: {tokenFile: /t}}\n")}},
		{name: "argocd with repo flags", args: []string{"--source", "argocd", "--repo-url", "https://x/y.git", "--branch", "main"}, want: []string{"--source argocd excludes --repo-url"}},
		{name: "argocd with a credential flag", args: []string{"--source", "argocd", "--git-token-file", "/t"}, want: []string{"give credentials in --sources-file"}},
		{name: "argocd namespace not a name", args: []string{"--source", "argocd", "--argocd-namespace", "Argo_CD"}, want: []string{`--argocd-namespace "Argo_CD"`}},
		{name: "argocd interval", args: []string{"--source", "argocd", "--argocd-min-interval", "0s"}, want: []string{"--argocd-min-interval must be positive"}},
		{name: "unknown driver", args: []string{"--source", "helm"}, want: []string{"--source must be repo, flux or argocd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = []string{"--sources-file", write(strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.file)}
			}
			_, err := parseServe(t, args...)
			checkParseError(t, err, tc.want, "secret@")
		})
	}
	o, err := parseServe(t, "--sources-file", good, "--interval", "45s", "--cache-dir", "/var/cache/gitgate")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.cfg.Sources) != 2 {
		t.Fatalf("sources = %d, want 2", len(o.cfg.Sources))
	}
	fleet, platform := o.cfg.Sources[0], o.cfg.Sources[1]
	if fleet.Name != "fleet" || fleet.Ref.Branch != "main" || !reflect.DeepEqual(fleet.Paths, []string{"apps", "infra"}) || fleet.Interval != 45*time.Second ||
		fleet.Credentials.PasswordFile != "/etc/git/password" || fleet.CacheDir != "/var/cache/gitgate/fleet" {
		t.Errorf("fleet = %+v", fleet)
	}
	if platform.Ref.SemVer != ">=1.0.0" || platform.Interval != 5*time.Minute || platform.VerifyKeyring != "/etc/git/keys.asc" || platform.Credentials.SSHKeyFile != "/etc/git/key" {
		t.Errorf("platform = %+v", platform)
	}
}

// TestServeSourceKinds checks --source naming several drivers: each value
// and duplicates, which driver's flags are excluded by which, and a
// driver's own flags without the driver.
func TestServeSourceKinds(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "argo.yaml")
	if err := os.WriteFile(creds, []byte("- {name: fleet, url: 'https://git.example.com/fleet.git', credentials: {tokenFile: /t}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := []string{"--repo-url", "https://git.example.com/fleet.git", "--branch", "main"}
	tests := []struct {
		name  string
		args  []string
		kinds []string // cfg.Source, when valid
		want  []string // substrings of the error; none means valid
	}{
		{name: "default", args: repo, kinds: []string{"repo"}},
		{name: "comma-separated", args: []string{"--source", "flux,argocd"}, kinds: []string{"flux", "argocd"}},
		{name: "repeated", args: append([]string{"--source", "repo", "--source", "argocd"}, repo...), kinds: []string{"repo", "argocd"}},
		{name: "all three", args: append([]string{"--source", "argocd,repo", "--source", "flux", "--flux-namespace", "flux-system", "--argocd-namespace", "argocd"}, repo...), kinds: []string{"argocd", "repo", "flux"}},
		{name: "flux and argocd with credentials by URL", args: []string{"--source", "flux,argocd", "--sources-file", creds}, kinds: []string{"flux", "argocd"}},
		{name: "repo and flux with the receiver", args: append([]string{"--source", "repo,flux", "--receiver-bind-address", ":9292", "--receiver-secret-file", "/s"}, repo...), kinds: []string{"repo", "flux"}},
		{name: "named twice", args: []string{"--source", "flux,flux"}, want: []string{"--source names flux twice"}},
		{name: "named twice repeated", args: []string{"--source", "argocd", "--source", "argocd"}, want: []string{"--source names argocd twice"}},
		{name: "unknown among known", args: []string{"--source", "flux,helm"}, want: []string{`--source must be repo, flux or argocd, got "helm"`}},
		{name: "empty value", args: []string{"--source", "flux,"}, want: []string{`got ""`}},
		{name: "none", args: []string{"--source", ""}, want: []string{"--source must name at least one"}},
		{name: "repo flags still required with repo", args: []string{"--source", "repo,flux"}, want: []string{"--repo-url or --sources-file is required"}},
		{name: "flux and argocd exclude repo flags", args: append([]string{"--source", "flux,argocd"}, repo...), want: []string{"--source flux excludes --repo-url", "--source argocd excludes --repo-url"}},
		{name: "flux and argocd exclude the receiver", args: []string{"--source", "flux,argocd", "--receiver-bind-address", ":9292", "--receiver-secret-file", "/s"}, want: []string{"--source flux excludes --receiver-bind-address", "--source argocd excludes --receiver-bind-address"}},
		{name: "flux flag without flux", args: append([]string{"--flux-namespace", "flux-system"}, repo...), want: []string{"--flux-namespace needs --source flux"}},
		{name: "flux interval without flux", args: []string{"--source", "argocd", "--flux-min-interval", "1m"}, want: []string{"--flux-min-interval needs --source flux"}},
		{name: "argocd flags without argocd", args: []string{"--source", "flux", "--argocd-namespace", "argocd", "--argocd-cluster-name", "prod", "--argocd-min-interval", "1m", "--argocd-repo-secrets"},
			want: []string{"--argocd-namespace needs --source argocd", "--argocd-cluster-name needs", "--argocd-min-interval needs", "--argocd-repo-secrets needs"}},
		{name: "flux sources file without argocd", args: []string{"--source", "flux", "--sources-file", creds}, want: []string{"--source flux excludes --repo-url, --sources-file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseServe(t, tc.args...)
			checkParseError(t, err, tc.want, "secret@")
			if err == nil && !reflect.DeepEqual(o.cfg.Source, tc.kinds) {
				t.Errorf("source = %q, want %q", o.cfg.Source, tc.kinds)
			}
		})
	}
	o, err := parseServe(t, append([]string{"--source", "repo,argocd", "--git-token-file", "/t", "--cache-dir", "/c"}, repo...)...)
	if err != nil {
		t.Fatal(err)
	}
	if a := o.cfg.ArgoCD; len(a.Repositories) != 1 || a.Repositories[0].Credentials.TokenFile != "/t" || a.CacheDir != "/c" || len(o.cfg.Sources) != 1 {
		t.Errorf("repo and argocd: Argo CD takes the repository's credentials by URL: argocd %+v, sources %+v", a, o.cfg.Sources)
	}
}
