package provenance

import "testing"

func TestOriginOfAKustomizeRoot(t *testing.T) {
	ann := func(origin string) map[string]any {
		return map[string]any{"annotations": map[string]any{"config.kubernetes.io/origin": origin}}
	}
	tests := []struct {
		name, root string
		meta       map[string]any
		wantFile   string
		want       string
	}{
		{name: "kustomize root without origins", root: "apps/prod", meta: map[string]any{}, wantFile: "apps/prod", want: "apps/prod (kustomize)"},
		{name: "a resource of the root", root: "apps/prod", meta: ann("path: deployment.yaml\n"), wantFile: "apps/prod/deployment.yaml", want: "apps/prod/deployment.yaml (kustomize apps/prod)"},
		{name: "a resource of a base", root: "apps/prod", meta: ann("path: ../base/web.yaml\n"), wantFile: "apps/base/web.yaml", want: "apps/base/web.yaml (kustomize apps/prod)"},
		{name: "the repository root", root: ".", meta: ann("path: web.yaml\n"), wantFile: "web.yaml", want: "web.yaml (kustomize .)"},
		{name: "the repository root without origins", root: ".", meta: map[string]any{}, wantFile: ".", want: ". (kustomize)"},
		{name: "quoted path", root: "apps/prod", meta: ann("path: 'web.yaml'\n"), wantFile: "apps/prod/web.yaml", want: "apps/prod/web.yaml (kustomize apps/prod)"},
		{name: "a remote base names no file here", root: "apps/prod", meta: ann("path: web.yaml\nrepo: https://github.com/x/y\nref: v1\n"), wantFile: "apps/prod", want: "apps/prod (kustomize)"},
		{name: "a generated object", root: "apps/prod", meta: ann("configuredIn: kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n"), wantFile: "apps/prod", want: "apps/prod (kustomize)"},
		{name: "a path out of the repository", root: "apps", meta: ann("path: ../../etc/web.yaml\n"), wantFile: "apps", want: "apps (kustomize)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entry{Path: originFile(tt.root, tt.meta), Kustomize: tt.root}
			if e.Path != tt.wantFile {
				t.Errorf("originFile(%q) = %q, want %q", tt.root, e.Path, tt.wantFile)
			}
			if got := e.Origin(); got != tt.want {
				t.Errorf("Origin() = %q, want %q", got, tt.want)
			}
		})
	}
	plain := &Entry{Path: "apps/web.yaml"}
	if got := plain.Origin(); got != "apps/web.yaml" {
		t.Errorf("Origin() of a plain file = %q", got)
	}
}
