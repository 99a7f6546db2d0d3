package server

import (
	"crypto/x509"
	"slices"
	"time"

	"github.com/gitgate/gitgate/certs"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/webhook"
)

// Source drivers (Config.Source). Each feeds the one provenance.Composer
// with the last good render of its roots, and their root names never
// meet (a repository path, Kustomization ns/name, HelmRelease ns/name,
// Application ns/name), so any set of them runs side by side; a new
// driver adds a value here and a builder in sources.go's drivers, and
// nothing else changes.
const (
	SourceRepo   = "repo"
	SourceFlux   = "flux"
	SourceArgoCD = "argocd"
)

// SourceKinds are the drivers, in the order they start.
var SourceKinds = []string{SourceRepo, SourceFlux, SourceArgoCD}

// Uses reports whether Source names the driver kind.
func (c Config) Uses(kind string) bool { return slices.Contains(c.Source, kind) }

// Config is everything Run needs, as plain values. Package cli fills it
// from the flags of `gitgate serve` and validates it; Run trusts it.
type Config struct {
	// Version is gitgate's, for the start-up log line.
	Version string
	// Kubeconfig is the path of a kubeconfig; "" is $KUBECONFIG or the
	// in-cluster config, as kubectl finds them.
	Kubeconfig string

	// Source are the drivers, each named once: SourceRepo (Sources),
	// SourceFlux (Flux), SourceArgoCD (ArgoCD), or several of them.
	Source  []string
	Sources []GitSource
	Flux    FluxConfig
	ArgoCD  ArgoCDConfig
	// DefaultNamespace places namespaced manifests that set none, as
	// kubectl apply would.
	DefaultNamespace string
	Receiver         ReceiverConfig
	SyncSignal       SyncSignalConfig

	// Identities and Skip say whom gitgate judges and what it leaves
	// alone; TokenAudiences are audiences the API server does not accept.
	Identities     webhook.Identities
	Skip           webhook.Resources
	TokenAudiences []string
	// GitOpsKinds are the kinds of objects that tell a GitOps agent what to
	// apply (--gitops-kind); nil is provenance.DefaultGitOpsKinds.
	GitOpsKinds provenance.GitOpsKinds

	Fields provenance.FieldMode
	// Ignores are the built-in and user ignore rules, compiled once and
	// shared by the webhook's checkers and the drift scan. Nil ignores
	// nothing, not even status: compile them with provenance.CompileIgnores.
	Ignores *provenance.Ignores

	// WebhookHost and Port are where the webhook server (HTTPS, path
	// /validate) listens.
	WebhookHost string
	Port        int
	// MaxRequestBytes and DecisionTimeout bound what one request may cost.
	MaxRequestBytes int64
	DecisionTimeout time.Duration
	// HealthAddr, MetricsAddr and PprofAddr are the probe, metrics and
	// profile listeners ("0" or "" turns the last two off).
	HealthAddr, MetricsAddr, PprofAddr string
	// MemoryLimit is the Go heap's soft limit in bytes (0: none); nil
	// takes $GOMEMLIMIT, else nine tenths of the container's memory limit.
	MemoryLimit *int64

	// DenialHint ends every denial; RepoBrowseURL links files in them.
	DenialHint    string
	RepoBrowseURL string

	Policy    PolicyConfig
	DriftScan DriftScanConfig
	Certs     CertConfig
}

// GitSource is one Git repository to follow and the roots in it: the
// --repo-url of serve, an entry of its --sources-file, or what a client
// command reads once. Credentials and keys are files (mounted Secrets),
// read when the source is built.
type GitSource struct {
	// Name names the source in roots, logs and metrics; "" for --repo-url,
	// which its redacted URL names.
	Name     string
	URL      string
	Ref      gitsource.Ref
	Interval time.Duration
	// Paths are the roots; none is the whole repository as one root.
	Paths       []string
	Credentials gitsource.Credentials
	// CAFile adds trusted CAs for an https:// URL.
	CAFile string
	// CacheDir keeps fetched objects on disk; "" keeps them in memory.
	CacheDir string
	// VerifyKeyring (OpenPGP) and VerifySSH (allowed_signers), when set,
	// make only a head signed by one of their keys enforced.
	VerifyKeyring, VerifySSH string
}

