package flux

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/fluxrender"
	"github.com/gitgate/gitgate/test/harness"
)

// renderSync is a second GitRepository, on its own Git server, and a
// Kustomization that uses every field fluxrender mirrors. Git declares
// both, with the target namespace and the cluster's variables, in the
// fleet repository that Flux applies; the URL is filled in.
const renderSync = `apiVersion: v1
kind: Namespace
metadata: {name: rendered}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-vars, namespace: flux-system}
data:
  IMAGE_TAG: "1.27.3"
  GREETING: hello from the cluster
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: render-src, namespace: flux-system}
spec:
  interval: 2s
  timeout: 30s
  url: %q
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: render, namespace: flux-system}
spec:
  interval: 2s
  retryInterval: 2s
  timeout: 1m
  path: ./app
  prune: true
  sourceRef: {kind: GitRepository, name: render-src}
  targetNamespace: rendered
  namePrefix: e2e-
  images:
  - {name: nginx, newName: registry.local/nginx}
  patches:
  - target: {kind: Deployment}
    patch: |
      - op: replace
        path: /spec/replicas
        value: 3
  commonMetadata:
    labels: {team: shop}
    annotations: {owner: platform}
  postBuild:
    substitute: {REGION: eu-1}
    substituteFrom:
    - {kind: ConfigMap, name: cluster-vars}
    - {kind: Secret, name: cluster-secrets, optional: true}
`

// TestFluxRenderEqualsKustomizeController: real source-controller and
// kustomize-controller apply a Kustomization with substituteFrom a
// ConfigMap, targetNamespace, images, a patch, namePrefix and
// commonMetadata; fluxrender renders the same Kustomization object from the
// same files, and every object it renders equals the live one in every
// field it declares, and names exactly what Flux's inventory holds.
func TestFluxRenderEqualsKustomizeController(t *testing.T) {
	fixture := filepath.Join("testdata", "render")
	git, err := harness.StartGitServer(harness.GitServerOptions{Fixture: fixture})
	if err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	waitApplied(t, env.git.MustCommit(t, harness.Change{Write: map[string]string{"render/sync.yaml": fmt.Sprintf(renderSync, git.HTTPURL())}, Message: "render e2e"}))
	defer env.git.MustCommit(t, harness.Change{Delete: []string{"render/sync.yaml"}, Message: "render e2e done"})
	if err := env.flux.WaitApplied("render", "", applyTimeout); err != nil {
		t.Fatal(err)
	}
	ks := liveKustomization(t, "render")
	objs, err := fluxrender.Render(context.Background(), artifact(t, fixture), ks, env.client)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderedIDs(objs), inventory(t, ks); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rendered %v, Flux's inventory %v", got, want)
	}
	snap := snapshotOf(t, objs)
	for _, o := range objs {
		if o.AgentOnly {
			t.Errorf("%s is agent-only without decryption", idOf(o.Object))
		}
		r, live := checkLive(t, snap, o.Object)
		if !r.Allowed {
			t.Errorf("%s: live object differs from the render: %+v", idOf(o.Object), r)
		}
		// Declared fields alone would let a render miss a label Flux adds
		// (commonMetadata, owner labels): metadata must match both ways.
		for _, f := range []string{"labels", "annotations"} {
			if got, want := fmt.Sprint(metaField(o.Object, f)), fmt.Sprint(metaField(live, f)); got != want {
				t.Errorf("%s: rendered %s %s, live %s", idOf(o.Object), f, got, want)
			}
		}
	}
	t.Logf("%d objects rendered and equal to the live ones", len(objs))
	expectPlainRenderDiffers(t, ks)
}

