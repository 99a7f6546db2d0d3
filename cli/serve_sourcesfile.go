package cli

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// sourceSpec is one named source of --sources-file: the fields of a Flux
// GitRepository, with credentials and keys as files (mounted Secrets), as
// the credential flags take them.
type sourceSpec struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Ref  struct {
		Branch string `json:"branch,omitempty"`
		Tag    string `json:"tag,omitempty"`
		SemVer string `json:"semver,omitempty"`
		Commit string `json:"commit,omitempty"`
	} `json:"ref"`
	// Interval is a duration ("1m"); empty uses --interval.
	Interval string `json:"interval,omitempty"`
	// Paths are the roots; empty is the whole repository as one root.
	Paths       []string        `json:"paths,omitempty"`
	Credentials specCredentials `json:"credentials,omitempty"`
	// CAFile adds trusted CAs for an https:// URL.
	CAFile string      `json:"caFile,omitempty"`
	Verify *specVerify `json:"verify,omitempty"`
}

type specCredentials struct {
	UsernameFile         string `json:"usernameFile,omitempty"`
	PasswordFile         string `json:"passwordFile,omitempty"`
	TokenFile            string `json:"tokenFile,omitempty"`
	SSHKeyFile           string `json:"sshKeyFile,omitempty"`
	SSHKeyPassphraseFile string `json:"sshKeyPassphraseFile,omitempty"`
	KnownHostsFile       string `json:"knownHostsFile,omitempty"`
	InsecureHTTP         bool   `json:"insecureHTTP,omitempty"`
}

// specVerify: the head of the source must be signed by one of these keys.
type specVerify struct {
	PGPKeyring        string `json:"pgpKeyring,omitempty"`
	SSHAllowedSigners string `json:"sshAllowedSigners,omitempty"`
}

// sourceName: a DNS label, as Kubernetes names a GitRepository.
var sourceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// readSourcesFile parses and validates --sources-file; base holds
// --interval and --cache-dir. Every problem is reported at once, each
// naming its source; nothing is fetched.
func readSourcesFile(path string, base server.GitSource) ([]server.GitSource, error) {
	return readSources(path, base, true)
}

// readSources is readSourcesFile; without withRef an entry may leave its
// ref out (--source argocd reads only URLs, credentials and CAs: each
// Application names its own revision).
func readSources(path string, base server.GitSource, withRef bool) ([]server.GitSource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sources-file: %w", err)
	}
	var specs []sourceSpec
	if err := yaml.UnmarshalStrict(data, &specs); err != nil {
		return nil, fmt.Errorf("--sources-file %s: %w", path, err)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("--sources-file %s: no source", path)
	}
	var errs []error
	seen := map[string]bool{}
	out := make([]server.GitSource, 0, len(specs))
	for i, sp := range specs {
		if !withRef && sp.Ref.Branch+sp.Ref.Tag+sp.Ref.SemVer+sp.Ref.Commit == "" {
			sp.Ref.Branch = "-" // no ref needed, but one passes validation
		}
		src, err := sp.toSource(base)
		if err == nil && seen[sp.Name] {
			err = errors.New("name used twice")
		}
		seen[sp.Name] = true
		if err != nil {
			errs = append(errs, fmt.Errorf("--sources-file %s: source %d (%q): %w", path, i+1, sp.Name, err))
			continue
		}
		out = append(out, src)
	}
	return out, errors.Join(errs...)
}

// toSource validates one spec: the checks --repo-url and the credential
// flags get, per source.
func (sp sourceSpec) toSource(base server.GitSource) (server.GitSource, error) {
	var errs []error
	if !sourceName.MatchString(sp.Name) {
		errs = append(errs, fmt.Errorf("name %q must be a DNS label (lower-case letters, digits, '-')", sp.Name))
	}
	if sp.URL == "" {
		errs = append(errs, errors.New("url is required"))
	} else if err := checkRepoURL(sp.URL); err != nil {
		errs = append(errs, err)
	}
	ref := gitsource.Ref{Branch: sp.Ref.Branch, Tag: sp.Ref.Tag, SemVer: sp.Ref.SemVer, Commit: sp.Ref.Commit}
	if err := ref.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("ref: %w", err))
	}
	interval := base.Interval
	if sp.Interval != "" {
		d, err := time.ParseDuration(sp.Interval)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("interval %q must be a positive duration", sp.Interval))
		}
		interval = d
	}
	c := sp.Credentials
	src := server.GitSource{Name: sp.Name, URL: sp.URL, Ref: ref, Interval: interval, Paths: sp.Paths, CAFile: sp.CAFile, CacheDir: base.CacheDir,
		Credentials: gitsource.Credentials{UsernameFile: c.UsernameFile, PasswordFile: c.PasswordFile, TokenFile: c.TokenFile, SSHKeyFile: c.SSHKeyFile,
			SSHKeyPasswordFile: c.SSHKeyPassphraseFile, KnownHostsFile: c.KnownHostsFile, InsecureHTTP: c.InsecureHTTP}}
	if sp.Verify != nil {
		src.VerifyKeyring, src.VerifySSH = sp.Verify.PGPKeyring, sp.Verify.SSHAllowedSigners
		if src.VerifyKeyring == "" && src.VerifySSH == "" {
			errs = append(errs, errors.New("verify needs pgpKeyring or sshAllowedSigners"))
		}
	}
	if err := src.Credentials.Validate(sp.URL); errors.Is(err, gitsource.ErrInsecureHTTP) {
		errs = append(errs, fmt.Errorf("%w; or set credentials.insecureHTTP", err))
	} else if err != nil {
		errs = append(errs, err)
	}
	if base.CacheDir != "" && sp.Name != "" {
		src.CacheDir = base.CacheDir + "/" + sp.Name
	}
	return src, errors.Join(errs...)
}
