package provenance_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// Roots of the composer tests, in name order.
var (
	rootA = provenance.Root{Name: "path a", Source: "fleet", URL: "https://git.example/fleet.git"}
	rootB = provenance.Root{Name: "path b", Source: "fleet", URL: "https://git.example/fleet.git"}
	rootC = provenance.Root{Name: "path c", Source: "fleet", URL: "https://git.example/fleet.git"}
)

// cm is ConfigMap app/name declaring data.v: value.
func cm(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: app}\ndata: {v: \"" + value + "\"}\n---\n"
}

// part indexes the YAML documents as root's files at revision c.
func part(t *testing.T, root provenance.Root, c string, docs ...string) provenance.Part {
	t.Helper()
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default", Root: root}
	idx, err := ix.Build(provenancetest.Revision(c), []provenance.File{{Path: strings.TrimPrefix(root.Name, "path ") + "/cm.yaml", Objects: provenancetest.Objects(t, strings.Join(docs, ""))}})
	if err != nil {
		t.Fatal(err)
	}
	return provenance.Part{Index: idx, Fetched: time.Unix(1, 0)}
}

// declared is name -> "root:value" for every ConfigMap of snap.
func declared(snap *provenance.Snapshot, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		e := snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: n})
		if e == nil {
			continue
		}
		v, _ := e.Object()["data"].(map[string]any)["v"].(string)
		st := snap.RootOf(e)
		out[n] = st.Root.Name + "@" + st.Revision.Hash[:1] + ":" + v
	}
	return out
}

// conflicts is "name owner>other,other" for every conflict of snap.
func conflicts(snap *provenance.Snapshot) []string {
	var out []string
	for _, c := range snap.Conflicts() {
		s := c.Key.Name + " " + c.Owner.Name + ">"
		for i, o := range c.Others {
			if i > 0 {
				s += ","
			}
			s += o.Name
		}
		out = append(out, s)
	}
	return out
}

// TestComposer walks one Composer through loads, conflicts, failures and
// removals; each step states what the composed snapshot declares.
func TestComposer(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Expect(rootA, rootB, rootC)
	steps := []struct {
		name          string
		do            func(t *testing.T)
		wantUnchanged bool // the snapshot in force is the same pointer
		want          map[string]string
		wantConflicts []string
		wantReady     string // a substring of Ready's error; "" means ready
	}{
		{name: "first root loads", do: func(t *testing.T) {
			c.Update(part(t, rootB, "1", cm("shared", "b1"), cm("only-b", "b1")))
		}, want: map[string]string{"shared": "path b@1:b1", "only-b": "path b@1:b1"}, wantReady: "path a"},
		{name: "a root sorting earlier declares the same object later: the first by name owns it", do: func(t *testing.T) {
			c.Update(part(t, rootA, "2", cm("shared", "a2"), cm("only-a", "a2")))
		}, want: map[string]string{"shared": "path a@2:a2", "only-b": "path b@1:b1", "only-a": "path a@2:a2"},
			wantConflicts: []string{"shared path a>path b"}, wantReady: "path c"},
		{name: "a third joins the conflict", do: func(t *testing.T) {
			c.Update(part(t, rootC, "3", cm("shared", "c3")))
		}, want: map[string]string{"shared": "path a@2:a2", "only-a": "path a@2:a2"},
			wantConflicts: []string{"shared path a>path b,path c"}},
		{name: "a failed root keeps its last good part", do: func(t *testing.T) {
			c.Fail(rootB, errors.New("render: broken YAML"))
		}, wantUnchanged: true, want: map[string]string{"shared": "path a@2:a2", "only-b": "path b@1:b1"},
			wantConflicts: []string{"shared path a>path b,path c"}},
		{name: "a contender stops declaring it", do: func(t *testing.T) {
			c.Update(part(t, rootB, "4", cm("only-b", "b4")))
		}, want: map[string]string{"shared": "path a@2:a2", "only-b": "path b@4:b4"},
			wantConflicts: []string{"shared path a>path c"}},
		{name: "it declares it again: the order stays by name", do: func(t *testing.T) {
			c.Update(part(t, rootB, "5", cm("shared", "b5"), cm("only-b", "b5")))
		}, want: map[string]string{"shared": "path a@2:a2", "only-b": "path b@5:b5"},
			wantConflicts: []string{"shared path a>path b,path c"}},
		{name: "removing the owner hands it to the next by name", do: func(t *testing.T) {
			c.Remove(rootA)
		}, want: map[string]string{"shared": "path b@5:b5", "only-b": "path b@5:b5"},
			wantConflicts: []string{"shared path b>path c"}},
		{name: "removing the last contender ends the conflict", do: func(t *testing.T) {
			c.Remove(rootC)
		}, want: map[string]string{"shared": "path b@5:b5"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := c.Store.Load()
			st.do(t)
			snap := c.Store.Load()
			if st.wantUnchanged != (snap == before) {
				t.Errorf("snapshot replaced = %v, want %v", snap != before, !st.wantUnchanged)
			}
			got := declared(snap, "shared", "only-a", "only-b")
			for n, w := range st.want {
				if got[n] != w {
					t.Errorf("%s = %q, want %q", n, got[n], w)
				}
			}
			if g := conflicts(snap); !reflect.DeepEqual(g, st.wantConflicts) {
				t.Errorf("conflicts = %q, want %q", g, st.wantConflicts)
			}
			err := c.Ready()
			if st.wantReady == "" && err != nil || st.wantReady != "" && (err == nil || !strings.Contains(err.Error(), st.wantReady)) {
				t.Errorf("Ready() = %v, want %q", err, st.wantReady)
			}
		})
	}
}

