package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// rootClock is a fixed last success per root name.
type rootClock map[string]time.Time

func (c rootClock) LastSuccess(r provenance.Root) time.Time { return c[r.Name] }

// TestStalenessPerRoot: a verdict on a declared object is stale when that
// object's root is; one without a declared object when any root is.
func TestStalenessPerRoot(t *testing.T) {
	t0 := time.Unix(10000, 0)
	fresh := provenance.Root{Name: "path fresh"}
	old := provenance.Root{Name: "path old"}
	c := &provenance.Composer{Store: &provenance.Store{}}
	for root, name := range map[provenance.Root]string{fresh: "a", old: "b"} {
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
		// Both declare "shared"; path fresh owns it by name.
		idx, err := ix.Build(provenancetest.Revision("c"), []provenance.File{{Path: "cm.yaml", Objects: provenancetest.Objects(t,
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+name+", namespace: app}\n---\n"+
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: app}\n")}})
		if err != nil {
			t.Fatal(err)
		}
		c.Update(provenance.Part{Index: idx})
	}
	snap := c.Store.Load()
	entry := func(name string) provenance.Result {
		return provenance.Result{Entry: snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: name})}
	}
	s := &Staleness{Max: time.Minute, Deny: true, Clock: rootClock{"path fresh": t0.Add(-10 * time.Second), "path old": t0.Add(-5 * time.Minute)}}
	tests := []struct {
		name      string
		res       provenance.Result
		wantStale bool
		wantRoot  string
	}{
		{"object of the fresh root", entry("a"), false, "path fresh"},
		{"object of the stale root", entry("b"), true, "path old"},
		{"object both declare rests on the stalest", entry("shared"), true, "path old"},
		{"not in Git rests on every root", provenance.Result{Reason: provenance.ReasonNotInGit}, true, "path old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, root, stale := s.stale(snap, tc.res, t0)
			if stale != tc.wantStale || root == nil || root.Root.Name != tc.wantRoot {
				t.Errorf("stale = %v (root %v), want %v (root %s)", stale, root, tc.wantStale, tc.wantRoot)
			}
		})
	}
	if _, _, stale := (&Staleness{Max: time.Minute, Clock: s.Clock}).stale(snap, provenance.Result{}, t0.Add(time.Hour)); !stale {
		t.Error("the check must report staleness whatever the action; the handler applies Deny")
	}
}

// TestRecordRoot: an audit record names the root and revision of the
// object judged, the stale root, or else every revision consulted.
func TestRecordRoot(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}}
	for root, hash := range map[provenance.Root]string{{Name: "path a"}: "a", {Name: "path b"}: "b"} {
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
		idx, err := ix.Build(provenancetest.Revision(hash), []provenance.File{{Path: "cm.yaml", Objects: provenancetest.Objects(t,
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+hash+", namespace: app}\n")}})
		if err != nil {
			t.Fatal(err)
		}
		c.Update(provenance.Part{Index: idx})
	}
	snap := c.Store.Load()
	b := snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: "b"})
	revA, revB := provenancetest.Revision("a").String(), provenancetest.Revision("b").String()
	tests := []struct {
		name         string
		v            verdict
		wantRoot     string
		wantRevision string
	}{
		{"declared object", verdict{reason: provenance.ReasonFieldMismatch, result: provenance.Result{Entry: b}}, "path b", revB},
		{"stale root", verdict{reason: reasonStale, root: snap.Roots()[0]}, "path a", revA},
		{"not in Git", verdict{reason: provenance.ReasonNotInGit}, "", revA + "," + revB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, rev := recordRoot(snap, &provenance.Request{Kind: "ConfigMap", Namespace: "app", Name: "x"}, tc.v)
			if root != tc.wantRoot || rev != tc.wantRevision {
				t.Errorf("recordRoot = %q, %q; want %q, %q", root, rev, tc.wantRoot, tc.wantRevision)
			}
		})
	}
}

// TestStalenessOfHeldEntry: an object a root dropped while its sibling
// fails rests on the failing sibling too, so it goes stale with it.
func TestStalenessOfHeldEntry(t *testing.T) {
	t0 := time.Unix(10000, 0)
	apps := provenance.Root{Name: "path apps", Source: "fleet"}
	infra := provenance.Root{Name: "path infra", Source: "fleet"}
	c := &provenance.Composer{Store: &provenance.Store{}}
	load := func(root provenance.Root, rev, names string) {
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
		var docs string
		for _, n := range strings.Fields(names) {
			docs += "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + n + ", namespace: app}\n---\n"
		}
		idx, err := ix.Build(provenancetest.Revision(rev), []provenance.File{{Path: "cm.yaml", Objects: provenancetest.Objects(t, docs)}})
		if err != nil {
			t.Fatal(err)
		}
		c.Update(provenance.Part{Index: idx})
	}
	load(apps, "a", "x a")
	load(infra, "a", "i")
	load(apps, "b", "a") // x moves to infra, which fails at b
	snap := c.Store.Load()
	s := &Staleness{Max: time.Minute, Deny: true, Clock: rootClock{"path apps": t0, "path infra": t0.Add(-time.Hour)}}
	tests := []struct {
		name      string
		wantStale bool
		wantRoot  string
	}{
		{"x", true, "path infra"},
		{"a", false, "path apps"},
	}
	for _, tc := range tests {
		e := snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: tc.name})
		if e == nil {
			t.Fatalf("%s not declared", tc.name)
		}
		_, root, stale := s.stale(snap, provenance.Result{Entry: e}, t0)
		if stale != tc.wantStale || root == nil || root.Root.Name != tc.wantRoot {
			t.Errorf("%s: stale = %v (root %v), want %v (root %s)", tc.name, stale, root, tc.wantStale, tc.wantRoot)
		}
	}
}
