package cli

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/webhook"
)

func newServeCmd() *cobra.Command {
	var o serveOptions
	zopts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "serve --repo-url URL --branch BRANCH [flags]",
		Short: "Run the admission webhook",
		Long: `Run the admission webhook: follow a Git repository and admit a change only
when it comes from the GitOps agent, matches what Git declares, or is
covered by a break-glass grant.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			log := zap.New(zap.UseFlagOptions(&zopts))
			ctrl.SetLogger(log)
			if err := registerBuildInfo(); err != nil {
				return failed(err)
			}
			cfg := o.cfg
			cfg.Version = version
			if err := server.Run(ctrl.SetupSignalHandler(), cfg); err != nil {
				log.Error(err, "gitgate stopped")
				return failed(err)
			}
			return nil
		},
	}
	o.BindFlags(cmd.Flags())
	bindLogFlags(cmd.Flags(), &zopts)
	cmd.SetUsageFunc(groupedUsage(serveFlagGroups()))
	return cmd
}

// serveFlagGroups sorts serve's flags by the binder that binds them, so a
// flag added there lands under the right heading; the last group, the
// server's, takes every other flag.
func serveFlagGroups() []flagGroup {
	var o serveOptions
	return []flagGroup{
		{"Git source", namesOf(func(fs *pflag.FlagSet) { o.sources.BindFlags(fs, &o.cfg) })},
		{"Identities", namesOf(o.identities.BindFlags)},
		{"Comparison", namesOf(func(fs *pflag.FlagSet) { o.compare.BindFlags(fs, serveCompareUsage) })},
		{"Denials", namesOf(o.bindDenialFlags)},
		{"Policy, break-glass and audit", namesOf(func(fs *pflag.FlagSet) { bindPolicyFlags(fs, &o.cfg.Policy) })},
		{"Drift scan", namesOf(func(fs *pflag.FlagSet) { bindDriftScanFlags(fs, &o.cfg.DriftScan) })},
		{"Certificates", namesOf(o.certs.BindFlags)},
		{"Logging", namesOf(func(fs *pflag.FlagSet) { bindLogFlags(fs, new(zap.Options)) })},
		{"Server", nil}, // every other flag
	}
}

// bindLogFlags binds controller-runtime's zap flags (--zap-log-level ...).
func bindLogFlags(fs *pflag.FlagSet, zopts *zap.Options) {
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	zopts.BindFlags(gofs)
	fs.AddGoFlagSet(gofs)
}

// serveOptions are the flags of `gitgate serve`. Most bind straight into
// the server's Config; the rest are parsed into it by Validate.
type serveOptions struct {
	cfg server.Config

	sources     serveSourceOptions
	identities  identityOptions
	compare     compareOptions
	certs       certOptions
	memoryLimit string
}

func (o *serveOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.cfg.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Without it, the in-cluster config or $KUBECONFIG is used, as kubectl does.")
	o.sources.BindFlags(fs, &o.cfg)
	o.identities.BindFlags(fs)
	o.compare.BindFlags(fs, serveCompareUsage)
	o.bindServerFlags(fs)
	o.bindDenialFlags(fs)
	bindPolicyFlags(fs, &o.cfg.Policy)
	bindDriftScanFlags(fs, &o.cfg.DriftScan)
	o.certs.BindFlags(fs)
}

// bindServerFlags binds the listeners and the bounds of the server.
func (o *serveOptions) bindServerFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.cfg.WebhookHost, "webhook-host", "", "Address the webhook server binds to. Default: all addresses.")
	fs.IntVar(&o.cfg.Port, "port", 9443, "Port of the webhook server (HTTPS, path /validate).")
	fs.Int64Var(&o.cfg.MaxRequestBytes, "max-request-bytes", webhook.DefaultMaxRequestBytes, "Largest AdmissionReview gitgate decodes; a larger one is denied before decoding, which holds many times the body in memory. The default admits an object and an oldObject each at the API server's 3 MiB request limit.")
	fs.DurationVar(&o.cfg.DecisionTimeout, "decision-timeout", webhook.DefaultDecisionTimeout, "Longest comparison of one request with Git; an object that takes longer is denied (deadline-exceeded). Keep it under the webhook's timeoutSeconds.")
	fs.StringVar(&o.cfg.HealthAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz. /readyz fails until Git is synced and a certificate is loaded.")
	fs.StringVar(&o.cfg.MetricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	fs.StringVar(&o.cfg.PprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof profiles, for measuring gitgate under load. Default: off; never expose it beyond the pod.")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "Soft limit of gitgate's Go heap (e.g. 300Mi; 0 for none): the collector runs more often rather than let memory pass it. Default: $GOMEMLIMIT if set, else nine tenths of the container's memory limit (cgroup v2), else none.")
}

// bindDenialFlags binds what every denial ends with and links to.
func (o *serveOptions) bindDenialFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.cfg.DenialHint, "denial-hint", "", "Text that ends every denial: your team's way in, e.g. \"Emergencies: page #sre-oncall for a break-glass grant.\" At most 200 characters.")
	fs.StringVar(&o.cfg.RepoBrowseURL, "repo-browse-url", "", "Template of a link to a file in your Git host's web view, e.g. https://git.example.com/org/fleet/blob/{revision}/{file}; denials link the file at the enforced commit, and the advice links it on the followed branch, instead of naming the clone URL.")
}

// Validate reports every invalid setting at once, reads the files the
// flags name (ignore rules, sources, client CAs) and completes o.cfg.
func (o *serveOptions) Validate() error {
	errs := o.sources.Validate(&o.cfg)
	if o.sources.repo.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--interval must be positive, got %s", o.sources.repo.Interval))
	}
	errs = append(errs, o.compare.validateFields())
	if o.cfg.Port <= 0 || o.cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("--port must be 1-65535, got %d", o.cfg.Port))
	}
	if len(o.cfg.DenialHint) > maxDenialHint {
		errs = append(errs, fmt.Errorf("--denial-hint is %d characters; at most %d fit in a denial", len(o.cfg.DenialHint), maxDenialHint))
	}
	errs = append(errs, checkBrowseURL(o.cfg.RepoBrowseURL))
	if o.cfg.MaxRequestBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("--max-request-bytes must be at least 65536, got %d", o.cfg.MaxRequestBytes))
	}
	var err error
	o.cfg.MemoryLimit, err = parseMemoryLimit(o.memoryLimit)
	errs = append(errs, err)
	if o.cfg.DecisionTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--decision-timeout must be positive, got %s", o.cfg.DecisionTimeout))
	}
	// errors.Join drops the nil ones.
	errs = append(errs, o.compare.compileIgnores(), o.certs.Validate(), o.identities.Validate(),
		validatePolicy(o.cfg.Policy), validateDriftScan(o.cfg.DriftScan))
	o.cfg.Fields, o.cfg.Ignores = provenance.FieldMode(o.compare.fields), o.compare.compiled
	o.cfg.Identities, o.cfg.Skip, o.cfg.TokenAudiences = o.identities.identities, o.identities.skip, o.identities.tokenAudiences
	o.cfg.GitOpsKinds = o.identities.gitops
	o.cfg.Certs = o.certs.config()
	return errors.Join(errs...)
}

// parseMemoryLimit parses --memory-limit into bytes; nil when it is not
// set, for the server to take $GOMEMLIMIT or the container's limit.
func parseMemoryLimit(flag string) (*int64, error) {
	if flag == "" {
		return nil, nil
	}
	q, err := resource.ParseQuantity(flag)
	if err != nil || q.Sign() < 0 {
		return nil, fmt.Errorf("--memory-limit %q: not a quantity of bytes such as 512Mi", flag)
	}
	bytes := q.Value()
	return &bytes, nil
}

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
