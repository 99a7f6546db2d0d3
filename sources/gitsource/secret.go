package gitsource

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// SecretAuth turns the data of the Secret a Flux GitRepository names in
// spec.secretRef into an auth method and a CA bundle, reading the keys
// source-controller reads for the URL's scheme:
//   - http(s): bearerToken (an HTTP bearer token), else username and
//     password (basic auth; a token as password works);
//   - ssh: identity (a private key; password is then its passphrase) and
//     known_hosts;
//   - any: ca.crt (or the older caFile), CAs trusted for HTTPS.
//
// Keys of the other scheme are ignored, as source-controller ignores them.
// auth is nil when the Secret holds no credential for the scheme. Errors
// name the keys, never their values. HTTP credentials over a plain
// http:// URL are refused unless insecureHTTP, as with --git-insecure-http.
func SecretAuth(repoURL string, data map[string][]byte, insecureHTTP bool) (auth transport.AuthMethod, ca []byte, err error) {
	ca = data["ca.crt"]
	if len(ca) == 0 {
		ca = data["caFile"]
	}
	switch scheme := urlScheme(repoURL); scheme {
	case "ssh":
		if len(data["identity"]) == 0 {
			return nil, ca, nil
		}
		auth, err = secretSSH(repoURL, data)
		return auth, ca, err
	case "http", "https":
		switch {
		case len(data["bearerToken"]) > 0:
			auth = &githttp.TokenAuth{Token: secretString(data, "bearerToken")}
		case len(data["username"]) > 0 || len(data["password"]) > 0:
			auth = &githttp.BasicAuth{Username: secretString(data, "username"), Password: secretString(data, "password")}
		}
		if auth != nil && scheme == "http" && !insecureHTTP {
			return nil, nil, fmt.Errorf("%w: %w", ErrCredentials, ErrInsecureHTTP)
		}
		return auth, ca, nil
	default:
		return nil, nil, fmt.Errorf("%w: repository URL scheme %q: want http, https or ssh", ErrCredentials, scheme)
	}
}

// secretString is a Secret value without the trailing newline that
// `kubectl create secret --from-file` keeps from most editors.
func secretString(data map[string][]byte, key string) string {
	return strings.TrimRight(string(data[key]), "\r\n")
}

// secretSSH builds SSH auth from identity, password and known_hosts. The
// user comes from the URL (ssh://git@host/...), "git" by default.
func secretSSH(repoURL string, data map[string][]byte) (transport.AuthMethod, error) {
	if len(data["known_hosts"]) == 0 {
		return nil, fmt.Errorf("%w: key identity needs key known_hosts: gitgate never trusts a host key it has not been told about", ErrCredentials)
	}
	user := "git"
	if u, err := url.Parse(repoURL); err == nil && u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	} else if at := strings.Index(repoURL, "@"); err != nil && at > 0 && !strings.Contains(repoURL[:at], "/") {
		user = repoURL[:at]
	}
	auth, err := gitssh.NewPublicKeys(user, data["identity"], secretString(data, "password"))
	if err != nil {
		// The parse error describes the format, not the key material.
		return nil, fmt.Errorf("%w: key identity: %w", ErrCredentials, err)
	}
	cb, err := knownHostsCallback(data["known_hosts"])
	if err != nil {
		return nil, fmt.Errorf("%w: key known_hosts: %w", ErrCredentials, err)
	}
	auth.HostKeyCallback = cb
	return auth, nil
}

// knownHostsCallback checks host keys against known_hosts content. The
// parser reads files only, so the content (public, not secret) goes
// through a private temporary file that is removed at once.
func knownHostsCallback(content []byte) (ssh.HostKeyCallback, error) {
	dir, err := os.MkdirTemp("", "gitgate-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return nil, err
	}
	cb, err := gitssh.NewKnownHostsCallback(path)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), path, "known_hosts"))
	}
	return cb, nil
}
