package argosync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitgate/gitgate/provenance"
)

// TestGlobalServiceAccounts: the destinationServiceAccounts a project
// inherits as Argo CD v3.6.2's GetGlobalProjects and mergeVirtualProject
// give them: each globalProjects entry, in order, whose selector matches
// the project's labels and that names another project appends that
// project's entries; where Argo CD stops reading (a selector that does
// not parse, a matched global project that is missing), an error.
func TestGlobalServiceAccounts(t *testing.T) {
	dsa := func(sa string) DestinationServiceAccount {
		return DestinationServiceAccount{Server: "*", Namespace: "*", DefaultServiceAccount: sa}
	}
	projects := map[string]*Project{
		"shop":   {Labels: map[string]string{"tier": "apps", "team": "shop"}, DestinationServiceAccounts: []DestinationServiceAccount{dsa("own")}},
		"base":   {DestinationServiceAccounts: []DestinationServiceAccount{dsa("base")}},
		"extra":  {Labels: map[string]string{"tier": "apps"}, DestinationServiceAccounts: []DestinationServiceAccount{dsa("extra")}},
		"silent": {},
	}
	sel := func(project, yaml string) string {
		return fmt.Sprintf("- projectName: %s\n  labelSelector: %s\n", project, yaml)
	}
	tests := []struct {
		name, project, globals string
		want                   []string
		wantErr                bool
	}{
		{name: "none", project: "shop"},
		{name: "matchLabels", project: "shop", globals: sel("base", "{matchLabels: {tier: apps}}"), want: []string{"base"}},
		{name: "matchExpressions", project: "shop", globals: sel("base", "{matchExpressions: [{key: team, operator: In, values: [shop]}]}"),
			want: []string{"base"}},
		{name: "selector does not match", project: "shop", globals: sel("base", "{matchLabels: {tier: infra}}")},
		{name: "in globalProjects' order, a project twice", project: "shop",
			globals: sel("extra", "{matchLabels: {tier: apps}}") + sel("base", "{}") + sel("extra", "{}"), want: []string{"extra", "base", "extra"}},
		{name: "an empty selector matches every project", project: "silent", globals: sel("base", "{}"), want: []string{"base"}},
		{name: "a project is not its own global project", project: "extra", globals: sel("extra", "{matchLabels: {tier: apps}}")},
		{name: "a global project without entries", project: "shop", globals: sel("silent", "{}")},
		{name: "a matched global project is missing", project: "shop", globals: sel("gone", "{matchLabels: {tier: apps}}"), wantErr: true},
		{name: "a missing global project that does not match is not read", project: "shop", globals: sel("gone", "{matchLabels: {tier: x}}")},
		{name: "a selector that does not parse", project: "shop",
			globals: sel("base", "{matchExpressions: [{key: tier, operator: Bogus}]}"), wantErr: true},
		{name: "a bad selector after a match still stops Argo CD", project: "shop",
			globals: sel("base", "{}") + sel("extra", "{matchExpressions: [{key: tier, operator: In}]}"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gps, err := ParseGlobalProjects(tt.globals)
			if err != nil {
				t.Fatal(err)
			}
			got, err := GlobalServiceAccounts(tt.project, projects, gps)
			if tt.wantErr {
				if !errors.Is(err, errGlobalProjects) {
					t.Fatalf("err = %v, want errGlobalProjects", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.DefaultServiceAccount)
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Errorf("inherited %v, want %v", names, tt.want)
			}
		})
	}
}

// TestParseGlobalProjects: argocd-cm's globalProjects is YAML (or JSON);
// one that does not parse is an error, as Argo CD reads none then.
func TestParseGlobalProjects(t *testing.T) {
	for _, tt := range []struct {
		value   string
		want    int
		wantErr bool
	}{
		{value: ""},
		{value: "- projectName: base\n  labelSelector: {matchLabels: {a: b}}\n", want: 1},
		{value: `[{"projectName": "base"}, {"projectName": "other"}]`, want: 2},
		{value: "projectName: base\n", wantErr: true},
		{value: "- projectName: [base]\n", wantErr: true},
	} {
		gps, err := ParseGlobalProjects(tt.value)
		if (err != nil) != tt.wantErr || len(gps) != tt.want {
			t.Errorf("ParseGlobalProjects(%q) = %d entries, %v; want %d, error %v", tt.value, len(gps), err, tt.want, tt.wantErr)
		}
	}
}

func labelled(u *unstructured.Unstructured, labels map[string]string) *unstructured.Unstructured {
	u.SetLabels(labels)
	return u
}

// TestRootAgentFromGlobalProjects: with impersonation on, a root whose
// project has no matching entry of its own takes the first matching
// entry its global projects give; its own match wins over theirs; a
// globalProjects that cannot be read as Argo CD reads it leaves the roots
// that would need it without an agent, not those their own entry serves;
// with impersonation off, globalProjects are not read.
func TestRootAgentFromGlobalProjects(t *testing.T) {
	g := startGit(t)
	url := g.HTTPURL()
	plain := application(t, "plain", "name: in-cluster", fmt.Sprintf("{repoURL: %q, path: plain}", url))
	other := application(t, "other", "server: 'https://kubernetes.default.svc'", fmt.Sprintf("{repoURL: %q, path: other}", url))
	if err := unstructured.SetNestedField(other.Object, "own", "spec", "project"); err != nil {
		t.Fatal(err)
	}
	def := labelled(appProject(t, "default", `[{server: "*", namespace: "elsewhere", defaultServiceAccount: "nope"}]`), map[string]string{"tier": "apps"})
	own := labelled(appProject(t, "own", `[{server: "*", namespace: "other", defaultServiceAccount: "mine"}]`), map[string]string{"tier": "apps"})
	base := appProject(t, "base", `[{server: "https://elsewhere", namespace: "*", defaultServiceAccount: "wrong-server"},`+
		`{server: "https://kubernetes.default.svc", namespace: "*", defaultServiceAccount: "inherited"}]`)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "argocd-cm"}, Data: map[string]string{
		impersonationKey:  "true",
		globalProjectsKey: "- projectName: base\n  labelSelector: {matchLabels: {tier: apps}}\n",
	}}
	logs := &logLines{}
	w, c := newWatcher(t, logs, plain, other, def, own, base, cm)
	ctx := context.Background()
	// agents checks, after a pass, which root each candidate account is
	// the agent of for its namespace's object ("" for none).
	agents := func(step string, want map[string]string) {
		t.Helper()
		if err := w.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		snap := w.Composer.Store.Load()
		for _, c := range []struct{ ns, obj, user string }{
			{"plain", "web", "system:serviceaccount:plain:inherited"},
			{"other", "other", "system:serviceaccount:other:mine"},
		} {
			got := ""
			if r, ok := snap.SyncAgentOf(c.user, provenance.Key{Kind: "ConfigMap", Namespace: c.ns, Name: c.obj}); ok {
				got = r.Name
			}
			if got != want[c.ns] {
				t.Errorf("%s: %s is the agent of %s/%s for %q, want %q; agents %v\n%s", step, c.user, c.ns, c.obj, got, want[c.ns],
					snap.RootAgents(), strings.Join(logs.lines, "\n"))
			}
		}
	}
	agents("global project", map[string]string{"plain": "Application argocd/plain", "other": "Application argocd/other"})
	cm.Data[globalProjectsKey] = "projectName: base\n"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	agents("globalProjects unreadable", map[string]string{"other": "Application argocd/other"})
	cm.Data[globalProjectsKey] = "- projectName: gone\n  labelSelector: {matchLabels: {tier: apps}}\n"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	agents("global project missing", map[string]string{"other": "Application argocd/other"})
	cm.Data = map[string]string{globalProjectsKey: "- projectName: base\n"}
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	agents("impersonation off", map[string]string{})
}
