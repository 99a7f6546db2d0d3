package manifests

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// build renders the kustomization dir into its objects by kind,
// namespace and name.
func build(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := map[string]map[string]any{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out[r.GetKind()+" "+r.GetNamespace()+"/"+r.GetName()] = m
	}
	return out
}

// deploymentArgs are the gitgate container's arguments of a render.
func deploymentArgs(t *testing.T, objs map[string]map[string]any) []string {
	t.Helper()
	d := objs["Deployment gitgate-system/gitgate"]
	if d == nil {
		t.Fatal("no Deployment gitgate-system/gitgate")
	}
	c := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

// TestFluxArgoCDOverlay: overlays/flux-argocd is overlays/flux with
// Argo CD's driver beside Flux's: one --source=flux,argocd where
// overlays/flux has --source=flux, --argocd-namespace=argocd after
// --flux-namespace, no repository flag, and every other argument as
// overlays/flux has it; every RBAC object of overlays/flux and of
// overlays/argocd, rule for rule and subject for subject; and nothing
// else that either lacks.
func TestFluxArgoCDOverlay(t *testing.T) {
	both, flux, argo := build(t, "overlays/flux-argocd"), build(t, "overlays/flux"), build(t, "overlays/argocd")

	want := slices.Clone(deploymentArgs(t, flux))
	if want[1] != "--source=flux" || want[2] != "--flux-namespace=flux-system" {
		t.Fatalf("overlays/flux args %v: want --source=flux, --flux-namespace=flux-system first", want)
	}
	want[1] = "--source=flux,argocd"
	want = slices.Insert(want, 3, "--argocd-namespace=argocd")
	args := deploymentArgs(t, both)
	if !slices.Equal(args, want) {
		t.Errorf("args\n%v\nwant\n%v", args, want)
	}
	sources := 0
	for _, a := range args {
		if strings.HasPrefix(a, "--source") {
			sources++
		}
		for _, gone := range []string{"--repo-url", "--branch", "--interval"} {
			if strings.HasPrefix(a, gone) {
				t.Errorf("args keep %s, which --source without repo refuses", a)
			}
		}
	}
	if sources != 1 {
		t.Errorf("args %v: want one --source", args)
	}

	tests := []struct {
		object string
		from   map[string]map[string]any
	}{
		{"ClusterRole /gitgate-flux", flux},
		{"ClusterRoleBinding /gitgate-flux", flux},
		{"ClusterRole /gitgate-flux-refs", flux},
		{"RoleBinding flux-system/gitgate-flux-refs", flux},
		{"ClusterRole /gitgate-argocd", argo},
		{"ClusterRoleBinding /gitgate-argocd", argo},
		{"Role argocd/gitgate-argocd-settings", argo},
		{"RoleBinding argocd/gitgate-argocd-settings", argo},
	}
	for _, tt := range tests {
		t.Run(tt.object, func(t *testing.T) {
			got, src := both[tt.object], tt.from[tt.object]
			if src == nil {
				t.Fatalf("the single-driver overlay has no %s", tt.object)
			}
			if !reflect.DeepEqual(got, src) {
				t.Errorf("%s:\n%v\nwant as the single-driver overlay has it:\n%v", tt.object, got, src)
			}
		})
	}
	for key, obj := range both {
		if key == "Deployment gitgate-system/gitgate" {
			continue
		}
		if f, a := flux[key], argo[key]; !reflect.DeepEqual(obj, f) && !reflect.DeepEqual(obj, a) {
			t.Errorf("%s differs from overlays/flux's and overlays/argocd's, or neither has it", key)
		}
	}
	for _, single := range []map[string]map[string]any{flux, argo} {
		for key := range single {
			if both[key] == nil {
				t.Errorf("overlays/flux-argocd lacks %s", key)
			}
		}
	}
}
