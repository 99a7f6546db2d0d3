package main

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
	"github.com/gitgate/gitgate/provenance/gitsource"
	"github.com/gitgate/gitgate/webhook"
)

// serveOptions are the flags of `gitgate serve`.
type serveOptions struct {
	kubeconfig string

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

	policy policyOptions
	// certs chooses the serving certificate's source.
	certs certOptions
}

func (o *serveOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Without it, the in-cluster config or $KUBECONFIG is used, as kubectl does.")

	fs.StringVar(&o.repoURL, "repo-url", "", "URL of the Git repository to enforce (https://, http://, ssh:// or file://). Required. Credentials over http:// need --git-insecure-http.")
	fs.StringVar(&o.ref.Branch, "branch", "", "Branch to follow. Exactly one of --branch, --tag, --semver or --commit is required.")
	fs.StringVar(&o.ref.Tag, "tag", "", "Tag to follow.")
	fs.StringVar(&o.ref.SemVer, "semver", "", "Semantic version range; the highest matching tag is followed, e.g. \">=1.2.0 <2.0.0\".")
	fs.StringVar(&o.ref.Commit, "commit", "", "Full SHA-1 of a commit to pin.")
	fs.StringArrayVar(&o.paths, "path", nil, "Directory in the repository whose *.yaml, *.yml and *.json files are enforced; repeatable. A directory with a kustomization.yaml (the path itself or one below it) is rendered with kustomize. Default: the whole repository.")
	fs.DurationVar(&o.interval, "interval", 30*time.Second, "How often to poll the repository for a new revision.")
	fs.StringVar(&o.defaultNamespace, "default-namespace", "default", "Namespace of namespaced manifests that set none, as kubectl apply would place them.")

	o.identities.BindFlags(fs)

	fs.StringVar(&o.fields, "fields", string(provenance.FieldsStrict), "Which fields are protected: strict (every field; changes outside Git's declared fields are denied) or declared (only the fields Git declares).")
	fs.StringArrayVar(&o.ignores, "ignore", nil, "Ignore rule group/Kind[:namespace/name]=/json/pointer[,/pointer]; the fields may hold any value. Repeatable. Example: apps/Deployment=/spec/replicas.")
	fs.StringVar(&o.ignoreFile, "ignore-file", "", "YAML file with a list of ignore rules (group, kind, namespace, name, jsonPointers).")

	fs.StringVar(&o.webhookHost, "webhook-host", "", "Address the webhook server binds to. Default: all addresses.")
	fs.IntVar(&o.port, "port", 9443, "Port of the webhook server (HTTPS, path /validate).")
	fs.Int64Var(&o.maxRequestBytes, "max-request-bytes", webhook.DefaultMaxRequestBytes, "Largest AdmissionReview gitgate decodes; a larger one is denied before decoding, which holds many times the body in memory. The default admits an object and an oldObject each at the API server's 3 MiB request limit.")
	fs.DurationVar(&o.decisionTimeout, "decision-timeout", webhook.DefaultDecisionTimeout, "Longest comparison of one request with Git; an object that takes longer is denied (deadline-exceeded). Keep it under the webhook's timeoutSeconds.")
	fs.StringVar(&o.healthAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz. /readyz fails until Git is synced and a certificate is loaded.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof profiles, for measuring gitgate under load. Default: off; never expose it beyond the pod.")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "Soft limit of gitgate's Go heap (e.g. 300Mi; 0 for none): the collector runs more often rather than let memory pass it. Default: $GOMEMLIMIT if set, else nine tenths of the container's memory limit (cgroup v2), else none.")
	o.git.BindFlags(fs)
	o.policy.BindFlags(fs)
	o.certs.BindFlags(fs)
}

// Validate reports every invalid setting at once and loads the ignore file.
func (o *serveOptions) Validate() error {
	var errs []error
	if o.repoURL == "" {
		errs = append(errs, errors.New("--repo-url is required"))
	} else if err := checkRepoURL(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	if err := o.git.Validate(o.repoURL); err != nil {
		errs = append(errs, err)
	}
	if err := o.ref.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--branch, --tag, --semver, --commit: %w", err))
	}
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
	if o.maxRequestBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("--max-request-bytes must be at least 65536, got %d", o.maxRequestBytes))
	}
	if _, _, err := memoryLimit(o.memoryLimit, os.ReadFile); err != nil {
		errs = append(errs, err)
	}
	if o.decisionTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--decision-timeout must be positive, got %s", o.decisionTimeout))
	}
	o.ignoreRules = nil
	if o.ignoreFile != "" {
		rules, err := readIgnoreFile(o.ignoreFile)
		if err != nil {
			errs = append(errs, err)
		}
		o.ignoreRules = append(o.ignoreRules, rules...)
	}
	for _, v := range o.ignores {
		r, err := provenance.ParseIgnoreFlag(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ignore: %w", err))
			continue
		}
		o.ignoreRules = append(o.ignoreRules, r)
	}
	if _, err := provenance.CompileIgnores(o.ignoreRules); err != nil {
		errs = append(errs, err)
	}
	if err := o.certs.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.identities.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
