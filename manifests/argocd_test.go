package manifests

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestArgoCDOverlay: overlays/argocd runs gitgate with --source argocd in
// place of the base's repository flags, keeps the certificate flags, and
// grants read access to Applications and AppProjects and get on argocd-cm
// by name, no Secret.
func TestArgoCDOverlay(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "overlays/argocd")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	var args []string
	var rules []any
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.GetKind() == "Deployment":
			c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			for _, a := range c["args"].([]any) {
				args = append(args, a.(string))
			}
		case strings.HasPrefix(r.GetName(), "gitgate-argocd") && (r.GetKind() == "ClusterRole" || r.GetKind() == "Role"):
			rs, _ := m["rules"].([]any)
			rules = append(rules, rs...)
		}
	}
	for _, want := range []string{"serve", "--source=argocd", "--argocd-namespace=argocd", "--cert-mode=self-managed"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, a := range args {
		for _, gone := range []string{"--repo-url", "--branch", "--interval"} {
			if strings.HasPrefix(a, gone) {
				t.Errorf("args keep %s, which --source argocd refuses", a)
			}
		}
	}
	if len(rules) != 3 {
		t.Fatalf("rules %v: want Applications, argocd-cm and AppProjects", rules)
	}
	for _, rule := range rules {
		r := rule.(map[string]any)
		for _, res := range r["resources"].([]any) {
			if res == "secrets" || res == "*" {
				t.Errorf("rule %v grants %s", r, res)
			}
		}
		if slices.Contains(r["resources"].([]any), any("configmaps")) && len(r["resourceNames"].([]any)) != 1 {
			t.Errorf("rule %v: want argocd-cm by name", r)
		}
	}
}
