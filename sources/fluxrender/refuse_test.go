package fluxrender

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
)

// TestRenderRefusals: what gitgate cannot render from the source alone is
// an error, never a partial render.
func TestRenderRefusals(t *testing.T) {
	cm := configMapYAML("one", "shop", "  key: a")
	runRenderCases(t, []renderCase{{
		name:    "missing path",
		files:   map[string]string{"apps/one.yaml": cm},
		spec:    kustomizev1.KustomizationSpec{Path: "./nope"},
		errIs:   ErrNoPath,
		wantErr: `"./nope"`,
	}, {
		// Load restrictions are off, but the filesystem is confined to the
		// source root (fluxcd/pkg/kustomize/filesys MakeFsOnDiskSecure).
		name: "a resource outside the source",
		files: map[string]string{
			"apps/kustomization.yaml": "resources: [../../../../../../etc/hostname]\n",
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./apps"},
		wantErr: "is not in or below",
	}, {
		name: "a base outside the source",
		files: map[string]string{
			"apps/kustomization.yaml": "resources: [../../outside]\n",
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./apps"},
		wantErr: "is not in or below",
	}, {
		name: "a remote base",
		files: map[string]string{
			"kustomization.yaml": "resources:\n- one.yaml\n- https://github.com/example/fleet//base?ref=main\n",
			"one.yaml":           cm,
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./"},
		errIs:   ErrRemoteBase,
		wantErr: `kustomization.yaml: "https://github.com/example/fleet//base?ref=main"`,
	}, {
		name: "a remote base of a local base",
		files: map[string]string{
			"apps/kustomization.yaml": "resources: [../base]\n",
			"base/kustomization.yaml": "resources: [git@github.com:example/fleet.git]\n",
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./apps"},
		errIs:   ErrRemoteBase,
		wantErr: "base/kustomization.yaml",
	}, {
		name:    "a remote component",
		files:   map[string]string{"one.yaml": cm},
		spec:    kustomizev1.KustomizationSpec{Path: "./", Components: []string{"github.com/example/fleet/components"}},
		wantErr: "must be local and relative",
	}, {
		name: "a patch file outside the source",
		files: map[string]string{
			"kustomization.yaml": "resources: [one.yaml]\npatches:\n- path: ../../../../../../etc/hostname\n",
			"one.yaml":           cm,
		},
		spec:    kustomizev1.KustomizationSpec{Path: "./"},
		wantErr: "is not in or below",
	}})
}

// TestRenderErrorsNameSourcePaths: an error names paths in the source, not
// the temporary folder the render used.
func TestRenderErrorsNameSourcePaths(t *testing.T) {
	src := fstest.MapFS{"apps/kustomization.yaml": {Data: []byte("resources: [missing.yaml]\n")}}
	ks := &kustomizev1.Kustomization{Spec: kustomizev1.KustomizationSpec{Path: "./apps"}}
	_, err := Render(context.Background(), src, ks, nil)
	if err == nil || strings.Contains(err.Error(), "gitgate-fluxrender-") || !strings.Contains(err.Error(), "apps/missing.yaml") {
		t.Errorf("error %v: want one naming apps/missing.yaml and no temporary folder", err)
	}
}

// TestIsRemote: what kustomize would fetch, by the forms it accepts.
func TestIsRemote(t *testing.T) {
	for ref, want := range map[string]bool{
		"base":                          false,
		"../base":                       false,
		"deploy.yaml":                   false,
		"/abs/path":                     false,
		"file:///abs/path":              false,
		"https://example.com/a.yaml":    true,
		"http://example.com/a.yaml":     true,
		"ssh://git@example.com/r.git":   true,
		"git::https://example.com/repo": true,
		"gh:example/repo":               true,
		"git@github.com:example/repo":   true,
		"github.com/example/repo//base": true,
		"user@gitlab.local:group/repo":  true,
	} {
		if got := isRemote(ref); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", ref, got, want)
		}
	}
}

// TestRenderSkipsSymlinks: source-controller's artifact holds no symbolic
// links (storage.Archive skips them), so neither does a render's source: a
// link to a manifest, or out of the source, is not read.
func TestRenderSkipsSymlinks(t *testing.T) {
	src := fstest.MapFS{
		"apps/one.yaml":  {Data: []byte(configMapYAML("one", "shop", "  key: a"))},
		"apps/link.yaml": {Data: []byte("one.yaml"), Mode: fs.ModeSymlink},
		"apps/out.yaml":  {Data: []byte("/etc/hostname"), Mode: fs.ModeSymlink},
	}
	ks := &kustomizev1.Kustomization{Spec: kustomizev1.KustomizationSpec{Path: "./apps"}}
	objs, err := Render(context.Background(), src, ks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Object["metadata"].(map[string]any)["name"] != "one" {
		t.Errorf("rendered %d objects, want ConfigMap one alone: %v", len(objs), objs)
	}
}
