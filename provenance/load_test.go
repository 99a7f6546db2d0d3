package provenance_test

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// lazyFile is a File whose objects are parsed when Build asks, as
// a source passes plain manifests. Build loads on several goroutines.
func lazyFile(path, y string, loads *atomic.Int64) provenance.File {
	return provenance.File{Path: path, ID: path + "-id", Load: func() ([]map[string]any, error) {
		loads.Add(1)
		return provenancetest.Parse(y)
	}}
}

func configMap(name, v string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: shop}\ndata: {v: %q}\n", name, v)
}

func TestBuildReadsLazyFiles(t *testing.T) {
	boom := errors.New("blob unreadable")
	tests := []struct {
		name    string
		files   func(t *testing.T, loads *atomic.Int64) []provenance.File
		want    []string // names of the ConfigMaps declared
		wantErr string
		// wantLoadErr: the error is a *provenance.LoadError.
		wantLoadErr bool
	}{{
		name: "lazy and eager files index alike, in order",
		files: func(t *testing.T, loads *atomic.Int64) []provenance.File {
			var out []provenance.File
			for i := range 50 {
				out = append(out, lazyFile(fmt.Sprintf("cm%02d.yaml", i), configMap(fmt.Sprintf("cm%02d", i), "1"), loads))
			}
			return append(out, provenance.File{Path: "eager.yaml", ID: "e", Objects: mustObjects(t, configMap("eager", "1"))})
		},
		want: func() []string {
			var names []string
			for i := range 50 {
				names = append(names, fmt.Sprintf("cm%02d", i))
			}
			return append(names, "eager")
		}(),
	}, {
		name: "a failed load names the file and is a LoadError",
		files: func(t *testing.T, loads *atomic.Int64) []provenance.File {
			return []provenance.File{
				lazyFile("a.yaml", configMap("a", "1"), loads),
				{Path: "broken.yaml", ID: "b", Load: func() ([]map[string]any, error) { return nil, boom }},
				lazyFile("c.yaml", configMap("c", "1"), loads),
			}
		},
		wantErr:     "broken.yaml: blob unreadable",
		wantLoadErr: true,
	}, {
		// CRDs are collected before indexing: Build reads such files up
		// front and builds again, so the Widget gets the CRD's scope.
		name: "a CRD in a lazy file",
		files: func(t *testing.T, loads *atomic.Int64) []provenance.File {
			widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"
			return []provenance.File{lazyFile("w.yaml", widget, loads), lazyFile("crd.yaml", widgetCRD, loads)}
		},
		want: []string{"w", "widgets.example.com"},
	}, {
		name: "files parsed to nothing, up front or late",
		files: func(t *testing.T, loads *atomic.Int64) []provenance.File {
			return []provenance.File{lazyFile("empty.yaml", "", loads), {Path: "notes.yaml", ID: "n", Objects: []map[string]any{}},
				lazyFile("cm.yaml", configMap("cm", "1"), loads)}
		},
		want: []string{"cm"},
	}, {
		name: "a duplicate across lazy files fails the build",
		files: func(t *testing.T, loads *atomic.Int64) []provenance.File {
			return []provenance.File{lazyFile("a.yaml", configMap("same", "1"), loads), lazyFile("b.yaml", configMap("same", "2"), loads)}
		},
		wantErr: "declared twice",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			goroutines := runtime.NumGoroutine()
			var loads atomic.Int64
			ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
			idx, err := ix.Build(provenancetest.Revision("a"), tc.files(t, &loads))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Build error = %v, want %q", err, tc.wantErr)
				}
				var le *provenance.LoadError
				if got := errors.As(err, &le); got != tc.wantLoadErr {
					t.Errorf("error is a LoadError: %v, want %v", got, tc.wantLoadErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range idx.Snapshot().Entries() {
					got = append(got, e.Key.Name)
				}
				if !reflect.DeepEqual(sorted(got), sorted(tc.want)) {
					t.Errorf("declared %v, want %v", got, tc.want)
				}
				if u := idx.Unresolved(); len(u) > 0 {
					t.Errorf("kinds of unknown scope: %v", u)
				}
			}
			// The loader stops with Build, early or not.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines {
				t.Errorf("%d goroutines left after Build, %d before", n, goroutines)
			}
		})
	}
}

// A lazy file of an unchanged blob is reused, not loaded again.
func TestLazyFileReusedByID(t *testing.T) {
	var loads atomic.Int64
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	files := []provenance.File{lazyFile("a.yaml", configMap("a", "1"), &loads)}
	for _, rev := range []string{"a", "b"} {
		if _, err := ix.Build(provenancetest.Revision(rev), files); err != nil {
			t.Fatal(err)
		}
	}
	if !ix.Cached("a.yaml", "a.yaml-id") {
		t.Error("a.yaml not cached after two builds")
	}
	// A source passes a cached file by identity only, and Build serves it.
	if _, err := ix.Build(provenancetest.Revision("c"), []provenance.File{{Path: "a.yaml", ID: "a.yaml-id"}}); err != nil {
		t.Fatal(err)
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("loaded %d times over three builds of one blob, want 1", n)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestEntryObjectRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
	}{
		{"nested maps, lists and numbers", map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "<&>"}},
			"spec":     map[string]any{"n": 3.0, "f": 0.5, "big": 1e21, "neg": -4.0, "list": []any{"a", true, nil, map[string]any{}}, "empty": []any{}}}},
		{"a declared status is kept", map[string]any{"kind": "X", "status": map[string]any{"phase": "Ready"},
			"metadata": map[string]any{"name": "a", "managedFields": []any{map[string]any{"manager": "m"}}}}},
		{"non-ASCII strings", map[string]any{"kind": "X", "metadata": map[string]any{"name": "ä"}, "data": map[string]any{"k": "日本\u2028\t\"q\""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := provenance.NewEntry(provenance.Key{Kind: "X", Name: "a"}, "v1", "a.yaml", tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			got := e.Object()
			if !reflect.DeepEqual(got, tc.obj) {
				t.Fatalf("Object() = %#v, want %#v", got, tc.obj)
			}
			// Each call is the caller's own: changing one changes no other.
			got["kind"] = "changed"
			if e.Object()["kind"] == "changed" {
				t.Error("Object() shares its map between calls")
			}
		})
	}
}

// TestLateCRDKeepsGitsNamespace: the API server serves Widget as
// cluster-scoped, Git's CRD (found late, its kind escaped) makes it
// namespaced. The second pass sees the namespace Git wrote, not what the
// first pass made of it.
func TestLateCRDKeepsGitsNamespace(t *testing.T) {
	var loads atomic.Int64
	clusterWidget := provenancetest.Scope{"Widget.example.com": false, "CustomResourceDefinition.apiextensions.k8s.io": false}
	ix := &provenance.Indexer{Scope: clusterWidget, DefaultNamespace: "default"}
	widget := mustObjects(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n")
	escaped := strings.Replace(widgetCRD, "kind: CustomResourceDefinition", `kind: "Custom\u0052esourceDefinition"`, 1)
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{
		{Path: "w.yaml", ID: "w", Objects: widget},
		lazyFile("crd.yaml", escaped, &loads),
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	if snap.Lookup(provenance.Key{Group: "example.com", Kind: "Widget", Namespace: "shop", Name: "w"}) == nil {
		t.Errorf("Widget shop/w not declared; entries: %v", snap.Entries())
	}
}