// TestComposeTieOnFirstLoad: roots loaded together give a shared object to
// the first by source and name, whatever the map order.
func TestComposeTieOnFirstLoad(t *testing.T) {
	for i := 0; i < 20; i++ {
		c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
		c.Update(
			part(t, rootC, "3", cm("shared", "c")),
			part(t, rootB, "2", cm("shared", "b")),
			part(t, rootA, "1", cm("other", "a")),
		)
		snap := c.Store.Load()
		if got := declared(snap, "shared")["shared"]; got != "path b@2:b" {
			t.Fatalf("shared = %q, want path b@2:b", got)
		}
		if got := conflicts(snap); !reflect.DeepEqual(got, []string{"shared path b>path c"}) {
			t.Fatalf("conflicts = %q", got)
		}
		if snap.Len() != 2 || !snap.NamespaceHoldsManaged("app") || !snap.DeclaresKind("", "ConfigMap") {
			t.Errorf("len %d; counts wrong", snap.Len())
		}
	}
}

func TestComposerReadyAndClock(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard(), Now: func() time.Time { return now }}
	if err := c.Ready(); err == nil {
		t.Error("ready with no root")
	}
	c.Fail(rootB, errors.New("not expected, never loaded"))
	if err := c.Ready(); err == nil || !strings.Contains(err.Error(), "no root to enforce yet") {
		t.Errorf("Ready() = %v with only a failed root never expected", err)
	}
	c.Expect(rootA)
	c.Fail(rootA, errors.New("fetch: connection refused"))
	if err := c.Ready(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready() = %v, want the root's failure", err)
	}
	if !c.LastSuccess(rootA).IsZero() {
		t.Error("LastSuccess set before any success")
	}
	c.Update(part(t, rootA, "1", cm("x", "1")))
	if err := c.Ready(); err != nil {
		t.Errorf("Ready() = %v after the root loaded", err)
	}
	now = now.Add(time.Minute)
	c.Fail(rootA, errors.New("render"))
	if got := c.LastSuccess(rootA); !got.Equal(time.Unix(1000, 0)) {
		t.Errorf("LastSuccess moved on a failure: %v", got)
	}
	if c.Ready() != nil {
		t.Error("a root that loaded once must stay ready when it fails later")
	}
	c.Fail(rootB, errors.New("render: a Kustomization created later is broken"))
	if err := c.Ready(); err != nil {
		t.Errorf("Ready() = %v: a root never expected holds readiness", err)
	}
	c.Confirm(rootA)
	if got := c.LastSuccess(rootA); !got.Equal(now) {
		t.Errorf("LastSuccess = %v after Confirm, want %v", got, now)
	}
	var names []string
	for _, st := range c.Store.Load().Roots() {
		names = append(names, st.Root.Name+"@"+st.Revision.Hash[:1])
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"path a@1"}) {
		t.Errorf("roots = %v", names)
	}
}

// TestComposerConcurrentDrivers: drivers update, fail, confirm and remove
// their roots at once while requests read; run with -race. Every
// published snapshot is whole: each loaded root's object is in it.
func TestComposerConcurrentDrivers(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	roots := []provenance.Root{rootA, rootB, rootC}
	parts := make([]provenance.Part, len(roots))
	for i, r := range roots {
		parts[i] = part(t, r, "1", cm("cm-"+r.Name[5:], "1"))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if snap := c.Store.Load(); snap != nil {
				for _, st := range snap.Roots() {
					if snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: "cm-" + st.Root.Name[5:]}) == nil {
						t.Errorf("snapshot lists %s without its object", st.Root.Name)
						return
					}
					_ = c.LastSuccess(st.Root)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 50; n++ {
				c.Update(parts[i])
				c.Confirm(r)
				c.Fail(r, errors.New("render"))
				if n%10 == 9 {
					c.Remove(r)
				}
				_ = c.Ready()
			}
		}()
	}
	wg.Wait()
	<-done
}
