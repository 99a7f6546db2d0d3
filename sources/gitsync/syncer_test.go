package gitsync

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/signature"
	"github.com/gitgate/gitgate/test/harness"
)

func TestRefKinds(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "1.0.0")})
	c1 := mustCommit(t, g, harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "1.0.0")}, Message: "1.0.0"})
	pushTag(t, g, "v1.0.0", c1, false)
	c2 := mustCommit(t, g, harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "1.2.0")}})
	pushTag(t, g, "v1.2.0", c2, true) // annotated: the peeled ref names the commit
	c3 := mustCommit(t, g, harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "2.0.0")}})
	pushTag(t, g, "v2.0.0", c3, false)
	pushTag(t, g, "not-a-version", c3, false)
	head := mustCommit(t, g, harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "head")}})

	tests := []struct {
		name      string
		ref       gitsource.Ref
		wantHash  string
		wantValue string
		wantRev   string
	}{
		{"branch", gitsource.Ref{Branch: "main"}, head, "head", "main@sha1:" + head},
		{"tag", gitsource.Ref{Tag: "v1.0.0"}, c1, "1.0.0", "v1.0.0@sha1:" + c1},
		{"annotated tag", gitsource.Ref{Tag: "v1.2.0"}, c2, "1.2.0", "v1.2.0@sha1:" + c2},
		{"semver range", gitsource.Ref{SemVer: ">=1.0.0 <2.0.0"}, c2, "1.2.0", "v1.2.0@sha1:" + c2},
		{"semver any", gitsource.Ref{SemVer: "*"}, c3, "2.0.0", "v2.0.0@sha1:" + c3},
		{"commit", gitsource.Ref{Commit: c1}, c1, "1.0.0", "sha1:" + c1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSyncer(newTestSource(t, g.HTTPURL(), tt.ref, basicAuthFiles(t, testUser, testPass), ""))
			snap := mustSync(t, s)
			if revisionOf(snap).Hash != tt.wantHash || revisionOf(snap).String() != tt.wantRev {
				t.Errorf("revision = %s, want %s", revisionOf(snap), tt.wantRev)
			}
			if got := declaredValue(t, s, "web"); got != tt.wantValue {
				t.Errorf("declared value = %q, want %q", got, tt.wantValue)
			}
		})
	}
	for _, bad := range []gitsource.Ref{{}, {Branch: "main", Tag: "v1"}, {Commit: "abc"}, {SemVer: "not a range"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Ref %+v: want a validation error", bad)
		}
	}
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{SemVer: ">=3.0.0"}, basicAuthFiles(t, testUser, testPass), ""))
	if err := s.SyncOnce(context.Background()); !errors.Is(err, gitsource.ErrRefNotFound) {
		t.Errorf("semver range without a tag: err = %v, want gitsource.ErrRefNotFound", err)
	}
}

