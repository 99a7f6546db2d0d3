package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gitgate/gitgate/sources/gitsource"
)

func repoSecret(name, typ string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: name,
		Labels: map[string]string{"argocd.argoproj.io/secret-type": typ}}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// TestArgoCDCredentials: a --sources-file entry of the URL first (a
// trailing .git or slash aside); then, only with repoSecrets, Argo CD's
// repository Secret of the URL, else the repo-creds Secret of the longest
// prefix; insecure and TLS client credentials refused; anonymous else.
func TestArgoCDCredentials(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithObjects(
		repoSecret("fleet", "repository", map[string]string{"url": "https://git.example.com/org/fleet", "username": "u", "password": "repo"}),
		repoSecret("org", "repo-creds", map[string]string{"url": "https://git.example.com/org", "username": "u", "password": "org"}),
		repoSecret("team", "repo-creds", map[string]string{"url": "https://git.example.com/org/team", "username": "u", "password": "team"}),
		repoSecret("loose", "repository", map[string]string{"url": "https://git.example.com/loose", "password": "x", "insecure": "true"}),
		repoSecret("other", "repository", map[string]string{"url": "https://git.example.com/org/other", "password": "x", "tlsClientCertData": "cert"}),
	).Build()
	a := &argoCredentials{reader: c, namespaces: []string{"argocd"}, secrets: true,
		repos: []GitSource{{URL: "https://git.example.com/org/pinned.git", Credentials: gitsource.Credentials{TokenFile: token}}}}
	for _, tc := range []struct {
		url, password, err string
		anonymous          bool
	}{
		{url: "https://git.example.com/org/pinned/", password: "from-file"},
		{url: "https://git.example.com/org/fleet.git", password: "repo"},
		{url: "https://git.example.com/org/team/app", password: "team"},
		{url: "https://git.example.com/org/else", password: "org"},
		{url: "https://elsewhere.example.com/x", anonymous: true},
		{url: "https://git.example.com/loose", err: "insecure"},
		{url: "https://git.example.com/org/other", err: "tlsClientCertData"},
	} {
		auth, _, err := a.lookup(context.Background(), tc.url)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.anonymous:
			if auth != nil {
				t.Errorf("%s: %T, want anonymous", tc.url, auth)
			}
		default:
			got := ""
			switch v := auth.(type) {
			case *githttp.BasicAuth:
				got = v.Password
			case *githttp.TokenAuth:
				got = v.Token
			}
			if got != tc.password {
				t.Errorf("%s: credential %q, want %q", tc.url, got, tc.password)
			}
		}
	}
	a.secrets = false
	if auth, _, err := a.lookup(context.Background(), "https://git.example.com/org/fleet"); auth != nil || err != nil {
		t.Errorf("without repoSecrets: %T %v, want anonymous", auth, err)
	}
}
