package gitsync

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// TestLoadIsWhatTheSyncerLoads: Load reads a commit once into the snapshot
// a Syncer of the same source and paths publishes: the same roots, the
// same entries declared by the same files.
func TestLoadIsWhatTheSyncerLoads(t *testing.T) {
	files := map[string]string{
		"plain/cm.yaml":                configMap("plain", "1"),
		"apps/base/kustomization.yaml": "resources: [web.yaml]\n",
		"apps/base/web.yaml":           configMap("web", "1"),
		"apps/prod/kustomization.yaml": "buildMetadata: [originAnnotations]\nresources: [../base]\n",
		"bad/x.yaml":                   "kind: [unclosed\n",
	}
	g := startGitServer(t, files)
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""), "plain", "apps/prod")
	s.Name, s.URL = "fleet", "https://git.example/fleet.git"
	synced := mustSync(t, s)
	commit := s.roots[0].commit
	tree, err := commit.Tree()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(tree, s.roots[0].rev, s.Name, s.URL, s.Roots, s.Indexer)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(loaded), describe(synced); !reflect.DeepEqual(got, want) {
		t.Errorf("Load gives\n%q\nthe Syncer\n%q", got, want)
	}
	if want := "ConfigMap app/web in path apps/prod of fleet at apps/base/web.yaml (kustomize apps/prod)"; !strings.Contains(strings.Join(describe(loaded), "\n"), want) {
		t.Errorf("no %q in %q", want, describe(loaded))
	}

	_, err = Load(tree, s.roots[0].rev, s.Name, s.URL, []string{"plain", "bad"}, s.Indexer)
	var se *SyncError
	if !errors.As(err, &se) || se.Reason != FailRender || !strings.Contains(err.Error(), "path bad: ") || strings.Contains(err.Error(), "path plain") {
		t.Errorf("err = %v, want a render failure of path bad alone", err)
	}
}

// describe lists the roots and entries of snap: where each object is
// declared, and its content.
func describe(snap *provenance.Snapshot) []string {
	var out []string
	for _, st := range snap.Roots() {
		out = append(out, "root "+st.Root.String()+" at "+st.Revision.String())
	}
	for _, e := range snap.Entries() {
		out = append(out, fmt.Sprintf("%s in %s at %s %x", e.Key, snap.RootOf(e).Root, e.Origin(), e.Digest()))
	}
	return out
}