// TestLastGoodRevisionStands walks one repository through the changes that
// must never replace the enforced revision, and the ones that must.
func TestLastGoodRevisionStands(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "1")})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""))
	if !s.LastSuccess().IsZero() {
		t.Fatal("LastSuccess is set before any sync")
	}
	good := revisionOf(mustSync(t, s))
	firstSuccess := s.LastSuccess()
	if firstSuccess.IsZero() {
		t.Fatal("LastSuccess not set after a sync")
	}
	time.Sleep(5 * time.Millisecond)
	mustSync(t, s) // unchanged remote: still a success
	if !s.LastSuccess().After(firstSuccess) {
		t.Error("LastSuccess did not move on a sync that found the revision unchanged")
	}

	steps := []struct {
		name       string
		change     func() error
		wantReason FailureReason // "" means the new revision loads
		wantValue  string
	}{
		{"broken YAML", func() error {
			_, err := g.Commit(harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "2"), "app/bad.yaml": "kind: [unclosed\n"}})
			return err
		}, FailRender, "1"},
		{"object declared twice", func() error {
			_, err := g.Commit(harness.Change{Write: map[string]string{"app/bad.yaml": configMap("web", "3")}})
			return err
		}, FailIndex, "1"},
		{"fixed", func() error {
			_, err := g.Commit(harness.Change{Delete: []string{"app/bad.yaml"}})
			return err
		}, "", "2"},
		{"an empty file and a comment naming CRDs", func() error {
			_, err := g.Commit(harness.Change{Write: map[string]string{"app/empty.yaml": "", "app/notes.yaml": "# CustomResourceDefinitions come from the chart\n"}})
			return err
		}, "", "2"},
		{"a CRD whose kind is escaped", func() error {
			_, err := g.Commit(harness.Change{Write: map[string]string{"app/crd.yaml": strings.Replace(widgetCRD, "kind: CustomResourceDefinition", `kind: "Custom\u0052esourceDefinition"`, 1)}})
			return err
		}, "", "2"},
		{"force-push rewriting history", func() error {
			_, err := g.Commit(harness.Change{Orphan: true, Write: map[string]string{"app/cm.yaml": configMap("web", "rewritten")}})
			return err
		}, "", "rewritten"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := s.Composer.Store.Load()
			lastOK := s.LastSuccess()
			if err := st.change(); err != nil {
				t.Fatal(err)
			}
			err := s.SyncOnce(context.Background())
			if st.wantReason == "" {
				if err != nil {
					t.Fatalf("sync: %v", err)
				}
			} else {
				var se *SyncError
				if !errors.As(err, &se) || se.Reason != st.wantReason {
					t.Fatalf("err = %v, want a %s failure", err, st.wantReason)
				}
				if s.Composer.Store.Load() != before {
					t.Error("the snapshot changed after a failed sync")
				}
				if !s.LastSuccess().Equal(lastOK) {
					t.Error("LastSuccess moved on a failed sync")
				}
			}
			if got := declaredValue(t, s, "web"); got != st.wantValue {
				t.Errorf("declared value = %q, want %q", got, st.wantValue)
			}
		})
	}
	if revisionOf(s.Composer.Store.Load()) == good {
		t.Error("the revision never moved")
	}
}

func TestBranchDeleted(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "1")})
	pushBranch(t, g, "release")
	mustCommit(t, g, harness.Change{Branch: "release", Write: map[string]string{"app/cm.yaml": configMap("web", "release")}})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "release"}, basicAuthFiles(t, testUser, testPass), ""))
	before := mustSync(t, s)
	if err := g.DeleteBranch("release"); err != nil {
		t.Fatal(err)
	}
	err := s.SyncOnce(context.Background())
	var se *SyncError
	if !errors.As(err, &se) || se.Reason != FailRefNotFound || !errors.Is(err, gitsource.ErrRefNotFound) {
		t.Fatalf("err = %v, want a ref_not_found failure", err)
	}
	if s.Composer.Store.Load() != before || declaredValue(t, s, "web") != "release" {
		t.Error("the last revision of the deleted branch is no longer enforced")
	}
}

func TestVerifyCommits(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "unsigned-seed")})
	dir := t.TempDir()
	trusted, keyring, err := harness.NewPGPKey(dir, "trusted")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _, err := harness.NewPGPKey(dir, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadPGPKeyring(keyring)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), ""))
	s.Verifier = v

	steps := []struct {
		name      string
		commit    func() (string, error)
		wantErr   error
		wantValue string
	}{
		{"unsigned seed refused", func() (string, error) { return "", nil }, signature.ErrUnsigned, ""},
		{"signed by trusted key", func() (string, error) {
			return g.CommitSigned(map[string]string{"app/cm.yaml": configMap("web", "signed")}, trusted)
		}, nil, "signed"},
		{"unsigned refused", func() (string, error) {
			return g.Commit(harness.Change{Write: map[string]string{"app/cm.yaml": configMap("web", "unsigned")}})
		}, signature.ErrUnsigned, "signed"},
		{"signed by unknown key refused", func() (string, error) {
			return g.CommitSigned(map[string]string{"app/cm.yaml": configMap("web", "stranger")}, stranger)
		}, signature.ErrUntrustedSignature, "signed"},
		{"signed again", func() (string, error) {
			return g.CommitSigned(map[string]string{"app/cm.yaml": configMap("web", "signed-2")}, trusted)
		}, nil, "signed-2"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if _, err := st.commit(); err != nil {
				t.Fatal(err)
			}
			err := s.SyncOnce(context.Background())
			if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, st.wantErr)
			}
			var se *SyncError
			if err != nil && (!errors.As(err, &se) || se.Reason != FailVerify) {
				t.Errorf("reason of %v is not verify", err)
			}
			if st.wantValue == "" {
				if s.Composer.Store.Load() != nil {
					t.Error("an unverified revision was loaded")
				}
				return
			}
			if got := declaredValue(t, s, "web"); got != st.wantValue {
				t.Errorf("declared value = %q, want %q", got, st.wantValue)
			}
		})
	}
}

