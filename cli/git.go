package cli

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// repoUsage is the help of the flags that name a repository, a revision
// and the roots in it. serve follows them and the client commands read
// them once, so each command says so in its own words; bindRepoFlags
// binds them the same way for both.
type repoUsage struct {
	url, branch, tag, semver, commit, path, defaultNamespace string
}

// bindRepoFlags binds --repo-url, the ref flags (--branch, --tag,
// --semver, --commit), --path and --default-namespace.
func bindRepoFlags(fs *pflag.FlagSet, repo *server.GitSource, defaultNamespace *string, u repoUsage) {
	fs.StringVar(&repo.URL, "repo-url", "", u.url)
	fs.StringVar(&repo.Ref.Branch, "branch", "", u.branch)
	fs.StringVar(&repo.Ref.Tag, "tag", "", u.tag)
	fs.StringVar(&repo.Ref.SemVer, "semver", "", u.semver)
	fs.StringVar(&repo.Ref.Commit, "commit", "", u.commit)
	fs.StringArrayVar(&repo.Paths, "path", nil, u.path)
	fs.StringVar(defaultNamespace, "default-namespace", "default", u.defaultNamespace)
}

// bindCredentialFlags binds the --git-* flags: how to reach and trust the
// repository (credentials and CAs), the same for every command.
func bindCredentialFlags(fs *pflag.FlagSet, repo *server.GitSource) {
	creds := &repo.Credentials
	fs.StringVar(&creds.UsernameFile, "git-username-file", "", "File holding the HTTP basic-auth username, e.g. a mounted Secret key.")
	fs.StringVar(&creds.PasswordFile, "git-password-file", "", "File holding the HTTP basic-auth password or access token. Needs --git-username-file.")
	fs.StringVar(&creds.TokenFile, "git-token-file", "", "File holding an HTTP bearer token.")
	fs.StringVar(&creds.SSHKeyFile, "git-ssh-key-file", "", "File holding an SSH private key (PEM or OpenSSH). Needs --git-known-hosts-file and an ssh:// URL.")
	fs.StringVar(&creds.SSHKeyPasswordFile, "git-ssh-key-passphrase-file", "", "File holding the SSH key's passphrase, if it has one.")
	fs.StringVar(&creds.KnownHostsFile, "git-known-hosts-file", "", "known_hosts file with the Git server's host key; host keys not listed are refused.")
	fs.BoolVar(&creds.InsecureHTTP, "git-insecure-http", false, "Allow HTTP credentials over a plain http:// repository URL, where they travel in clear text. Off: such credentials are refused at start-up.")
	fs.StringVar(&repo.CAFile, "git-ca-file", "", "PEM file of CAs trusted for an https:// repository, in addition to the system's.")
}

// validateRef reports a ref set twice, not at all, or malformed.
func validateRef(ref gitsource.Ref) error {
	if err := ref.Validate(); err != nil {
		return fmt.Errorf("--branch, --tag, --semver, --commit: %w", err)
	}
	return nil
}

// validateCredentials reports credential flags that cannot work with
// repoURL. It reads no files.
func validateCredentials(creds gitsource.Credentials, repoURL string) error {
	if err := creds.Validate(repoURL); errors.Is(err, gitsource.ErrInsecureHTTP) {
		return fmt.Errorf("%w; or set --git-insecure-http", err)
	} else if err != nil {
		return err
	}
	return nil
}

// checkRepoURL refuses a repository URL that carries a password, or that
// does not parse (where gitgate could not tell whether it does). The scp
// form user@host:path has no password by construction.
func checkRepoURL(raw string) error {
	if scp := scpURL.FindStringSubmatch(raw); scp != nil {
		if strings.Contains(scp[1], ":") {
			return errors.New("--repo-url must not carry a password; use the credential file flags")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("--repo-url %s is not a URL (scheme://host/path or user@host:path)", gitsource.RedactURL(raw))
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return errors.New("--repo-url must not carry a password; use the credential file flags")
	}
	return nil
}

// scpURL matches git's scp-like syntax, user@host:path, and captures the
// part before the last @.
var scpURL = regexp.MustCompile(`^([^/]*)@([^/:]+):([^/].*)?$`)
