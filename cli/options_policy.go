package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/dryrun"
	"github.com/gitgate/gitgate/webhook"
)

// policyOptions are the flags of `gitgate serve` for modes, break-glass,
// staleness and the audit trail.
type policyOptions struct {
	mode string
	// dryRunAction is what a server dry run that Git does not back gets.
	dryRunAction string
	// dryRunNamespace is the sandbox of the Defaulter's dry runs.
	dryRunNamespace string

	maxBreakGlass      time.Duration
	breakGlassUsers    []string
	breakGlassGroups   []string
	breakGlassNS       string
	breakGlassCM       string
	namespaceOverrides bool

	maxStaleness time.Duration
	staleAction  string

	auditLogFile       string
	auditLogMaxBytes   int64
	auditLogMaxBackups int
	auditQueue         int
	events             bool
}

// Dry-run actions.
const (
	dryRunEnforce = "enforce"
	dryRunWarn    = "warn"
)

// Stale actions.
const (
	staleKeep = "keep"
	staleDeny = "deny"
)

// defaultNamespace is gitgate's own namespace: $POD_NAMESPACE (from the
// downward API) or gitgate-system.
func defaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "gitgate-system"
}

func (o *policyOptions) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.mode, "mode", string(webhook.Enforce), "What to do with a request Git does not back: enforce (deny), warn (allow with a warning) or audit (allow silently). A Namespace's gitgate.dev/mode label overrides it for the objects in it.")
	fs.StringVar(&o.dryRunAction, "dry-run-action", dryRunEnforce, "What a server dry run (kubectl diff, --dry-run=server, flux diff) that Git does not back gets: enforce (as any request) or warn (allowed, with the denial as a warning; nothing is stored), so changes can be previewed before a commit.")
	fs.StringVar(&o.dryRunNamespace, "dry-run-namespace", dryrun.DefaultNamespace, "Namespace where gitgate dry-run-creates Git's manifest of a namespaced object a person creates before the GitOps agent, to learn its defaults; gitgate's only create rights are there. Keep it out of the webhook's namespaceSelector, empty of workloads and writable by nobody else.")
	fs.BoolVar(&o.namespaceOverrides, "namespace-mode-label", true, "Honour the gitgate.dev/mode label on Namespaces as Git declares it (a hand-set label on the live Namespace counts for nothing).")

	fs.DurationVar(&o.maxBreakGlass, "max-break-glass", breakglass.DefaultMaxDuration, "Longest break-glass grant accepted; longer grants are ignored and reported.")
	fs.StringArrayVar(&o.breakGlassUsers, "break-glass-user", nil, "Permanent emergency user: always let through, with a warning and an audit record. Repeatable. Permanent: it never expires.")
	fs.StringArrayVar(&o.breakGlassGroups, "break-glass-group", nil, "Permanent emergency group, as --break-glass-user. Repeatable.")
	fs.StringVar(&o.breakGlassNS, "break-glass-namespace", defaultNamespace(), "Namespace of the break-glass ConfigMap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
	fs.StringVar(&o.breakGlassCM, "break-glass-configmap", breakglass.DefaultConfigMap, "Name of the ConfigMap holding break-glass grants; watched, no restart needed.")

	fs.DurationVar(&o.maxStaleness, "max-staleness", 0, "Longest time since the last successful Git sync before --stale-action applies; 0 turns it off.")
	fs.StringVar(&o.staleAction, "stale-action", staleKeep, "Past --max-staleness: keep (go on enforcing the last revision read) or deny (refuse with reason stale: fail closed).")

	fs.StringVar(&o.auditLogFile, "audit-log-file", "", "Also append audit records to this file as JSON lines, rotated by size.")
	fs.Int64Var(&o.auditLogMaxBytes, "audit-log-max-bytes", 100<<20, "Rotate the audit file before it grows past this many bytes.")
	fs.IntVar(&o.auditLogMaxBackups, "audit-log-max-backups", 5, "Rotated audit files kept (file.1 is the newest).")
	fs.IntVar(&o.auditQueue, "audit-queue-size", 10000, "Audit records that may wait to be written; beyond it records are dropped and counted, never delaying a decision.")
	fs.BoolVar(&o.events, "events", true, "Record a Warning Event (GitProvenanceDenied) on objects whose change is denied; rate-limited per object.")
}

// Validate reports every invalid policy setting at once.
func (o *policyOptions) Validate() error {
	var errs []error
	if _, err := webhook.ParseMode(o.mode); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	if o.dryRunAction != dryRunEnforce && o.dryRunAction != dryRunWarn {
		errs = append(errs, fmt.Errorf("--dry-run-action must be enforce or warn, got %q", o.dryRunAction))
	}
	for _, msg := range validation.IsDNS1123Label(o.dryRunNamespace) {
		errs = append(errs, fmt.Errorf("--dry-run-namespace %q: %s", o.dryRunNamespace, msg))
	}
	if o.maxBreakGlass <= 0 {
		errs = append(errs, fmt.Errorf("--max-break-glass must be positive, got %s", o.maxBreakGlass))
	}
	if o.breakGlassNS == "" || o.breakGlassCM == "" {
		errs = append(errs, errors.New("--break-glass-namespace and --break-glass-configmap must not be empty"))
	}
	if o.maxStaleness < 0 {
		errs = append(errs, fmt.Errorf("--max-staleness must not be negative, got %s", o.maxStaleness))
	}
	if o.staleAction != staleKeep && o.staleAction != staleDeny {
		errs = append(errs, fmt.Errorf("--stale-action must be keep or deny, got %q", o.staleAction))
	}
	if o.auditLogFile != "" && (o.auditLogMaxBytes < 4096 || o.auditLogMaxBackups < 1) {
		errs = append(errs, fmt.Errorf("--audit-log-max-bytes must be at least 4096 and --audit-log-max-backups at least 1, got %d and %d", o.auditLogMaxBytes, o.auditLogMaxBackups))
	}
	if o.auditQueue < 1 {
		errs = append(errs, fmt.Errorf("--audit-queue-size must be positive, got %d", o.auditQueue))
	}
	return errors.Join(errs...)
}
