package fluxsync

import (
	"testing"

	"errors"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-git/go-git/v5/plumbing/object"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"strings"
	"time"

	"github.com/gitgate/gitgate/internal/testgit"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
)

func TestRefOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ref     *sourcev1.GitRepositoryRef
		want    gitsource.Ref
		wantErr error
	}{
		{name: "none is master, as Flux", ref: nil, want: gitsource.Ref{Branch: "master"}},
		{name: "empty is master", ref: &sourcev1.GitRepositoryRef{}, want: gitsource.Ref{Branch: "master"}},
		{name: "branch", ref: &sourcev1.GitRepositoryRef{Branch: "main"}, want: gitsource.Ref{Branch: "main"}},
		{name: "tag over branch", ref: &sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1"}, want: gitsource.Ref{Tag: "v1"}},
		{name: "semver over tag", ref: &sourcev1.GitRepositoryRef{Tag: "v1", SemVer: ">=1.0.0"}, want: gitsource.Ref{SemVer: ">=1.0.0"}},
		{name: "commit over all", ref: &sourcev1.GitRepositoryRef{Branch: "main", SemVer: "1.x", Commit: "0123456789abcdef0123456789abcdef01234567"}, want: gitsource.Ref{Commit: "0123456789abcdef0123456789abcdef01234567"}},
		{name: "name is refused", ref: &sourcev1.GitRepositoryRef{Name: "refs/pull/1/head"}, wantErr: ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := refOf(tc.ref)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("refOf = %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCheckSupported(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec sourcev1.GitRepositorySpec
		want string // "" is supported
	}{
		{name: "plain", spec: sourcev1.GitRepositorySpec{URL: "https://git.example/a.git"}},
		{name: "generic provider", spec: sourcev1.GitRepositorySpec{Provider: "generic"}},
		{name: "verify HEAD", spec: sourcev1.GitRepositorySpec{Verification: &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEAD}}},
		{name: "github provider", spec: sourcev1.GitRepositorySpec{Provider: "github"}, want: "provider github"},
		{name: "include", spec: sourcev1.GitRepositorySpec{Include: []sourcev1.GitRepositoryInclude{{}}}, want: "include"},
		{name: "sparse checkout", spec: sourcev1.GitRepositorySpec{SparseCheckout: []string{"apps"}}, want: "sparseCheckout"},
		{name: "submodules", spec: sourcev1.GitRepositorySpec{RecurseSubmodules: true}, want: "recurseSubmodules"},
		{name: "proxy", spec: sourcev1.GitRepositorySpec{ProxySecretRef: &meta.LocalObjectReference{Name: "p"}}, want: "proxySecretRef"},
		{name: "verify tags", spec: sourcev1.GitRepositorySpec{Verification: &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitTag}}, want: "verify.mode Tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSupported(&tc.spec)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrUnsupported) || !contains(err.Error(), tc.want)):
				t.Errorf("error = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestRootOf(t *testing.T) {
	ks := func(srcNS string) *kustomizev1.Kustomization {
		return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "apps"},
			Spec: kustomizev1.KustomizationSpec{SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet", Namespace: srcNS}}}
	}
	for _, tc := range []struct {
		name string
		ks   *kustomizev1.Kustomization
		url  string
		want provenance.Root
	}{
		{name: "source in the same namespace", ks: ks(""), url: "https://git.example/fleet.git",
			want: provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet", URL: "https://git.example/fleet.git"}},
		{name: "source elsewhere", ks: ks("infra"), url: "ssh://git@git.example/fleet.git",
			want: provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository infra/fleet", URL: "ssh://git.example/fleet.git"}},
		{name: "credentials in the URL are removed", ks: ks(""), url: "https://user:pw@git.example/fleet.git",
			want: provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet", URL: gitsource.RedactURL("https://user:pw@git.example/fleet.git")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RootOf(tc.ks, tc.url); got != tc.want {
				t.Errorf("RootOf = %+v, want %+v", got, tc.want)
			}
			if contains(RootOf(tc.ks, tc.url).URL, "pw@") {
				t.Error("the root's URL keeps the password")
			}
		})
	}
}

func TestSkipRules(t *testing.T) {
	remote := &kustomizev1.Kustomization{Spec: kustomizev1.KustomizationSpec{KubeConfig: &meta.KubeConfigReference{}}}
	if skipReason(remote) == "" {
		t.Error("a Kustomization with spec.kubeConfig is declared here")
	}
	if skipReason(&kustomizev1.Kustomization{}) != "" {
		t.Error("a plain Kustomization is skipped")
	}
}

func TestPollInterval(t *testing.T) {
	for _, tc := range []struct{ spec, min, want time.Duration }{
		{spec: time.Minute, min: 10 * time.Second, want: time.Minute},
		{spec: time.Second, min: 10 * time.Second, want: 10 * time.Second},
		{spec: 0, min: 10 * time.Second, want: 10 * time.Second},
	} {
		gr := &sourcev1.GitRepository{Spec: sourcev1.GitRepositorySpec{Interval: metav1.Duration{Duration: tc.spec}}}
		if got := pollInterval(gr, tc.min); got != tc.want {
			t.Errorf("pollInterval(%s, min %s) = %s, want %s", tc.spec, tc.min, got, tc.want)
		}
	}
}

// TestInputsID: the render decision. A change under spec.path, or in a
// .sourceignore above it, renders again; a change elsewhere does not,
// unless a kustomization under spec.path climbs out with "..".
func TestInputsID(t *testing.T) {
	base := map[string]string{
		"apps/web/kustomization.yaml": "resources: [deploy.yaml]\n",
		"apps/web/deploy.yaml":        "a: 1\n",
		"apps/up/kustomization.yaml":  "resources: [../../shared]\n",
		"shared/cm.yaml":              "b: 1\n",
		"other/x.yaml":                "c: 1\n",
	}
	for _, tc := range []struct {
		name   string
		path   string
		change map[string]string
		same   bool
	}{
		{name: "file elsewhere", path: "apps/web", change: map[string]string{"other/x.yaml": "c: 2\n"}, same: true},
		{name: "file under the path", path: "apps/web", change: map[string]string{"apps/web/deploy.yaml": "a: 2\n"}},
		{name: "new file under the path", path: "apps/web", change: map[string]string{"apps/web/new.yaml": "n: 1\n"}},
		{name: "sibling directory", path: "apps/web", change: map[string]string{"apps/up/kustomization.yaml": "resources: []\n"}, same: true},
		{name: ".sourceignore above", path: "apps/web", change: map[string]string{"apps/.sourceignore": "*.md\n"}},
		{name: ".sourceignore at the root", path: "apps/web", change: map[string]string{".sourceignore": "*.md\n"}},
		{name: "climbing out reads everything", path: "apps/up", change: map[string]string{"other/x.yaml": "c: 2\n"}},
		{name: "whole source", path: "./", change: map[string]string{"other/x.yaml": "c: 2\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := inputsID(treeOf(t, base), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			next := map[string]string{}
			for k, v := range base {
				next[k] = v
			}
			for k, v := range tc.change {
				next[k] = v
			}
			after, err := inputsID(treeOf(t, next), tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if (before == after) != tc.same {
				t.Errorf("inputs ID same = %v, want %v (%s, %s)", before == after, tc.same, before, after)
			}
		})
	}
}

// treeOf commits files to an in-memory repository and returns the tree.
func treeOf(t testing.TB, files map[string]string) *object.Tree { return testgit.Tree(t, files) }
