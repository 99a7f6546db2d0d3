package server

import (
	"fmt"
	"net/url"
	"os"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/signature"
)

// Open builds the Git source, reading the credential and CA files. Errors
// name files (as the flags that set them), never their contents.
func (s GitSource) Open() (*gitsource.Source, error) {
	creds := s.Credentials
	creds.SSHUser = sshUser(s.URL)
	auth, err := creds.Load()
	if err != nil {
		return nil, err
	}
	var ca []byte
	if s.CAFile != "" {
		if ca, err = os.ReadFile(s.CAFile); err != nil {
			return nil, fmt.Errorf("--git-ca-file: %w", err)
		}
	}
	return gitsource.New(gitsource.Options{URL: s.URL, Ref: s.Ref, Auth: auth, CABundle: ca, CacheDir: s.CacheDir})
}

// sshUser is the login of an ssh:// URL, "git" when it names none.
func sshUser(repoURL string) string {
	if u, err := url.Parse(repoURL); err == nil && u.User != nil && u.User.Username() != "" {
		return u.User.Username()
	}
	return "git"
}

// verified reports whether the source's heads must be signed.
func (s GitSource) verified() bool { return s.VerifyKeyring != "" || s.VerifySSH != "" }

// verifier loads the keys of VerifyKeyring and VerifySSH; nil when
// neither is set.
func (s GitSource) verifier() (signature.Verifier, error) {
	if !s.verified() {
		return nil, nil
	}
	var v signature.Verifiers
	var err error
	if s.VerifyKeyring != "" {
		if v.PGP, err = signature.LoadPGPKeyring(s.VerifyKeyring); err != nil {
			return nil, fmt.Errorf("--verify-commits: %w", err)
		}
	}
	if s.VerifySSH != "" {
		if v.SSH, err = signature.LoadAllowedSigners(s.VerifySSH); err != nil {
			return nil, fmt.Errorf("--verify-commits-ssh: %w", err)
		}
	}
	return v, nil
}

// warnUnverified logs, once per source at start, that the source's commits
// are not verified: a --sources-file entry without verify, or --repo-url
// without --verify-commits or --verify-commits-ssh. Leaving a source
// unverified is the operator's choice, but never a silent one: moving
// from the flags to --sources-file must not drop verification unseen.
func warnUnverified(log logr.Logger, sources []GitSource) {
	for _, s := range sources {
		if s.verified() {
			continue
		}
		name, how := s.Name, "verify: {pgpKeyring: ..., sshAllowedSigners: ...} in --sources-file"
		if name == "" {
			name, how = gitsource.RedactURL(s.URL), "--verify-commits or --verify-commits-ssh"
		}
		log.Info("WARNING: commit signatures of this source are not verified; whoever can push to it decides what gitgate enforces", "source", name, "toVerify", how)
	}
}