// FluxConfig is the driver of SourceFlux: which namespaces' Flux objects
// to watch, how often a GitRepository may be polled, and what every
// GitRepository's fetch shares.
type FluxConfig struct {
	// Namespaces are watched; none is every namespace.
	Namespaces  []string
	MinInterval time.Duration
	CacheDir    string
	// InsecureHTTP allows a secretRef's HTTP credentials over http://.
	InsecureHTTP bool
}

// ArgoCDConfig is the driver of SourceArgoCD: whose Applications to
// watch, which destinations are this cluster, how often a repository may
// be polled, and where each repository's credentials come from.
type ArgoCDConfig struct {
	// Namespaces are watched for Applications; the first is Argo CD's own
	// (argocd-cm). Empty is argocd.
	Namespaces []string
	// ClusterNames name this cluster in destination.name, besides
	// in-cluster.
	ClusterNames []string
	MinInterval  time.Duration
	CacheDir     string
	// Repositories give credentials and CAs by repository URL (the
	// entries of --sources-file; their refs and paths are not used).
	Repositories []GitSource
	// RepoSecrets reads credentials from Argo CD's repository and
	// repo-creds Secrets in Namespaces too.
	RepoSecrets bool
	// InsecureHTTP allows HTTP credentials over http://.
	InsecureHTTP bool
}

// ReceiverConfig is the push-notification endpoint; off when Addr is "".
type ReceiverConfig struct {
	Addr string
	// SecretFile holds the shared secret; required with Addr.
	SecretFile string
}

// SyncSignalConfig names the ConfigMap through which replicas tell each
// other about a newly loaded revision; off when ConfigMap is "".
type SyncSignalConfig struct {
	ConfigMap, Namespace string
}

// Dry-run actions (PolicyConfig.DryRunAction).
const (
	DryRunEnforce = "enforce"
	DryRunWarn    = "warn"
)

// Stale actions (PolicyConfig.StaleAction).
const (
	StaleKeep = "keep"
	StaleDeny = "deny"
)

// PolicyConfig is what a request Git does not back gets: modes,
// break-glass, staleness, and the audit trail of every decision.
type PolicyConfig struct {
	Mode webhook.Mode
	// NamespaceModeLabel honours the gitgate.dev/mode label of Namespaces
	// as Git declares them.
	NamespaceModeLabel bool
	// DryRunAction is what a server dry run Git does not back gets.
	DryRunAction string
	// DryRunNamespace is the sandbox of the Defaulter's dry runs.
	DryRunNamespace string
	// Connect is what people's exec, attach and port-forward get on Pods
	// of no agent, exempt or controller service account.
	Connect webhook.Connect

	MaxBreakGlass                            time.Duration
	BreakGlassUsers, BreakGlassGroups        []string
	BreakGlassNamespace, BreakGlassConfigMap string

	// MaxStaleness (0: off) is how long after a root's last successful
	// sync StaleAction applies.
	MaxStaleness time.Duration
	StaleAction  string

	AuditLogFile       string
	AuditLogMaxBytes   int64
	AuditLogMaxBackups int
	AuditQueueSize     int
	// Events records a Warning Event on objects whose change is denied.
	Events bool
}

// DriftScanConfig is the background comparison of the cluster with Git;
// off when Interval is 0. ConfigMap names both the status ConfigMap and
// the Lease whose holder scans.
type DriftScanConfig struct {
	Interval             time.Duration
	ConfigMap, Namespace string
}

// Certificate modes (CertConfig.Mode).
const (
	CertModeFiles       = "files"
	CertModeSelfManaged = "self-managed"
)

// CertConfig chooses where the serving certificate comes from and how the
// webhook server speaks TLS.
type CertConfig struct {
	Mode string
	// Dir holds tls.crt and tls.key, with CertModeFiles.
	Dir         string
	SelfManaged certs.SelfManagedOptions
	// ClientCAs, when set, makes the webhook demand a client certificate
	// signed by one of them: the API server's.
	ClientCAs *x509.CertPool
	// EnableHTTP2 lets the webhook server offer HTTP/2; it offers only
	// HTTP/1.1 otherwise.
	EnableHTTP2 bool
}
