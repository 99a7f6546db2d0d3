package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/webhook"
)

// serveOptions are the flags of `gitgate serve`.
type serveOptions struct {
	kubeconfig string

	// source is the driver (--source); sourcesFile lists named Git sources
	// instead of --repo-url. Validate fills sources from one or the other.
	source      string
	sourcesFile string
	sources     []gitSource
	// flux holds the flags of --source flux.
	flux fluxOptions

	repoURL          string
	ref              gitsource.Ref
	paths            []string
	interval         time.Duration
	defaultNamespace string
	// git holds credentials, cache, commit verification and the receiver.
	git gitOptions

	// identities: exempt users, agents, controllers; skipped resources.
	identities identityOptions

	fields      string
	ignores     []string
	ignoreFile  string
	ignoreRules []provenance.IgnoreRule

	webhookHost string
	port        int
	// maxRequestBytes and decisionTimeout bound what one request may cost.
	maxRequestBytes int64
	decisionTimeout time.Duration
	healthAddr      string
	metricsAddr     string
	pprofAddr       string
	memoryLimit     string

	// denialHint ends every denial; repoBrowseURL links files in them.
	denialHint    string
	repoBrowseURL string

	policy policyOptions
	// driftScan is the background comparison of the cluster with Git.
	driftScan driftScanOptions
	// certs chooses the serving certificate's source.
	certs certOptions
}

func (o *serveOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Without it, the in-cluster config or $KUBECONFIG is used, as kubectl does.")

	fs.StringVar(&o.source, "source", sourceRepo, "Where the declared state comes from: repo (Git repositories: --repo-url or --sources-file, each --path a root) or flux (every Flux Kustomization a root, fetched from its GitRepository by gitgate itself; see --flux-namespace).")
	fs.StringVar(&o.sourcesFile, "sources-file", "", "YAML list of named Git sources (name, url, ref, interval, paths, credentials, caFile, verify), like Flux GitRepositories; instead of --repo-url and its credential flags.")
	fs.StringVar(&o.repoURL, "repo-url", "", "URL of the Git repository to enforce (https://, http://, ssh:// or file://). Required unless --sources-file is set. Credentials over http:// need --git-insecure-http.")
	fs.StringVar(&o.ref.Branch, "branch", "", "Branch to follow. Exactly one of --branch, --tag, --semver or --commit is required.")
	fs.StringVar(&o.ref.Tag, "tag", "", "Tag to follow.")
	fs.StringVar(&o.ref.SemVer, "semver", "", "Semantic version range; the highest matching tag is followed, e.g. \">=1.2.0 <2.0.0\".")
	fs.StringVar(&o.ref.Commit, "commit", "", "Full SHA-1 of a commit to pin.")
	fs.StringArrayVar(&o.paths, "path", nil, "Directory in the repository whose *.yaml, *.yml and *.json files are enforced; repeatable. A directory with a kustomization.yaml (the path itself or one below it) is rendered with kustomize. Default: the whole repository.")
	fs.DurationVar(&o.interval, "interval", 30*time.Second, "How often to poll the repository for a new revision.")
	fs.StringVar(&o.defaultNamespace, "default-namespace", "default", "Namespace of namespaced manifests that set none, as kubectl apply would place them.")

	o.flux.BindFlags(fs)
	o.identities.BindFlags(fs)

	fs.StringVar(&o.fields, "fields", string(provenance.FieldsStrict), "Which fields are protected: strict (every field; changes outside Git's declared fields are denied) or declared (only the fields Git declares).")
	fs.StringArrayVar(&o.ignores, "ignore", nil, "Ignore rule group/Kind[:namespace/name]=/json/pointer[,/pointer]; the fields may hold any value. Repeatable. Example: apps/Deployment=/spec/replicas.")
	fs.StringVar(&o.ignoreFile, "ignore-file", "", "YAML file with a list of ignore rules (group, kind, namespace, name, jsonPointers).")

	fs.StringVar(&o.webhookHost, "webhook-host", "", "Address the webhook server binds to. Default: all addresses.")
	fs.IntVar(&o.port, "port", 9443, "Port of the webhook server (HTTPS, path /validate).")
	fs.StringVar(&o.denialHint, "denial-hint", "", "Text that ends every denial: your team's way in, e.g. \"Emergencies: page #sre-oncall for a break-glass grant.\" At most 200 characters.")
	fs.StringVar(&o.repoBrowseURL, "repo-browse-url", "", "Template of a link to a file in your Git host's web view, e.g. https://git.example.com/org/fleet/blob/{revision}/{file}; denials link the file at the enforced commit, and the advice links it on the followed branch, instead of naming the clone URL.")
	fs.Int64Var(&o.maxRequestBytes, "max-request-bytes", webhook.DefaultMaxRequestBytes, "Largest AdmissionReview gitgate decodes; a larger one is denied before decoding, which holds many times the body in memory. The default admits an object and an oldObject each at the API server's 3 MiB request limit.")
	fs.DurationVar(&o.decisionTimeout, "decision-timeout", webhook.DefaultDecisionTimeout, "Longest comparison of one request with Git; an object that takes longer is denied (deadline-exceeded). Keep it under the webhook's timeoutSeconds.")
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz. /readyz fails until Git is synced and a certificate is loaded.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof profiles, for measuring gitgate under load. Default: off; never expose it beyond the pod.")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "Soft limit of gitgate's Go heap (e.g. 300Mi; 0 for none): the collector runs more often rather than let memory pass it. Default: $GOMEMLIMIT if set, else nine tenths of the container's memory limit (cgroup v2), else none.")
	o.git.BindFlags(fs)
	o.policy.BindFlags(fs)
	o.driftScan.BindFlags(fs)
	o.certs.BindFlags(fs)
}

