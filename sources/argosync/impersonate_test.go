package argosync

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
)

// TestServiceAccountFor: the user Argo CD v3.6's
// settings.DeriveServiceAccountToImpersonate derives: the first entry
// whose server and namespace globs match, ns:sa as given, else the
// destination namespace (the Application's when none); "" when none
// matches; an error on an invalid entry or glob, and for an Application
// its project does not admit.
func TestServiceAccountFor(t *testing.T) {
	dsa := func(server, ns, sa string) DestinationServiceAccount {
		return DestinationServiceAccount{Server: server, Namespace: ns, DefaultServiceAccount: sa}
	}
	tests := []struct {
		name    string
		entries []DestinationServiceAccount
		sources []string
		appNS   string
		destNS  string
		server  string
		unknown bool // a cluster Secret's name: gitgate does not know the URL
		want    string
		wantErr string
	}{
		{name: "exact match", entries: []DestinationServiceAccount{dsa(InClusterServer, "shop", "deployer")}, destNS: "shop",
			want: "system:serviceaccount:shop:deployer"},
		{name: "glob server and namespace", entries: []DestinationServiceAccount{dsa("https://kubernetes.*", "sh*", "deployer")}, destNS: "shop",
			want: "system:serviceaccount:shop:deployer"},
		{name: "the first match wins", entries: []DestinationServiceAccount{dsa("*", "other", "a"), dsa("*", "*", "b"), dsa("*", "shop", "c")}, destNS: "shop",
			want: "system:serviceaccount:shop:b"},
		{name: "ns:sa names its namespace", entries: []DestinationServiceAccount{dsa("*", "*", "argocd-sync:deployer")}, destNS: "shop",
			want: "system:serviceaccount:argocd-sync:deployer"},
		{name: "no destination namespace: the Application's", entries: []DestinationServiceAccount{dsa("*", "*", "deployer")}, destNS: "",
			want: "system:serviceaccount:argocd:deployer"},
		{name: "empty namespace glob matches only an empty destination namespace", entries: []DestinationServiceAccount{dsa("*", "", "deployer")}, destNS: "shop"},
		{name: "server does not match", entries: []DestinationServiceAccount{dsa("https://elsewhere:6443", "*", "deployer")}, destNS: "shop"},
		{name: "namespace does not match", entries: []DestinationServiceAccount{dsa("*", "web-*", "deployer")}, destNS: "shop"},
		{name: "no entries", destNS: "shop"},
		{name: "* crosses dots and slashes", entries: []DestinationServiceAccount{dsa("https://*", "*", "deployer")}, destNS: "shop",
			want: "system:serviceaccount:shop:deployer"},
		{name: "blank service account", entries: []DestinationServiceAccount{dsa("*", "*", " ")}, destNS: "shop", wantErr: "invalid chars"},
		{name: "service account with a glob character", entries: []DestinationServiceAccount{dsa("*", "*", "deploy*")}, destNS: "shop", wantErr: "invalid chars"},
		{name: "invalid glob stops the search", entries: []DestinationServiceAccount{dsa("[", "*", "a"), dsa("*", "*", "b")}, destNS: "shop", wantErr: "invalid glob"},
		{name: "Application outside Argo CD's namespace, admitted by glob", entries: []DestinationServiceAccount{dsa("*", "*", "deployer")},
			sources: []string{"team-*"}, appNS: "team-a", destNS: "shop", want: "system:serviceaccount:shop:deployer"},
		{name: "Application outside Argo CD's namespace, admitted by regexp", entries: []DestinationServiceAccount{dsa("*", "*", "deployer")},
			sources: []string{"/^team-[a-z]$/"}, appNS: "team-a", want: "system:serviceaccount:team-a:deployer"},
		{name: "Application outside Argo CD's namespace, not admitted", entries: []DestinationServiceAccount{dsa("*", "*", "deployer")},
			sources: []string{"team-*"}, appNS: "intruder", destNS: "shop", wantErr: "does not admit"},
		{name: "unknown URL: an entry for every server matches", entries: []DestinationServiceAccount{dsa("*", "shop", "deployer")},
			destNS: "shop", unknown: true, want: "system:serviceaccount:shop:deployer"},
		{name: "unknown URL: another namespace's entry is skipped whatever its server", entries: []DestinationServiceAccount{
			dsa("https://elsewhere:6443", "web", "a"), dsa("*", "*", "b")}, destNS: "shop", unknown: true, want: "system:serviceaccount:shop:b"},
		{name: "unknown URL: an entry for one server may or may not match", entries: []DestinationServiceAccount{
			dsa(InClusterServer, "shop", "a"), dsa("*", "*", "b")}, destNS: "shop", unknown: true, wantErr: "server URL gitgate does not read"},
		{name: "unknown URL: a server glob short of * may or may not match", entries: []DestinationServiceAccount{dsa("https://*", "*", "a")},
			destNS: "shop", unknown: true, wantErr: "server URL gitgate does not read"},
		{name: "unknown URL: no entry for the namespace", entries: []DestinationServiceAccount{dsa("https://x", "web", "a")}, destNS: "shop", unknown: true},
		{name: "unknown URL: an invalid server glob still stops the search", entries: []DestinationServiceAccount{dsa("[", "web", "a"), dsa("*", "*", "b")},
			destNS: "shop", unknown: true, wantErr: "invalid glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := tt.appNS
			if ns == "" {
				ns = "argocd"
			}
			app := &argorender.Application{Namespace: ns, Name: "web"}
			app.Spec.Project = "shop"
			app.Spec.Destination.Namespace = tt.destNS
			server := tt.server
			if server == "" && !tt.unknown {
				server = InClusterServer
			}
			got, err := ServiceAccountFor(&Project{SourceNamespaces: tt.sources, DestinationServiceAccounts: tt.entries}, app, "argocd", server)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ServiceAccountFor = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func appProject(t *testing.T, name, entries string) *unstructured.Unstructured {
	t.Helper()
	y := fmt.Sprintf("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: %s, namespace: argocd}\nspec:\n  destinationServiceAccounts: %s\n", name, entries)
	return &unstructured.Unstructured{Object: testyaml.ToMap(t, y)}
}

// TestRootAgentFromImpersonation: with argocd-cm's impersonation on, a
// root's agent is its project's matching service account, for its
// objects alone; off, or with no matching entry, missing project or a
// destination named by a cluster Secret, none; turning it off clears it.
func TestRootAgentFromImpersonation(t *testing.T) {
	g := startGit(t)
	url := g.HTTPURL()
	plain := application(t, "plain", "name: in-cluster", fmt.Sprintf("{repoURL: %q, path: plain}", url))
	kust := application(t, "kust", "name: gitgate-test", fmt.Sprintf("{repoURL: %q, path: kust}", url))
	other := application(t, "other", "server: 'https://kubernetes.default.svc'", fmt.Sprintf("{repoURL: %q, path: other}", url))
	if err := unstructured.SetNestedField(other.Object, "missing", "spec", "project"); err != nil {
		t.Fatal(err)
	}
	proj := appProject(t, "default", `[{server: "https://kubernetes.default.svc", namespace: "kust", defaultServiceAccount: "none"},`+
		`{server: "*", namespace: "plain", defaultServiceAccount: "deployer"}, {server: "*", namespace: "*", defaultServiceAccount: "any"}]`)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "argocd-cm"},
		Data: map[string]string{impersonationKey: "true"}}
	logs := &logLines{}
	w, c := newWatcher(t, logs, plain, kust, other, proj, cm)
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	snap := w.Composer.Store.Load()
	web := provenance.Key{Kind: "ConfigMap", Namespace: "plain", Name: "web"}
	if r, ok := snap.SyncAgentOf("system:serviceaccount:plain:deployer", web); !ok || r.Name != "Application argocd/plain" {
		t.Fatalf("SyncAgentOf(deployer, plain/web) = %v, %v; agents %v\n%s", r, ok, snap.RootAgents(), strings.Join(logs.lines, "\n"))
	}
	if got := snap.RootAgents(); len(got) != 1 {
		t.Errorf("root agents %v, want plain's deployer alone (kust names its cluster by a Secret, other's project is missing)", got)
	}
	if _, ok := snap.SyncAgentOf("system:serviceaccount:plain:deployer", provenance.Key{Kind: "ConfigMap", Namespace: "kust", Name: "api"}); ok {
		t.Error("plain's agent is an agent for kust's object")
	}
	cm.Data[impersonationKey] = "false"
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.Composer.Store.Load().RootAgents(); len(got) != 0 {
		t.Errorf("root agents %v with impersonation off, want none", got)
	}
}
