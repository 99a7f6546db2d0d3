package provenance

import "testing"

func TestOriginPath(t *testing.T) {
	ann := func(origin string) map[string]any {
		return map[string]any{"annotations": map[string]any{"config.kubernetes.io/origin": origin}}
	}
	tests := []struct {
		name, path string
		meta       map[string]any
		want       string
	}{
		{name: "plain file", path: "apps/web.yaml", meta: ann("path: other.yaml\n"), want: "apps/web.yaml"},
		{name: "kustomize root without origins", path: "apps/prod (kustomize)", meta: map[string]any{}, want: "apps/prod (kustomize)"},
		{name: "a resource of the root", path: "apps/prod (kustomize)", meta: ann("path: deployment.yaml\n"), want: "apps/prod/deployment.yaml (kustomize apps/prod)"},
		{name: "a resource of a base", path: "apps/prod (kustomize)", meta: ann("path: ../base/web.yaml\n"), want: "apps/base/web.yaml (kustomize apps/prod)"},
		{name: "the repository root", path: ". (kustomize)", meta: ann("path: web.yaml\n"), want: "web.yaml (kustomize .)"},
		{name: "quoted path", path: "apps/prod (kustomize)", meta: ann("path: 'web.yaml'\n"), want: "apps/prod/web.yaml (kustomize apps/prod)"},
		{name: "a remote base names no file here", path: "apps/prod (kustomize)", meta: ann("path: web.yaml\nrepo: https://github.com/x/y\nref: v1\n"), want: "apps/prod (kustomize)"},
		{name: "a generated object", path: "apps/prod (kustomize)", meta: ann("configuredIn: kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n"), want: "apps/prod (kustomize)"},
		{name: "a path out of the repository", path: "apps (kustomize)", meta: ann("path: ../../etc/web.yaml\n"), want: "apps (kustomize)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := originPath(tt.path, tt.meta); got != tt.want {
				t.Errorf("originPath(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