// Validate reports every invalid setting at once and loads the ignore file.
func (o *serveOptions) Validate() error {
	errs := o.validateSources()
	if o.interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval must be positive, got %s", o.interval))
	}
	switch provenance.FieldMode(o.fields) {
	case provenance.FieldsStrict, provenance.FieldsDeclared:
	default:
		errs = append(errs, fmt.Errorf("--fields must be strict or declared, got %q", o.fields))
	}
	if o.port <= 0 || o.port > 65535 {
		errs = append(errs, fmt.Errorf("--port must be 1-65535, got %d", o.port))
	}
	if len(o.denialHint) > maxDenialHint {
		errs = append(errs, fmt.Errorf("--denial-hint is %d characters; at most %d fit in a denial", len(o.denialHint), maxDenialHint))
	}
	if err := checkBrowseURL(o.repoBrowseURL); err != nil {
		errs = append(errs, err)
	}
	if o.maxRequestBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("--max-request-bytes must be at least 65536, got %d", o.maxRequestBytes))
	}
	if _, _, err := memoryLimit(o.memoryLimit, os.ReadFile); err != nil {
		errs = append(errs, err)
	}
	if o.decisionTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--decision-timeout must be positive, got %s", o.decisionTimeout))
	}
	var err error
	o.ignoreRules, err = ignoreRules(o.ignoreFile, o.ignores)
	errs = append(errs, err)
	// errors.Join drops the nil ones.
	errs = append(errs, o.certs.Validate(), o.identities.Validate(), o.policy.Validate(), o.driftScan.Validate())
	return errors.Join(errs...)
}

// validateSources checks --source, and --repo-url with its ref and
// credential flags or --sources-file, and fills o.sources.
func (o *serveOptions) validateSources() []error {
	switch o.source {
	case sourceRepo:
	case sourceFlux:
		return o.validateFlux()
	default:
		return []error{fmt.Errorf("--source must be %s or %s, got %q", sourceRepo, sourceFlux, o.source)}
	}
	var errs []error
	if err := o.git.validateReceiver(); err != nil {
		errs = append(errs, err)
	}
	if o.sourcesFile != "" {
		if o.repoURL != "" || len(o.paths) > 0 || o.ref != (gitsource.Ref{}) || o.git.perSource() {
			return append(errs, errors.New("--sources-file excludes --repo-url, --path, the ref flags and the credential, CA and verify flags: set them per source in the file"))
		}
		sources, err := readSourcesFile(o.sourcesFile, o.interval, o.git)
		o.sources = sources
		return append(errs, err)
	}
	if o.repoURL == "" {
		errs = append(errs, errors.New("--repo-url or --sources-file is required"))
	} else if err := checkRepoURL(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	if err := o.git.Validate(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	if err := o.ref.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--branch, --tag, --semver, --commit: %w", err))
	}
	o.sources = []gitSource{{url: o.repoURL, ref: o.ref, interval: o.interval, paths: o.paths, git: o.git}}
	return errs
}

func readIgnoreFile(path string) ([]provenance.IgnoreRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ignore-file: %w", err)
	}
	var rules []provenance.IgnoreRule
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		return nil, fmt.Errorf("--ignore-file %s: %w", path, err)
	}
	return rules, nil
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

// maxDenialHint keeps a denial with its hint under 1 KB.
const maxDenialHint = 200

// checkBrowseURL accepts "" or an http(s) URL template naming {file}.
func checkBrowseURL(tmpl string) error {
	if tmpl == "" {
		return nil
	}
	u, err := url.Parse(strings.NewReplacer("{revision}", "r", "{file}", "f").Replace(tmpl))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--repo-browse-url %q: want an http(s) URL template", tmpl)
	}
	if !strings.Contains(tmpl, "{file}") {
		return fmt.Errorf("--repo-browse-url %q: the template must hold {file}", tmpl)
	}
	return nil
}