// TestRetainBoundsMemory: after many fetches the in-memory store holds no
// more than one revision's objects.
func TestRetainBoundsMemory(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "0")})
	src := newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), "")
	s := newTestSyncer(src)
	mustSync(t, s)
	for i := 1; i <= 8; i++ {
		mustCommit(t, g, harness.Change{Write: map[string]string{
			"app/cm.yaml": configMap("web", string(rune('0'+i))),
			"app/extra-" + string(rune('a'+i)) + ".yaml": configMap("extra-"+string(rune('a'+i)), "x"),
		}})
		mustSync(t, s)
	}
	fresh := newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(t, testUser, testPass), "")
	mustSync(t, newTestSyncer(fresh))
	if got, want := src.ObjectCount(), fresh.ObjectCount(); got != want {
		t.Errorf("objects after 9 fetches = %d, want %d (a fresh fetch of the head)", got, want)
	}
	if got := declaredValue(t, s, "web"); got != "8" {
		t.Errorf("declared value = %q, want 8", got)
	}
}

// TestCacheDirRestart: with a cache dir, a restarted source reads the
// revision it already has without fetching: here the server is gone.
func TestCacheDirRestart(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "cached")})
	cache := t.TempDir()
	creds := basicAuthFiles(t, testUser, testPass)
	first := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, creds, cache))
	rev := revisionOf(mustSync(t, first))

	restarted := newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "main"}, creds, cache)
	if got, err := restarted.Resolve(context.Background()); err != nil || got != rev {
		t.Fatalf("resolve = %v, %v; want %v", got, err, rev)
	}
	g.Stop()
	c, err := restarted.Commit(context.Background(), rev)
	if err != nil {
		t.Fatalf("commit from the cache with the server stopped: %v", err)
	}
	if c.Hash.String() != rev.Hash {
		t.Errorf("commit = %s, want %s", c.Hash, rev.Hash)
	}
}

// TestFirstSyncRetriedWithBackoff: a branch missing at start (as when Git
// or discovery is down) is loaded seconds after it appears, not after a
// whole --interval.
func TestFirstSyncRetriedWithBackoff(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "1")})
	s := newTestSyncer(newTestSource(t, g.HTTPURL(), gitsource.Ref{Branch: "late"}, basicAuthFiles(t, testUser, testPass), ""))
	s.Interval, s.RetryMin = time.Hour, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	time.Sleep(100 * time.Millisecond) // a few failed attempts
	if s.Composer.Store.Load() != nil {
		t.Fatal("loaded a branch that does not exist")
	}
	pushBranch(t, g, "late")
	// Liveness, not a timing target: with the hour-long interval and no
	// retry this would never load.
	for deadline := time.Now().Add(20 * time.Second); s.Composer.Store.Load() == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the branch pushed after start was never loaded")
		}
	}
	if got := declaredValue(t, s, "web"); got != "1" {
		t.Errorf("declared value = %q", got)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: 10 * time.Second}
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, b.next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	b.reset()
	if d := b.next(); d != time.Second {
		t.Errorf("after reset: %v", d)
	}
	if d := (&backoff{max: time.Minute}).next(); d != DefaultRetryMin {
		t.Errorf("zero min: %v, want %v", d, DefaultRetryMin)
	}
}

// widgetCRD declares Widget.example.com, and one Widget beside it.
const widgetCRD = provenancetest.WidgetCRD + `---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: app}
spec: {size: 3}
`
