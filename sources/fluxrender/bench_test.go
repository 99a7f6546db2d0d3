package fluxrender

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	fluxkustomize "github.com/fluxcd/pkg/apis/kustomize"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// BenchmarkRender: one Kustomization of 50 ConfigMaps and 10 Deployments,
// no kustomization.yaml (generated), with targetNamespace, namePrefix, a
// patch, images, commonMetadata and substituteFrom a ConfigMap: the cost
// of one render, temporary folder included.
func BenchmarkRender(b *testing.B) {
	src := fstest.MapFS{}
	for i := range 50 {
		src[fmt.Sprintf("apps/cm-%d.yaml", i)] = &fstest.MapFile{Data: []byte(configMapYAML(fmt.Sprintf("cm-%d", i), "shop", "  zone: ${ZONE}"))}
	}
	for i := range 10 {
		src[fmt.Sprintf("apps/web-%d.yaml", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-%d}\nspec:\n  selector: {matchLabels: {app: web}}\n"+
				"  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: app, image: nginx:1.27, ports: [{containerPort: 80}]}\n", i))}
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: "flux-system"}, Spec: kustomizev1.KustomizationSpec{
		Path: "./apps", TargetNamespace: "shop", NamePrefix: "e2e-",
		Images:         []fluxkustomize.Image{{Name: "nginx", NewTag: "1.28"}},
		Patches:        []fluxkustomize.Patch{{Patch: "- {op: replace, path: /spec/replicas, value: 3}", Target: &fluxkustomize.Selector{Kind: "Deployment"}}},
		CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "shop"}},
		PostBuild:      &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}}},
	}}
	vars := fake.NewClientBuilder().WithObjects(cmObject("vars", map[string]string{"ZONE": "eu-1a"})).Build()
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Render(context.Background(), src, ks, vars)
		if err != nil || len(objs) != 60 {
			b.Fatalf("%d objects, %v", len(objs), err)
		}
	}
}
