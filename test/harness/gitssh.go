package harness

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/gitkit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHAccess is what a client needs to reach a GitServer over SSH: the URL,
// a private key the server accepts and a known_hosts file naming the
// server's host key.
type SSHAccess struct {
	URL            string
	KeyFile        string
	KnownHostsFile string
}

// StartSSH serves the repository over SSH as well, accepting only a fresh
// ed25519 client key, whose files it writes to dir. The server must have
// been started with a Username (authentication on): without it gitkit lets
// every client in. The key check is process-wide in gittestserver, so one
// process should run one SSH server.
func (g *GitServer) StartSSH(dir string) (SSHAccess, error) {
	if g.user == "" {
		return SSHAccess{}, errors.New("StartSSH needs a server started with a Username")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SSHAccess{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "gitgate test")
	if err != nil {
		return SSHAccess{}, err
	}
	acc := SSHAccess{KeyFile: filepath.Join(dir, "id_ed25519"), KnownHostsFile: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(acc.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return SSHAccess{}, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return SSHAccess{}, err
	}
	allowed := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	g.Server.PublicKeyLookupFunc(func(content string) (*gitkit.PublicKey, error) {
		if content != allowed {
			return nil, errors.New("unknown key")
		}
		return &gitkit.PublicKey{Id: "gitgate"}, nil
	})
	keyDir := filepath.Join(dir, "host")
	g.Server.KeyDir(keyDir)
	if err := g.Server.ListenSSH(); err != nil {
		return SSHAccess{}, err
	}
	go func() { _ = g.Server.StartSSH() }()
	hostPub, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		return SSHAccess{}, fmt.Errorf("read host key: %w", err)
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey(hostPub)
	if err != nil {
		return SSHAccess{}, err
	}
	acc.URL = g.Server.SSHAddress() + "/" + g.RepoPath
	host := strings.TrimPrefix(g.Server.SSHAddress(), "ssh://git@")
	line := knownhosts.Line([]string{knownhosts.Normalize(host)}, hk)
	if err := os.WriteFile(acc.KnownHostsFile, []byte(line+"\n"), 0o600); err != nil {
		return SSHAccess{}, err
	}
	return acc, nil
}
