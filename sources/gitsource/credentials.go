package gitsource

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Credentials name the files that hold Git credentials, e.g. the keys of a
// mounted Secret. Only the file names are ever printed; the contents never.
type Credentials struct {
	// UsernameFile and PasswordFile give HTTP basic auth. A token used as a
	// password (GitHub, GitLab) works the same way.
	UsernameFile, PasswordFile string
	// TokenFile gives an HTTP bearer token.
	TokenFile string
	// SSHKeyFile is a PEM or OpenSSH private key; SSHKeyPasswordFile its
	// passphrase, if any. KnownHostsFile is required with it: gitgate never
	// trusts a host key it has not been told about.
	SSHKeyFile, SSHKeyPasswordFile, KnownHostsFile string
	// SSHUser is the SSH login; "git" when empty.
	SSHUser string
	// InsecureHTTP allows HTTP credentials over plain http://, where they
	// travel in clear text. Off by default, as Flux refuses it too.
	InsecureHTTP bool
}

// ErrCredentials is a credential setting that cannot work. It is reported at
// start-up rather than on the first fetch, so a typo does not look like an
// outage of the Git server.
var ErrCredentials = errors.New("invalid Git credentials")

// ErrInsecureHTTP: credentials sent over plain http:// can be read by
// anyone on the path to the Git server. They are refused unless the
// operator says otherwise (Credentials.InsecureHTTP).
var ErrInsecureHTTP = errors.New("credentials over plain http:// travel in clear text; use https://")

// Validate reports combinations of credential flags that cannot work. It
// does not read the files.
func (c Credentials) Validate(repoURL string) error {
	http := c.UsernameFile != "" || c.PasswordFile != "" || c.TokenFile != ""
	ssh := c.SSHKeyFile != "" || c.SSHKeyPasswordFile != "" || c.KnownHostsFile != ""
	var errs []error
	if http && ssh {
		errs = append(errs, errors.New("HTTP credentials and an SSH key cannot both be set"))
	}
	if (c.UsernameFile != "" || c.PasswordFile != "") && c.TokenFile != "" {
		errs = append(errs, errors.New("basic auth and a bearer token cannot both be set"))
	}
	if c.PasswordFile != "" && c.UsernameFile == "" {
		errs = append(errs, errors.New("a password file needs a username file"))
	}
	if ssh && (c.SSHKeyFile == "" || c.KnownHostsFile == "") {
		errs = append(errs, errors.New("SSH needs both a private key file and a known_hosts file"))
	}
	scheme := urlScheme(repoURL)
	if ssh && scheme != "ssh" {
		errs = append(errs, fmt.Errorf("an SSH key needs an ssh:// or user@host: repository URL, got scheme %q", scheme))
	}
	if http && scheme != "http" && scheme != "https" {
		errs = append(errs, fmt.Errorf("HTTP credentials need an http:// or https:// repository URL, got scheme %q", scheme))
	}
	if http && scheme == "http" && !c.InsecureHTTP {
		errs = append(errs, ErrInsecureHTTP)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrCredentials, errors.Join(errs...))
	}
	return nil
}

// urlScheme returns "ssh" for scp-like addresses (git@host:repo).
func urlScheme(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		return strings.ToLower(u.Scheme)
	}
	if at, colon := strings.Index(raw, "@"), strings.Index(raw, ":"); at > 0 && colon > at {
		return "ssh"
	}
	return ""
}

// Load reads the credential files and returns the go-git auth method; nil
// (anonymous) when no file is named. Errors name files, never contents.
func (c Credentials) Load() (transport.AuthMethod, error) {
	switch {
	case c.TokenFile != "":
		tok, err := readSecretFile("token", c.TokenFile)
		if err != nil {
			return nil, err
		}
		return &githttp.TokenAuth{Token: tok}, nil
	case c.UsernameFile != "":
		user, err := readSecretFile("username", c.UsernameFile)
		if err != nil {
			return nil, err
		}
		var pass string
		if c.PasswordFile != "" {
			if pass, err = readSecretFile("password", c.PasswordFile); err != nil {
				return nil, err
			}
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case c.SSHKeyFile != "":
		return c.loadSSH()
	}
	return nil, nil
}

func (c Credentials) loadSSH() (transport.AuthMethod, error) {
	key, err := os.ReadFile(c.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: read SSH key: %w", ErrCredentials, err)
	}
	var pass string
	if c.SSHKeyPasswordFile != "" {
		if pass, err = readSecretFile("SSH key passphrase", c.SSHKeyPasswordFile); err != nil {
			return nil, err
		}
	}
	user := c.SSHUser
	if user == "" {
		user = "git"
	}
	auth, err := gitssh.NewPublicKeys(user, key, pass)
	if err != nil {
		// The parse error describes the format, not the key material.
		return nil, fmt.Errorf("%w: SSH key %s: %w", ErrCredentials, c.SSHKeyFile, err)
	}
	cb, err := gitssh.NewKnownHostsCallback(c.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("%w: known_hosts %s: %w", ErrCredentials, c.KnownHostsFile, err)
	}
	auth.HostKeyCallback = cb
	return auth, nil
}

// readSecretFile reads one credential; a trailing newline, as `echo` and
// most editors write, is not part of it.
func readSecretFile(what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: read %s file: %w", ErrCredentials, what, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%w: %s file %s is empty", ErrCredentials, what, path)
	}
	return s, nil
}

// secretsOf lists the strings of an auth method that must never be printed.
func secretsOf(auth transport.AuthMethod) []string {
	switch a := auth.(type) {
	case *githttp.BasicAuth:
		return []string{a.Password}
	case *githttp.TokenAuth:
		return []string{a.Token}
	}
	return nil
}

// RedactURL removes user information from a repository URL, so that it can
// be logged and shown in denials. A URL that does not parse, or the scp
// form user@host:path, loses everything before its last @ in the
// authority, so a password never survives a typo.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		u.User = nil
		return strings.TrimSuffix(u.String(), "/")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	} else {
		scheme += "://"
	}
	// Without a parse, the authority's end is unknown (a password may hold
	// a slash): drop everything up to the last @.
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	return scheme + rest
}

// redact removes passwords, tokens and URL credentials from an error
// message. go-git puts URLs into some errors, and a URL can carry
// credentials.
func redact(err error, auth transport.AuthMethod) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	redacted := msg
	for _, secret := range secretsOf(auth) {
		// Short secrets would redact ordinary words; they are not worth
		// the damage (and 1-3 characters are no secret anyway).
		if len(secret) >= 4 {
			redacted = strings.ReplaceAll(redacted, secret, "<redacted>")
		}
	}
	redacted = urlUserinfo.ReplaceAllString(redacted, "$1<redacted>@")
	if redacted == msg {
		return err
	}
	out := &redactedError{msg: redacted}
	for _, s := range transportSentinels {
		if errors.Is(err, s) {
			out.sentinels = append(out.sentinels, s)
		}
	}
	return out
}

// transportSentinels are the errors callers classify by; a redacted error
// still matches them with errors.Is.
var transportSentinels = []error{
	transport.ErrAuthenticationRequired, transport.ErrAuthorizationFailed,
	transport.ErrRepositoryNotFound, transport.ErrEmptyRemoteRepository,
}

// redactedError prints the redacted message. It does not unwrap to the
// original error, whose message holds the secret, only to the transport
// sentinels it matched.
type redactedError struct {
	msg       string
	sentinels []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.sentinels }

// urlUserinfo matches the user:password@ part of a URL.
var urlUserinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)
