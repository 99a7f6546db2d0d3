package cli

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sources/fluxsync"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/peers"
)

// serveRepoUsage is the help of serve's repository flags: the repository
// it follows.
var serveRepoUsage = repoUsage{
	url:              "URL of the Git repository to enforce (https://, http://, ssh:// or file://). Required unless --sources-file is set. Credentials over http:// need --git-insecure-http.",
	branch:           "Branch to follow. Exactly one of --branch, --tag, --semver or --commit is required.",
	tag:              "Tag to follow.",
	semver:           "Semantic version range; the highest matching tag is followed, e.g. \">=1.2.0 <2.0.0\".",
	commit:           "Full SHA-1 of a commit to pin.",
	path:             "Directory in the repository whose *.yaml, *.yml and *.json files are enforced; repeatable. A directory with a kustomization.yaml (the path itself or one below it) is rendered with kustomize. Default: the whole repository.",
	defaultNamespace: "Namespace of namespaced manifests that set none, as kubectl apply would place them.",
}

// serveSourceOptions are serve's flags of where the declared state comes
// from: the driver, the Git sources with their credentials, cache and
// verification, the push receiver, the replicas' sync signal, and the
// Flux driver's flags. Those that need no parsing bind straight into the
// server's Config.
type serveSourceOptions struct {
	// sourcesFile lists named Git sources instead of --repo-url; repo is
	// --repo-url with its ref, paths, interval and Git flags, and with
	// --sources-file the defaults every source starts from.
	sourcesFile string
	repo        server.GitSource
	// fs tells which flags were set, for the flags of drivers not named.
	fs *pflag.FlagSet
}

