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
