package gitsync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-logr/logr"
	gossh "golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/test/harness"
)

// gitTestScope knows every kind; Namespaces and ClusterRoles are cluster
// scoped, everything else namespaced.
type gitTestScope struct{}

func (gitTestScope) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	return gk.Kind != "Namespace" && gk.Kind != "ClusterRole", true, nil
}

const (
	testUser = "gitgate"
	testPass = "s3cr3t-passw0rd"
)

func configMap(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: app\ndata:\n  v: \"" + value + "\"\n"
}

// startGitServer serves a repository holding files, with basic auth.
func startGitServer(t testing.TB, files map[string]string) *harness.GitServer {
	t.Helper()
	log.SetOutput(io.Discard) // gittestserver logs every request
	dir := t.TempDir()
	provenancetest.WriteFiles(t, dir, files)
	g, err := harness.StartGitServer(harness.GitServerOptions{Fixture: dir, Username: testUser, Password: testPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// basicAuthFiles writes the test credentials to files, as a mounted Secret.
func basicAuthFiles(t testing.TB, user, pass string) gitsource.Credentials {
	dir := t.TempDir()
	c := gitsource.Credentials{UsernameFile: filepath.Join(dir, "username"), PasswordFile: filepath.Join(dir, "password")}
	writeTestFile(t, c.UsernameFile, user+"\n")
	writeTestFile(t, c.PasswordFile, pass+"\n")
	return c
}

func writeTestFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newTestSource(t testing.TB, url string, ref gitsource.Ref, creds gitsource.Credentials, cacheDir string) *gitsource.Source {
	t.Helper()
	auth, err := creds.Load()
	if err != nil {
		t.Fatal(err)
	}
	src, err := gitsource.New(gitsource.Options{URL: url, Ref: ref, Auth: auth, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newTestSyncer(src *gitsource.Source, roots ...string) *Syncer {
	return &Syncer{
		Source:   src,
		Indexer:  &provenance.Indexer{Scope: gitTestScope{}, DefaultNamespace: "default"},
		Composer: &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()},
		Roots:    roots,
		Interval: time.Hour,
		Log:      logr.Discard(),
	}
}

func mustCommit(t testing.TB, g *harness.GitServer, c harness.Change) string {
	t.Helper()
	h, err := g.Commit(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustSync(t testing.TB, s *Syncer) *provenance.Snapshot {
	t.Helper()
	if err := s.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return s.Composer.Store.Load()
}

// declaredValue is data.v of ConfigMap app/name at the current snapshot.
func declaredValue(t testing.TB, s *Syncer, name string) string {
	t.Helper()
	snap := s.Composer.Store.Load()
	if snap == nil {
		t.Fatal("no snapshot")
	}
	e := snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: name})
	if e == nil {
		return ""
	}
	v, _ := e.Object()["data"].(map[string]any)["v"].(string)
	return v
}

// pushTag tags hash on the server; annotated tags get a tag object.
func pushTag(t testing.TB, g *harness.GitServer, name, hash string, annotated bool) {
	t.Helper()
	auth := basicAuthFiles(t, testUser, testPass)
	a, _ := auth.Load()
	repo, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: g.HTTPURL(), Auth: a, NoCheckout: true})
	if err != nil {
		t.Fatal(err)
	}
	var opts *git.CreateTagOptions
	if annotated {
		opts = &git.CreateTagOptions{Message: name, Tagger: &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()}}
	}
	if _, err := repo.CreateTag(name, plumbing.NewHash(hash), opts); err != nil {
		t.Fatal(err)
	}
	spec := config.RefSpec("refs/tags/" + name + ":refs/tags/" + name)
	if err := repo.Push(&git.PushOptions{Auth: a, RefSpecs: []config.RefSpec{spec}}); err != nil {
		t.Fatal(err)
	}
}

func TestCredentials(t *testing.T) {
	g := startGitServer(t, map[string]string{"app/cm.yaml": configMap("web", "1")})
	ssh, err := g.StartSSH(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(strings.TrimSuffix(ssh.URL, "/"+g.RepoPath), "ssh://git@")
	// known_hosts naming another key for the server: it must be refused.
	otherHost := filepath.Join(t.TempDir(), "known_hosts")
	writeTestFile(t, otherHost, "["+strings.Replace(host, ":", "]:", 1)+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
	// A well-formed key the server does not accept.
	otherKey := filepath.Join(t.TempDir(), "id_ed25519")
	writeTestFile(t, otherKey, newSSHKeyPEM(t))

	tests := []struct {
		name     string
		url      string
		creds    gitsource.Credentials
		wantErr  bool
		wantAuth bool // the error is an authentication error
	}{
		{"basic auth", g.HTTPURL(), basicAuthFiles(t, testUser, testPass), false, false},
		{"wrong password", g.HTTPURL(), basicAuthFiles(t, testUser, "not-the-"+testPass), true, true},
		{"anonymous", g.HTTPURL(), gitsource.Credentials{}, true, true},
		{"ssh key and known_hosts", ssh.URL, gitsource.Credentials{SSHKeyFile: ssh.KeyFile, KnownHostsFile: ssh.KnownHostsFile}, false, false},
		{"ssh unknown host key", ssh.URL, gitsource.Credentials{SSHKeyFile: ssh.KeyFile, KnownHostsFile: otherHost}, true, false},
		{"ssh key not accepted", ssh.URL, gitsource.Credentials{SSHKeyFile: otherKey, KnownHostsFile: ssh.KnownHostsFile}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSyncer(newTestSource(t, tt.url, gitsource.Ref{Branch: "main"}, tt.creds, ""))
			err := s.SyncOnce(context.Background())
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("sync: %v", err)
				}
				if got := declaredValue(t, s, "web"); got != "1" {
					t.Errorf("declared value = %q, want 1", got)
				}
				return
			}
			if err == nil {
				t.Fatal("sync succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if tt.wantAuth && !errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed) {
				t.Errorf("error %v is not an authentication error", err)
			}
			if strings.Contains(err.Error(), "not-the-"+testPass) || strings.Contains(err.Error(), testPass) {
				t.Errorf("error leaks the password: %v", err)
			}
			if s.Composer.Store.Load() != nil {
				t.Error("a snapshot was stored after a failed sync")
			}
		})
	}
}

func newSSHKeyPEM(t testing.TB) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// pushBranch creates branch on the server at the default branch's head.
func pushBranch(t testing.TB, g *harness.GitServer, branch string) {
	t.Helper()
	a, _ := basicAuthFiles(t, testUser, testPass).Load()
	repo, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: g.HTTPURL(), Auth: a, NoCheckout: true,
		ReferenceName: plumbing.NewBranchReferenceName(g.Branch), SingleBranch: true})
	if err != nil {
		t.Fatal(err)
	}
	spec := config.RefSpec("refs/heads/" + g.Branch + ":refs/heads/" + branch)
	if err := repo.Push(&git.PushOptions{Auth: a, RefSpecs: []config.RefSpec{spec}}); err != nil {
		t.Fatal(err)
	}
}

// revisionOf is the revision of a snapshot's one root.
func revisionOf(snap *provenance.Snapshot) provenance.Revision {
	if roots := snap.Roots(); len(roots) == 1 {
		return roots[0].Revision
	}
	return provenance.Revision{}
}