// expectPlainRenderDiffers is the control: without postBuild, the live
// Deployment (image tag, greeting) is not what the render declares.
func expectPlainRenderDiffers(t *testing.T, ks *kustomizev1.Kustomization) {
	t.Helper()
	plain := ks.DeepCopy()
	plain.Spec.PostBuild = nil
	objs, err := fluxrender.Render(context.Background(), artifact(t, filepath.Join("testdata", "render")), plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshotOf(t, objs)
	for _, o := range objs {
		if o.Object["kind"] == "Deployment" {
			if r, _ := checkLive(t, snap, o.Object); r.Allowed {
				t.Errorf("the Deployment rendered without postBuild equals the live one: the comparison sees nothing")
			}
			return
		}
	}
	t.Error("no Deployment rendered")
}

// artifact is the fixture as source-controller archives it: without what
// its .sourceignore files leave out.
func artifact(t *testing.T, dir string) fs.FS {
	t.Helper()
	src := os.DirFS(dir)
	ignored, err := fluxrender.Ignore(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	err = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || ignored(p) {
			return err
		}
		data, err := fs.ReadFile(src, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func liveKustomization(t *testing.T, name string) *kustomizev1.Kustomization {
	t.Helper()
	r := env.kubectl.Run("", "get", "kustomization", name, "-n", harness.FluxNamespace, "-o", "json")
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	ks := &kustomizev1.Kustomization{}
	if err := json.Unmarshal([]byte(r.Stdout), ks); err != nil {
		t.Fatal(err)
	}
	return ks
}

// inventory is what kustomize-controller applied, as its inventory ids
// (namespace_name_group_kind), sorted.
func inventory(t *testing.T, ks *kustomizev1.Kustomization) []string {
	t.Helper()
	if ks.Status.Inventory == nil {
		t.Fatal("the Kustomization has no inventory")
	}
	var ids []string
	for _, e := range ks.Status.Inventory.Entries {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	return ids
}

func renderedIDs(objs []fluxrender.Object) []string {
	var ids []string
	for _, o := range objs {
		ids = append(ids, idOf(o.Object))
	}
	sort.Strings(ids)
	return ids
}

// idOf is an object's inventory id, namespace_name_group_kind.
func idOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	group, _, _ := strings.Cut(fmt.Sprint(obj["apiVersion"]), "/")
	if !strings.Contains(fmt.Sprint(obj["apiVersion"]), "/") {
		group = ""
	}
	return fmt.Sprintf("%v_%v_%s_%v", meta["namespace"], meta["name"], group, obj["kind"])
}

// snapshotOf indexes rendered objects as gitgate indexes a revision.
func snapshotOf(t *testing.T, objs []fluxrender.Object) *provenance.Snapshot {
	t.Helper()
	f := provenance.File{Path: "render (flux)"}
	for _, o := range objs {
		f.Objects = append(f.Objects, o.Object)
	}
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default"}
	snap, err := ix.Build(provenancetest.Revision("a"), []provenance.File{f})
	if err != nil {
		t.Fatal(err)
	}
	return snap.Snapshot()
}

// checkLive reads the live object of a declared one and judges it as a
// create in declared-fields mode: every field the render declares must hold
// the same value.
func checkLive(t *testing.T, snap *provenance.Snapshot, declared map[string]any) (provenance.Result, map[string]any) {
	t.Helper()
	meta, _ := declared["metadata"].(map[string]any)
	apiVersion := fmt.Sprint(declared["apiVersion"])
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		group, version = "", apiVersion
	}
	kind, ns, name := fmt.Sprint(declared["kind"]), fmt.Sprint(meta["namespace"]), fmt.Sprint(meta["name"])
	resource := strings.ToLower(kind)
	if group != "" {
		resource += "." + group
	}
	r := env.kubectl.Run("", "get", resource, name, "-n", ns, "-o", "json")
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	var live map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &live); err != nil {
		t.Fatal(err)
	}
	c := &provenance.Checker{Fields: provenance.FieldsDeclared}
	return c.Check(snap, &provenance.Request{Operation: provenance.Create, Group: group, Version: version,
		Kind: kind, Namespace: ns, Name: name, Object: live}), live
}

// metaField is metadata[f] of obj; fmt prints maps sorted by key.
func metaField(obj map[string]any, f string) any {
	meta, _ := obj["metadata"].(map[string]any)
	return meta[f]
}
