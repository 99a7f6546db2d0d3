package fluxrender

import (
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	fluxkustomize "github.com/fluxcd/pkg/apis/kustomize"
)

// TestRenderFields: each field of the Kustomization that changes what is
// built, one at a time.
func TestRenderFields(t *testing.T) {
	runRenderCases(t, []renderCase{{
		name: "path selects the folder",
		files: map[string]string{
			"apps/one.yaml":  configMapYAML("one", "shop", "  key: a"),
			"other/two.yaml": configMapYAML("two", "shop", "  key: b"),
		},
		spec: kustomizev1.KustomizationSpec{Path: "./apps"},
		want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  namespace: shop
  creationTimestamp: null
  labels:` + owner + `
data:
  key: a
`,
	}, {
		// kustomize-controller uses SecureJoin: a path that climbs out of
		// the source stays at its root.
		name: "path climbing out stays in the source",
		files: map[string]string{
			"apps/one.yaml": configMapYAML("one", "shop", "  key: a"),
		},
		spec: kustomizev1.KustomizationSpec{Path: "../../apps"},
		want: `
apiVersion: v1
kind: ConfigMap
metadata: {name: one, namespace: shop, creationTimestamp: null, labels: {` + ownerInline + `}}
data: {key: a}
`,
	}, {
		// fluxcd/pkg/kustomize scanManifests: every .yaml/.yml file below
		// the path, and a folder holding a kustomization.yaml as one
		// resource (not descended into).
		name: "generated kustomization.yaml when there is none",
		files: map[string]string{
			"apps/one.yaml":                configMapYAML("one", "shop", "  key: a"),
			"apps/nested/two.yml":          configMapYAML("two", "shop", "  key: b"),
			"apps/README.md":               "# not read",
			"apps/base/kustomization.yaml": "resources: [three.yaml]\nnamePrefix: base-\n",
			"apps/base/three.yaml":         configMapYAML("three", "shop", "  key: c"),
			"apps/base/four.yaml":          configMapYAML("four", "shop", "  key: d"),
		},
		spec: kustomizev1.KustomizationSpec{Path: "./apps"},
		want: cmWant("base-three", "shop", "", "key: c") + "---" +
			cmWant("one", "shop", "", "key: a") + "---" + cmWant("two", "shop", "", "key: b"),
	}, {
		name: "targetNamespace",
		files: map[string]string{
			"one.yaml": configMapYAML("one", "shop", "  key: a"),
			"two.yaml": configMapYAML("two", "", "  key: b"),
		},
		spec: kustomizev1.KustomizationSpec{Path: "./", TargetNamespace: "team"},
		want: cmWant("one", "team", "", "key: a") + "---" + cmWant("two", "team", "", "key: b"),
	}, {
		// kustomize-controller TestKustomizationReconciler_NamePrefixSuffix.
		name: "namePrefix and nameSuffix",
		files: map[string]string{
			"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: np\n  annotations:\n    tenant: test\ndata:\n  key: val\n",
		},
		spec: kustomizev1.KustomizationSpec{Path: "./", NamePrefix: "prefix-", NameSuffix: "-suffix", TargetNamespace: "np"},
		want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: prefix-np-suffix
  namespace: np
  creationTimestamp: null
  annotations: {tenant: test}
  labels: {` + ownerInline + `}
data: {key: val}
`,
	}, {
		// kustomize-controller TestKustomizationReconciler_CommonMetadata:
		// commonMetadata wins over what Git has.
		name: "commonMetadata",
		files: map[string]string{
			"config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n    tenant: test\ndata:\n  key: val\n",
		},
		spec: kustomizev1.KustomizationSpec{Path: "./", TargetNamespace: "cm-1",
			CommonMetadata: &kustomizev1.CommonMetadata{
				Labels: map[string]string{"tenant": "cm-1"}, Annotations: map[string]string{"tenant": "cm-1"}}},
		want: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  namespace: cm-1
  creationTimestamp: null
  annotations: {tenant: cm-1}
  labels: {tenant: cm-1, ` + ownerInline + `}
data: {key: val}
`,
	}})
}

// TestRenderPatches: spec.patches, strategic merge and JSON 6902, with and
// without a target, over what a kustomization.yaml of the source already
// patches (fluxcd/pkg/kustomize testdata/kustomization.yaml).
func TestRenderPatches(t *testing.T) {
	files := map[string]string{
		"apps/kustomization.yaml": "resources: [cms.yaml]\npatches:\n- patch: |-\n    - op: add\n      path: /data/fromgit\n      value: \"1\"\n  target: {kind: ConfigMap, name: one}\n",
		"apps/cms.yaml": configMapYAML("one", "shop", "  key: a") + "---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n  namespace: shop\n  labels: {tier: web}\ndata:\n  key: b\n",
	}
	runRenderCases(t, []renderCase{{
		name:  "strategic merge without target",
		files: files,
		spec: kustomizev1.KustomizationSpec{Path: "./apps", Patches: []fluxkustomize.Patch{
			patch("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: shop\ndata:\n  key: patched\n", nil)}},
		want: cmWant("one", "shop", "", "key: patched, fromgit: \"1\"") + "---" + cmWant("two", "shop", "tier: web", "key: b"),
	}, {
		name:  "strategic merge with a label selector target",
		files: files,
		spec: kustomizev1.KustomizationSpec{Path: "./apps", Patches: []fluxkustomize.Patch{
			patch("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: any\ndata:\n  added: \"yes\"\n",
				&fluxkustomize.Selector{Kind: "ConfigMap", LabelSelector: "tier=web"})}},
		want: cmWant("one", "shop", "", "key: a, fromgit: \"1\"") + "---" + cmWant("two", "shop", "tier: web", "key: b, added: \"yes\""),
	}, {
		name:  "JSON 6902 with target",
		files: files,
		spec: kustomizev1.KustomizationSpec{Path: "./apps", Patches: []fluxkustomize.Patch{
			patch("- op: replace\n  path: /data/key\n  value: json\n", &fluxkustomize.Selector{Kind: "ConfigMap", Name: "two"})}},
		want: cmWant("one", "shop", "", "key: a, fromgit: \"1\"") + "---" + cmWant("two", "shop", "tier: web", "key: json"),
	}})
}

// TestRenderImagesAndComponents: spec.images merged into the source's own
// images entry (the generator overrides the tag, keeps newName), and
// spec.components from outside the path (load restrictions are off).
func TestRenderImagesAndComponents(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n  - name: tools\n    image: busybox\n"
	component := "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: one\n      namespace: shop\n    data:\n      component: \"yes\"\n"
	runRenderCases(t, []renderCase{{
		name: "images",
		files: map[string]string{
			"kustomization.yaml": "resources: [pod.yaml]\nimages:\n- name: busybox\n  newName: registry.local/busybox\n  newTag: \"1.0\"\n",
			"pod.yaml":           pod,
		},
		spec: kustomizev1.KustomizationSpec{Path: "./", Images: []fluxkustomize.Image{
			{Name: "nginx", NewTag: "1.28"}, {Name: "busybox", NewTag: "2.0"}}},
		want: `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop, creationTimestamp: null, labels: {` + ownerInline + `}}
spec:
  containers:
  - {name: web, image: "nginx:1.28", resources: {}}
  - {name: tools, image: "registry.local/busybox:2.0", resources: {}}
`,
	}, {
		name: "components, a missing one ignored",
		files: map[string]string{
			"apps/kustomization.yaml":             "resources: [one.yaml]\n",
			"apps/one.yaml":                       configMapYAML("one", "shop", "  key: a"),
			"components/extra/kustomization.yaml": component,
		},
		spec: kustomizev1.KustomizationSpec{Path: "./apps", IgnoreMissingComponents: true,
			Components: []string{"../components/extra", "../components/missing"}},
		want: cmWant("one", "shop", "", "key: a, component: \"yes\""),
	}, {
		name: "a missing component is an error",
		files: map[string]string{
			"apps/one.yaml": configMapYAML("one", "shop", "  key: a"),
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./apps", Components: []string{"../components/missing"}},
		wantErr: "components/missing",
	}})
}

// ownerInline is owner as a flow mapping's entries.
const ownerInline = `kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system`

// cmWant is a ConfigMap as kustomize-controller applies it; labels and
// data are flow mapping entries.
func cmWant(name, ns, labels, data string) string {
	if labels != "" {
		labels += ", "
	}
	return "\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns +
		", creationTimestamp: null, labels: {" + labels + ownerInline + "}}\ndata: {" + data + "}\n"
}