func (o *serveSourceOptions) BindFlags(fs *pflag.FlagSet, cfg *server.Config) {
	o.fs = fs
	fs.StringSliceVar(&cfg.Source, "source", []string{server.SourceRepo}, "Where the declared state comes from: repo (Git repositories: --repo-url or --sources-file, each --path a root), flux (every Flux Kustomization and HelmRelease a root, fetched from its source by gitgate itself; see --flux-namespace) or argocd (every Argo CD Application that syncs to this cluster a root, fetched and rendered by gitgate itself; see --argocd-namespace). Comma-separated or repeatable, to enforce several at once, e.g. flux,argocd on a cluster that runs both agents.")
	fs.StringVar(&o.sourcesFile, "sources-file", "", "YAML list of named Git sources (name, url, ref, interval, paths, credentials, caFile, verify), like Flux GitRepositories; instead of --repo-url and its credential flags.")
	bindRepoFlags(fs, &o.repo, &cfg.DefaultNamespace, serveRepoUsage)
	fs.DurationVar(&o.repo.Interval, "interval", 30*time.Second, "How often to poll the repository for a new revision.")
	bindCredentialFlags(fs, &o.repo)
	fs.StringVar(&o.repo.CacheDir, "cache-dir", "", "Directory keeping fetched Git objects, so a restart does not fetch again. Default: objects are kept in memory.")
	fs.StringVar(&o.repo.VerifyKeyring, "verify-commits", "", "ASCII-armored OpenPGP public keyring. When set, a head commit not signed by one of its keys is refused and the last verified revision stays enforced.")
	fs.StringVar(&o.repo.VerifySSH, "verify-commits-ssh", "", "SSH allowed_signers file (git's gpg.ssh.allowedSignersFile format). Like --verify-commits, for commits signed with SSH keys; both may be set.")
	fs.StringVar(&cfg.Receiver.Addr, "receiver-bind-address", "", "Address of the push-notification endpoint (HTTP, path /hook) for GitHub, GitLab and generic HMAC webhooks. Default: off.")
	fs.StringVar(&cfg.Receiver.SecretFile, "receiver-secret-file", "", "File holding the receiver's shared secret (at least 16 bytes). Required with --receiver-bind-address.")
	fs.StringVar(&cfg.SyncSignal.ConfigMap, "sync-configmap", peers.DefaultConfigMap, "ConfigMap through which replicas tell each other about a newly loaded revision, so all load a pushed revision within seconds; empty turns it off (replicas then converge at their next poll).")
	fs.StringVar(&cfg.SyncSignal.Namespace, "sync-namespace", defaultNamespace(), "Namespace of --sync-configmap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
	fs.StringArrayVar(&cfg.Flux.Namespaces, "flux-namespace", nil, "With --source flux: a namespace whose GitRepositories, Kustomizations, HelmReleases and Helm sources are enforced; repeatable. Default: every namespace. A Kustomization's or HelmRelease's source must be in a watched namespace.")
	bindArgoCDFlags(fs, &cfg.ArgoCD)
	fs.DurationVar(&cfg.Flux.MinInterval, "flux-min-interval", fluxsync.DefaultMinInterval, "With --source flux: the shortest time between two polls of one GitRepository, whatever its spec.interval. A change of the GitRepository (source-controller recording a new revision) polls at once.")
}

// Validate checks --source, then the flags of every driver it names:
// --repo-url with its ref and credential flags or --sources-file, which
// fill cfg.Sources; the Flux flags; the Argo CD flags. A driver's own
// flags without the driver are an error, not silently ignored.
func (o *serveSourceOptions) Validate(cfg *server.Config) []error {
	if err := validateSourceKinds(cfg.Source); err != nil {
		return []error{err}
	}
	errs := o.unnamedDriverFlags(cfg)
	if cfg.Uses(server.SourceRepo) {
		errs = append(errs, o.validateRepo(cfg)...)
	}
	if cfg.Uses(server.SourceFlux) {
		errs = append(errs, o.validateFlux(cfg)...)
	}
	if cfg.Uses(server.SourceArgoCD) {
		errs = append(errs, o.validateArgoCD(cfg)...)
	}
	return errs
}

// validateSourceKinds checks that --source names at least one driver,
// each a known one, and none twice.
func validateSourceKinds(kinds []string) error {
	if len(kinds) == 0 {
		return fmt.Errorf("--source must name at least one of %s", strings.Join(server.SourceKinds, ", "))
	}
	for i, k := range kinds {
		if !slices.Contains(server.SourceKinds, k) {
			return fmt.Errorf("--source must be %s, %s or %s, got %q", server.SourceRepo, server.SourceFlux, server.SourceArgoCD, k)
		}
		if slices.Contains(kinds[:i], k) {
			return fmt.Errorf("--source names %s twice", k)
		}
	}
	return nil
}

// driverFlags are the flags only a driver reads, by driver; --source repo's
// own are checked by the drivers that exclude them.
var driverFlags = map[string][]string{
	server.SourceFlux:   {"flux-namespace", "flux-min-interval"},
	server.SourceArgoCD: {"argocd-namespace", "argocd-cluster-name", "argocd-min-interval", "argocd-repo-secrets"},
}

// unnamedDriverFlags reports a driver's flags set without --source naming
// the driver: someone meant it to run.
func (o *serveSourceOptions) unnamedDriverFlags(cfg *server.Config) []error {
	var errs []error
	for _, kind := range server.SourceKinds {
		for _, name := range driverFlags[kind] {
			if !cfg.Uses(kind) && o.fs != nil && o.fs.Changed(name) {
				errs = append(errs, fmt.Errorf("--%s needs --source %s", name, kind))
			}
		}
	}
	return errs
}

// validateRepo checks --repo-url with its ref and credential flags or
// --sources-file, and fills cfg.Sources.
func (o *serveSourceOptions) validateRepo(cfg *server.Config) []error {
	var errs []error
	if err := validateReceiver(cfg.Receiver); err != nil {
		errs = append(errs, err)
	}
	if o.sourcesFile != "" {
		if o.repo.URL != "" || len(o.repo.Paths) > 0 || o.repo.Ref != (gitsource.Ref{}) || perSource(o.repo, true) {
			return append(errs, errors.New("--sources-file excludes --repo-url, --path, the ref flags and the credential, CA and verify flags: set them per source in the file"))
		}
		sources, err := readSourcesFile(o.sourcesFile, o.repo)
		cfg.Sources = sources
		return append(errs, err)
	}
	if o.repo.URL == "" {
		errs = append(errs, errors.New("--repo-url or --sources-file is required"))
	} else if err := checkRepoURL(o.repo.URL); err != nil {
		errs = append(errs, err)
	}
	if err := validateCredentials(o.repo.Credentials, o.repo.URL); err != nil {
		errs = append(errs, err)
	}
	if err := validateRef(o.repo.Ref); err != nil {
		errs = append(errs, err)
	}
	cfg.Sources = []server.GitSource{o.repo}
	return errs
}

// validateFlux checks the Flux flags, and, unless --source names repo too
// (whose flags they are), that no flag of --source repo is set: the
// GitRepositories say where, which ref and with which credentials. The
// cache and --git-insecure-http apply to all of them.
func (o *serveSourceOptions) validateFlux(cfg *server.Config) []error {
	var errs []error
	repo := cfg.Uses(server.SourceRepo)
	// --sources-file is also --source argocd's credentials by URL.
	sourcesFile := o.sourcesFile != "" && !cfg.Uses(server.SourceArgoCD)
	if !repo && (o.repo.URL != "" || sourcesFile || len(o.repo.Paths) > 0 || o.repo.Ref != (gitsource.Ref{}) || perSource(o.repo, false)) {
		errs = append(errs, errors.New("--source flux excludes --repo-url, --sources-file, --path, the ref flags and the credential, CA and verify flags: each GitRepository names its own"))
	}
	if !repo && cfg.Receiver.Addr != "" {
		errs = append(errs, errors.New("--source flux excludes --receiver-bind-address: a change of a GitRepository (Flux's own receiver) already triggers a poll"))
	}
	for _, ns := range cfg.Flux.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--flux-namespace %q: %s", ns, msgs[0]))
		}
	}
	if cfg.Flux.MinInterval <= 0 {
		errs = append(errs, fmt.Errorf("--flux-min-interval must be positive, got %s", cfg.Flux.MinInterval))
	}
	cfg.Flux.CacheDir, cfg.Flux.InsecureHTTP = o.repo.CacheDir, o.repo.Credentials.InsecureHTTP
	return errs
}

// perSource reports whether a flag that --sources-file sets per source is
// set; withInsecureHTTP counts --git-insecure-http among them, which
// --source flux applies to the HTTP credentials of every GitRepository's
// secretRef.
func perSource(repo server.GitSource, withInsecureHTTP bool) bool {
	creds := repo.Credentials
	if !withInsecureHTTP {
		creds.InsecureHTTP = false
	}
	return creds != (gitsource.Credentials{}) || repo.CAFile != "" || repo.VerifyKeyring != "" || repo.VerifySSH != ""
}

// validateReceiver reports receiver flags that cannot work.
func validateReceiver(r server.ReceiverConfig) error {
	var errs []error
	if r.Addr != "" {
		if r.SecretFile == "" {
			errs = append(errs, errors.New("--receiver-bind-address needs --receiver-secret-file: the receiver never runs unauthenticated"))
		}
		if _, _, err := net.SplitHostPort(r.Addr); err != nil {
			errs = append(errs, fmt.Errorf("--receiver-bind-address: %w", err))
		}
	} else if r.SecretFile != "" {
		errs = append(errs, errors.New("--receiver-secret-file is set but --receiver-bind-address is not"))
	}
	return errors.Join(errs...)
}
