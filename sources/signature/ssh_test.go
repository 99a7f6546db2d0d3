package signature_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/sources/gitsource"
	. "github.com/gitgate/gitgate/sources/signature"
	"github.com/gitgate/gitgate/test/harness"
)

func newSSHSigner(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

// commitWith makes a commit in a throwaway repository, signed by signer
// (nil: unsigned).
func commitWith(t *testing.T, signer git.Signer) Commit {
	t.Helper()
	repo, err := git.Init(memory.NewStorage(), memfs.New())
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	f, _ := wt.Filesystem.Create("cm.yaml")
	_, _ = f.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	f.Close()
	if _, err := wt.Add("cm.yaml"); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("change", &git.CommitOptions{
		Author: &object.Signature{Name: "Dev", Email: "dev@example.com", When: time.Now()},
		Signer: signer,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := gitsource.SignedCommit(c)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestSSHCommitVerification(t *testing.T) {
	trusted, trustedKey := newSSHSigner(t)
	stranger, _ := newSSHSigner(t)
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte("# release keys\nrelease@example.com namespaces=\"git\" "+trustedKey+" release\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sshV, err := LoadAllowedSigners(allowed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		verifier Verifier
		signer   git.Signer
		want     error // nil: verified
	}{
		{name: "signed by an allowed key", verifier: sshV, signer: harness.SSHCommitSigner{Signer: trusted}},
		{name: "signed by another key", verifier: sshV, signer: harness.SSHCommitSigner{Signer: stranger}, want: ErrUntrustedSignature},
		{name: "unsigned", verifier: sshV, want: ErrUnsigned},
		{name: "either kind: SSH signature", verifier: Verifiers{SSH: sshV}, signer: harness.SSHCommitSigner{Signer: trusted}},
		{name: "either kind: SSH signature without allowed signers", verifier: Verifiers{PGP: &PGPVerifier{}}, signer: harness.SSHCommitSigner{Signer: trusted}, want: ErrUntrustedSignature},
		{name: "either kind: unsigned", verifier: Verifiers{SSH: sshV}, want: ErrUnsigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var signer git.Signer
			if tc.signer != nil {
				signer = tc.signer
			}
			who, err := tc.verifier.Verify(commitWith(t, signer))
			if !errors.Is(err, tc.want) || (tc.want != nil) != (err != nil) {
				t.Fatalf("Verify = %q, %v; want error %v", who, err, tc.want)
			}
			if err == nil && who != "release@example.com" {
				t.Errorf("signer = %q, want the principal", who)
			}
		})
	}

	// A signature is bound to the commit: the same signature on other
	// content does not verify.
	c := commitWith(t, harness.SSHCommitSigner{Signer: trusted})
	c.Payload = append([]byte(nil), c.Payload...)
	c.Payload[len(c.Payload)-2] ^= 1 // the last byte of the message
	if _, err := sshV.Verify(c); !errors.Is(err, ErrUntrustedSignature) {
		t.Errorf("tampered commit: err = %v, want ErrUntrustedSignature", err)
	}
}

func TestLoadAllowedSigners(t *testing.T) {
	_, key := newSSHSigner(t)
	tests := []struct {
		name, content, wantErr string
	}{
		{name: "plain", content: "a@example.com " + key + "\n"},
		{name: "several principals and a comment line", content: "# x\na@example.com,b@example.com " + key + " laptop\n"},
		{name: "only for file signatures", content: `a@example.com namespaces="file" ` + key + "\n", wantErr: "allows no key"},
		{name: "validity window not supported", content: `a@example.com valid-after="20260101" ` + key + "\n", wantErr: "not supported"},
		{name: "certificate authority not supported", content: "a@example.com cert-authority " + key + "\n", wantErr: "not supported"},
		{name: "no key", content: "a@example.com\n", wantErr: "want principals and a key"},
		{name: "garbage key", content: "a@example.com ssh-ed25519 AAAAnotbase64\n", wantErr: "allowed_signers:1"},
		{name: "empty", content: "", wantErr: "allows no key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "allowed_signers")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadAllowedSigners(p)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
