package rootsync

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

func configMap(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "default"}}
}

func files(names ...string) provenance.ReadFiles {
	return func(func(path, id string) bool) ([]provenance.File, error) {
		f := provenance.File{Path: "a.yaml", ID: "a"}
		for _, n := range names {
			f.Objects = append(f.Objects, configMap(n))
		}
		return []provenance.File{f}, nil
	}
}

func setup() (*provenance.Composer, *State) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default"}
	root := provenance.Root{Name: "Kustomization ns/a", Source: "repo"}
	return c, &State{Root: root, Ix: ix.ForRoot(root)}
}

func TestInstallFlush(t *testing.T) {
	c, st := setup()
	var b Batch
	rev1 := provenance.Revision{Hash: "1111111111111111111111111111111111111111"}
	done := 0
	b.Install(c, st, rev1, "k1", files("one"), func() { done++ })
	if st.Loaded || c.Store.Load() != nil {
		t.Fatal("Install published before Flush")
	}
	st.FailedKey = "old"
	b.Flush(c, logr.Discard(), "root loaded")
	if !st.Loaded || st.Key != "k1" || st.FailedKey != "" || st.Rev != rev1 || done != 1 {
		t.Fatalf("after Flush: loaded %v key %q failedKey %q rev %v done %d", st.Loaded, st.Key, st.FailedKey, st.Rev, done)
	}
	if len(st.Files) != 1 || st.Files[0].Objects != nil || st.Files[0].ID != "a" {
		t.Errorf("kept files %+v, want their identity without objects", st.Files)
	}
	if c.Store.Load().Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: "one"}) == nil {
		t.Error("the render was not published")
	}
	first := st.Fetched
	b.Install(c, st, rev1, "k2", files("two"), nil)
	b.Flush(c, logr.Discard(), "root loaded")
	if st.Fetched != first {
		t.Error("a new render at the same revision reset when it was fetched")
	}
	b.Flush(c, logr.Discard(), "root loaded") // empty: nothing to do
}

func TestFail(t *testing.T) {
	c, st := setup()
	var b Batch
	rev := provenance.Revision{Hash: "2222222222222222222222222222222222222222"}
	b.Install(c, st, rev, "k1", files("one"), nil)
	b.Flush(c, logr.Discard(), "root loaded")
	boom := errors.New("boom")
	b.Install(c, st, rev, "k2", func(func(string, string) bool) ([]provenance.File, error) { return nil, boom }, nil)
	b.Flush(c, logr.Discard(), "root loaded")
	if st.FailedKey != "k2" || st.Key != "k1" || !st.Loaded {
		t.Errorf("after a failed render: key %q failedKey %q loaded %v, want the last good render kept", st.Key, st.FailedKey, st.Loaded)
	}
	if c.Store.Load().Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: "one"}) == nil {
		t.Error("a failure dropped the last good render")
	}
	reported := 0
	c.Log = funcr.New(func(_, args string) {
		if strings.Contains(args, "boom") {
			reported++
		}
	}, funcr.Options{})
	for _, tc := range []struct {
		key      string
		reported int // failures the Composer counted so far
	}{
		{key: "k2", reported: 0}, // the same inputs failed before: once only
		{key: "k3", reported: 1},
		{key: "k3", reported: 1},
		{key: "", reported: 2}, // no key: always reported
		{key: "", reported: 3},
	} {
		st.Fail(c, tc.key, boom)
		if st.FailedKey != tc.key || reported != tc.reported {
			t.Errorf("Fail(%q): failedKey %q, reported %d, want %q, %d", tc.key, st.FailedKey, reported, tc.key, tc.reported)
		}
	}
}
