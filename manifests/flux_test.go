package manifests

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestFluxOverlay: overlays/flux runs gitgate with --source flux in place
// of the base's repository flags, keeps the certificate flags, and grants
// read access to Flux's objects and get (never list or watch) on the
// Secrets and ConfigMaps of flux-system.
func TestFluxOverlay(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "overlays/flux")
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	var args []string
	roles := map[string][]any{}
	bindings := map[string]string{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		switch r.GetKind() {
		case "Deployment":
			c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			for _, a := range c["args"].([]any) {
				args = append(args, a.(string))
			}
		case "ClusterRole", "Role":
			rules, _ := m["rules"].([]any)
			roles[r.GetName()] = rules
		case "RoleBinding", "ClusterRoleBinding":
			bindings[r.GetKind()+" "+r.GetNamespace()+"/"+r.GetName()] = m["roleRef"].(map[string]any)["name"].(string)
		}
	}
	for _, want := range []string{"serve", "--source=flux", "--flux-namespace=flux-system", "--cert-mode=self-managed"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	for _, a := range args {
		for _, gone := range []string{"--repo-url", "--branch", "--interval"} {
			if strings.HasPrefix(a, gone) {
				t.Errorf("args keep %s, which --source flux refuses", a)
			}
		}
	}
	if bindings["RoleBinding flux-system/gitgate-flux-refs"] != "gitgate-flux-refs" || bindings["ClusterRoleBinding /gitgate-flux"] != "gitgate-flux" {
		t.Errorf("bindings %v: want gitgate-flux cluster-wide and gitgate-flux-refs in flux-system", bindings)
	}
	for name, rules := range roles {
		for _, rule := range rules {
			r := rule.(map[string]any)
			if name != "gitgate-flux-refs" {
				continue
			}
			if verbs := r["verbs"].([]any); len(verbs) != 1 || verbs[0] != "get" {
				t.Errorf("gitgate-flux-refs grants %v; want get only", verbs)
			}
		}
	}
	if len(roles["gitgate-flux"]) != 3 || len(roles["gitgate-flux-refs"]) != 1 {
		t.Errorf("roles %v", roles)
	}
}
