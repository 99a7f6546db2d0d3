package gitsync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/test/harness"
)

// rootOf is the state of the root declaring ConfigMap app/name.
func rootOf(t *testing.T, s *Syncer, name string) *provenance.RootState {
	t.Helper()
	snap := s.Composer.Store.Load()
	st := snap.RootOf(snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: name}))
	if st == nil {
		t.Fatalf("ConfigMap %s is not declared", name)
	}
	return st
}

// TestRootsMoveOnIndependently: two paths of one repository are two roots.
// A broken file in one leaves that root at its last good revision while
// the other loads each new revision; a refused (unverified) head changes
// neither; an unchanged root is not rendered again.
func TestRootsMoveOnIndependently(t *testing.T) {
	g := startGitServer(t, map[string]string{"a/cm.yaml": configMap("a", "1"), "b/cm.yaml": configMap("b", "1")})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""), "a", "b")
	first := revisionOf2(t, mustSync(t, s), "a")

	steps := []struct {
		name       string
		write      map[string]string
		delete     []string
		wantReason FailureReason
		wantA      string // value declared by root "path a" and whether it moved
		wantB      string
		wantAMoved bool
		wantParsed int
	}{
		{name: "root a breaks, b moves on", write: map[string]string{"a/cm.yaml": configMap("a", "2"), "a/bad.yaml": "kind: [unclosed\n", "b/cm.yaml": configMap("b", "2")},
			wantReason: FailRender, wantA: "1", wantB: "2", wantParsed: 1},
		{name: "b moves again while a stays broken", write: map[string]string{"b/cm.yaml": configMap("b", "3")},
			wantReason: FailRender, wantA: "1", wantB: "3", wantParsed: 1},
		{name: "a fixed: it loads, b is not parsed again", delete: []string{"a/bad.yaml"},
			wantA: "2", wantB: "3", wantAMoved: true, wantParsed: 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustCommit(t, g, harness.Change{Write: st.write, Delete: st.delete})
			head, err := s.Source.Resolve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			err = s.SyncOnce(context.Background())
			var se *SyncError
			switch {
			case st.wantReason == "" && err != nil:
				t.Fatalf("sync: %v", err)
			case st.wantReason != "" && (!errors.As(err, &se) || se.Reason != st.wantReason):
				t.Fatalf("err = %v, want a %s failure", err, st.wantReason)
			case st.wantReason != "" && !strings.Contains(err.Error(), "path a: ") || strings.Contains(errString(err), "path b"):
				t.Errorf("the error does not name root a alone: %v", err)
			}
			if got := declaredValue(t, s, "a"); got != st.wantA {
				t.Errorf("a = %q, want %q", got, st.wantA)
			}
			if got := declaredValue(t, s, "b"); got != st.wantB {
				t.Errorf("b = %q, want %q", got, st.wantB)
			}
			if rev := rootOf(t, s, "b").Revision; rev != head {
				t.Errorf("root b at %s, want the head %s", rev, head)
			}
			if moved := rootOf(t, s, "a").Revision != first; moved != st.wantAMoved {
				t.Errorf("root a moved = %v, want %v", moved, st.wantAMoved)
			}
			if s.stats.Parsed != st.wantParsed {
				t.Errorf("parsed %d files, want %d", s.stats.Parsed, st.wantParsed)
			}
		})
	}
	if err := s.Composer.Ready(); err != nil {
		t.Errorf("not ready: %v", err)
	}
}

// TestRootNeverLoadedIsNotReady: a root broken from the first revision
// keeps readiness off, naming it, while the other root is enforced.
func TestRootNeverLoadedIsNotReady(t *testing.T) {
	g := startGitServer(t, map[string]string{"a/bad.yaml": "kind: [unclosed\n", "b/cm.yaml": configMap("b", "1")})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""), "a", "b")
	s.Composer.Expect(s.RootsOf()...)
	if err := s.SyncOnce(context.Background()); err == nil {
		t.Fatal("sync succeeded with a broken root")
	}
	if got := declaredValue(t, s, "b"); got != "1" {
		t.Errorf("b = %q, want 1", got)
	}
	err := s.Composer.Ready()
	if err == nil || !strings.Contains(err.Error(), "path a") || strings.Contains(err.Error(), "path b") {
		t.Errorf("Ready() = %v, want it to name path a alone", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// revisionOf2 is the revision of the root named "path "+p.
func revisionOf2(t *testing.T, snap *provenance.Snapshot, p string) provenance.Revision {
	t.Helper()
	for _, st := range snap.Roots() {
		if st.Root.Name == "path "+p {
			return st.Revision
		}
	}
	t.Fatalf("no root path %s", p)
	return provenance.Revision{}
}

// TestObjectMovedToBrokenRootStaysDeclared: a commit moves ConfigMap x
// from apps to infra and breaks infra. x stays declared by apps at the
// revision before, with its value then, until infra loads a revision;
// then it is infra's, or gone when Git no longer declares it.
func TestObjectMovedToBrokenRootStaysDeclared(t *testing.T) {
	g := startGitServer(t, map[string]string{"apps/x.yaml": configMap("x", "1"), "apps/a.yaml": configMap("a", "1"), "infra/i.yaml": configMap("i", "1")})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""), "apps", "infra")
	first := revisionOf2(t, mustSync(t, s), "apps")
	steps := []struct {
		name     string
		change   harness.Change
		wantFail bool
		wantX    string // "" when x is not declared
		wantRoot string // the root x rests on
		atFirst  bool   // x rests on the first revision
	}{
		{name: "x moves to infra, which breaks: apps keeps x at the first revision",
			change:   harness.Change{Write: map[string]string{"infra/x.yaml": configMap("x", "2"), "infra/bad.yaml": "kind: [unclosed\n"}, Delete: []string{"apps/x.yaml"}},
			wantFail: true, wantX: "1", wantRoot: "path apps", atFirst: true},
		{name: "apps moves on, infra stays broken: still held",
			change:   harness.Change{Write: map[string]string{"apps/a.yaml": configMap("a", "2")}},
			wantFail: true, wantX: "1", wantRoot: "path apps", atFirst: true},
		{name: "infra fixed: x is infra's", change: harness.Change{Delete: []string{"infra/bad.yaml"}},
			wantX: "2", wantRoot: "path infra"},
		{name: "x deleted from Git: undeclared", change: harness.Change{Delete: []string{"infra/x.yaml"}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustCommit(t, g, st.change)
			if err := s.SyncOnce(context.Background()); (err != nil) != st.wantFail {
				t.Fatalf("sync err = %v, want failure %v", err, st.wantFail)
			}
			if got := declaredValue(t, s, "x"); got != st.wantX {
				t.Fatalf("x = %q, want %q", got, st.wantX)
			}
			if st.wantX == "" {
				return
			}
			root := rootOf(t, s, "x")
			if root.Root.Name != st.wantRoot || (root.Revision == first) != st.atFirst {
				t.Errorf("x rests on %s at %s, want %s (at the first revision %v)", root.Root.Name, root.Revision, st.wantRoot, st.atFirst)
			}
		})
	}
}
