package gitsource

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

func TestSecretAuth(t *testing.T) {
	clientKey, hostKey, knownHosts := sshFixtures(t)
	tests := []struct {
		name     string
		url      string
		data     map[string][]byte
		insecure bool
		want     func(t *testing.T, auth transport.AuthMethod)
		wantCA   string
		wantErr  string
	}{
		{name: "no secret", url: "https://git.example.com/fleet.git",
			want: func(t *testing.T, auth transport.AuthMethod) { wantNil(t, auth) }},
		{name: "basic auth, trailing newline dropped", url: "https://git.example.com/fleet.git",
			data: map[string][]byte{"username": []byte("flux\n"), "password": []byte("s3cret\n")},
			want: func(t *testing.T, auth transport.AuthMethod) {
				b, ok := auth.(*githttp.BasicAuth)
				if !ok || b.Username != "flux" || b.Password != "s3cret" {
					t.Errorf("auth = %#v, want basic flux/s3cret", auth)
				}
			}},
		{name: "bearer token wins over basic auth, as in source-controller", url: "https://git.example.com/fleet.git",
			data: map[string][]byte{"bearerToken": []byte("tok"), "username": []byte("u")},
			want: func(t *testing.T, auth transport.AuthMethod) {
				if b, ok := auth.(*githttp.TokenAuth); !ok || b.Token != "tok" {
					t.Errorf("auth = %#v, want token", auth)
				}
			}},
		{name: "CA only", url: "https://git.example.com/fleet.git", data: map[string][]byte{"ca.crt": []byte("PEM")}, wantCA: "PEM",
			want: func(t *testing.T, auth transport.AuthMethod) { wantNil(t, auth) }},
		{name: "older caFile key", url: "https://git.example.com/fleet.git", data: map[string][]byte{"caFile": []byte("OLD")}, wantCA: "OLD",
			want: func(t *testing.T, auth transport.AuthMethod) { wantNil(t, auth) }},
		{name: "basic auth over plain http refused", url: "http://git.example.com/fleet.git",
			data: map[string][]byte{"username": []byte("flux-user"), "password": []byte("pw-4711")}, wantErr: "clear text"},
		{name: "basic auth over plain http when allowed", url: "http://git.example.com/fleet.git", insecure: true,
			data: map[string][]byte{"username": []byte("u"), "password": []byte("p")},
			want: func(t *testing.T, auth transport.AuthMethod) {
				if _, ok := auth.(*githttp.BasicAuth); !ok {
					t.Errorf("auth = %#v, want basic", auth)
				}
			}},
		{name: "password alone is basic auth with an empty user", url: "https://git.example.com/fleet.git", data: map[string][]byte{"password": []byte("pw-4711")},
			want: func(t *testing.T, auth transport.AuthMethod) {
				if b, ok := auth.(*githttp.BasicAuth); !ok || b.Username != "" || b.Password != "pw-4711" {
					t.Errorf("auth = %#v, want basic with an empty user", auth)
				}
			}},
		{name: "a token is ignored on an ssh URL", url: "ssh://git@git.example.com/fleet.git", data: map[string][]byte{"bearerToken": []byte("tok-4711")},
			want: func(t *testing.T, auth transport.AuthMethod) { wantNil(t, auth) }},
		{name: "an ssh key is ignored on an https URL; basic auth beside it is used", url: "https://git.example.com/fleet.git",
			data: map[string][]byte{"identity": clientKey, "known_hosts": knownHosts, "username": []byte("flux")},
			want: func(t *testing.T, auth transport.AuthMethod) {
				if b, ok := auth.(*githttp.BasicAuth); !ok || b.Username != "flux" {
					t.Errorf("auth = %#v, want basic for flux", auth)
				}
			}},
		{name: "an unknown scheme", url: "ftp://git.example.com/fleet.git", data: map[string][]byte{"username": []byte("flux")}, wantErr: "want http, https or ssh"},
		{name: "ssh key without known_hosts", url: "ssh://git@git.example.com/fleet.git",
			data: map[string][]byte{"identity": clientKey}, wantErr: "needs key known_hosts"},
		{name: "ssh key that does not parse", url: "ssh://git@git.example.com/fleet.git",
			data: map[string][]byte{"identity": []byte("not a key"), "known_hosts": knownHosts}, wantErr: "key identity"},
		{name: "ssh with the user of the URL, host key checked", url: "ssh://deploy@git.example.com/fleet.git",
			data: map[string][]byte{"identity": clientKey, "known_hosts": knownHosts},
			want: func(t *testing.T, auth transport.AuthMethod) {
				k, ok := auth.(*gitssh.PublicKeys)
				if !ok || k.User != "deploy" {
					t.Fatalf("auth = %#v, want SSH public keys for deploy", auth)
				}
				addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
				if err := k.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
					t.Errorf("the known host key is refused: %v", err)
				}
				if err := k.HostKeyCallback("elsewhere.example.com:22", addr, hostKey); err == nil {
					t.Error("a host not in known_hosts is trusted")
				}
			}},
		{name: "scp-like address takes its user", url: "deploy@git.example.com:fleet.git",
			data: map[string][]byte{"identity": clientKey, "known_hosts": knownHosts},
			want: func(t *testing.T, auth transport.AuthMethod) {
				if k, ok := auth.(*gitssh.PublicKeys); !ok || k.User != "deploy" {
					t.Errorf("auth = %#v, want SSH public keys for deploy", auth)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, ca, err := SecretAuth(tt.url, tt.data, tt.insecure)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrCredentials) {
					t.Fatalf("err = %v, want ErrCredentials with %q", err, tt.wantErr)
				}
				for k, v := range tt.data {
					if k != "identity" && k != "known_hosts" && strings.Contains(err.Error(), string(v)) {
						t.Errorf("the error shows the value of %s: %v", k, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(ca) != tt.wantCA {
				t.Errorf("CA = %q, want %q", ca, tt.wantCA)
			}
			tt.want(t, auth)
		})
	}
}

func wantNil(t *testing.T, auth transport.AuthMethod) {
	t.Helper()
	if auth != nil {
		t.Errorf("auth = %#v, want anonymous", auth)
	}
}

// sshFixtures makes a client key (OpenSSH PEM), a host key and a
// known_hosts line for git.example.com.
func sshFixtures(t *testing.T) (clientKey []byte, hostKey ssh.PublicKey, knownHosts []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err = ssh.NewPublicKey(hostPub)
	if err != nil {
		t.Fatal(err)
	}
	line := "git.example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) + "\n"
	return pem.EncodeToMemory(block), hostKey, []byte(line)
}
