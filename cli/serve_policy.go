package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/dryrun"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/webhook"
)

// bindPolicyFlags binds the flags of `gitgate serve` for modes,
// break-glass, staleness and the audit trail.
func bindPolicyFlags(fs *pflag.FlagSet, p *server.PolicyConfig) {
	// webhook.Mode is a string; validatePolicy checks it is one.
	fs.StringVar((*string)(&p.Mode), "mode", string(webhook.Enforce), "What to do with a request Git does not back: enforce (deny), warn (allow with a warning) or audit (allow silently). A Namespace's gitgate.dev/mode label overrides it for the objects in it.")
	fs.StringVar(&p.DryRunAction, "dry-run-action", server.DryRunEnforce, "What a server dry run (kubectl diff, --dry-run=server, flux diff) that Git does not back gets: enforce (as any request) or warn (allowed, with the denial as a warning; nothing is stored), so changes can be previewed before a commit.")
	fs.StringVar(&p.DryRunNamespace, "dry-run-namespace", dryrun.DefaultNamespace, "Namespace where gitgate dry-run-creates Git's manifest of a namespaced object a person creates before the GitOps agent, to learn its defaults; gitgate's only create rights are there. Keep it out of the webhook's namespaceSelector, empty of workloads and writable by nobody else.")
	fs.StringVar((*string)(&p.Connect), "connect", string(webhook.DefaultConnect), "What people's kubectl exec, attach and port-forward get: deny-people (refused in every mode; a break-glass grant covers it, audited), judge (refused through the namespace's mode: warn and audit let it through with a record) or allow. Whatever it says, nobody but exempt identities and agents may reach into a Pod running as an agent's or exempt service account, nor a person into a controller's, and a Pod gitgate cannot read is refused.")
	fs.BoolVar(&p.NamespaceModeLabel, "namespace-mode-label", true, "Honour the gitgate.dev/mode label on Namespaces as Git declares it (a hand-set label on the live Namespace counts for nothing).")

	fs.DurationVar(&p.MaxBreakGlass, "max-break-glass", breakglass.DefaultMaxDuration, "Longest break-glass grant accepted; longer grants are ignored and reported.")
	fs.StringArrayVar(&p.BreakGlassUsers, "break-glass-user", nil, "Permanent emergency user: always let through, with a warning and an audit record. Repeatable. Permanent: it never expires.")
	fs.StringArrayVar(&p.BreakGlassGroups, "break-glass-group", nil, "Permanent emergency group, as --break-glass-user. Repeatable.")
	fs.StringVar(&p.BreakGlassNamespace, "break-glass-namespace", defaultNamespace(), "Namespace of the break-glass ConfigMap (gitgate's own; default $POD_NAMESPACE or gitgate-system).")
	fs.StringVar(&p.BreakGlassConfigMap, "break-glass-configmap", breakglass.DefaultConfigMap, "Name of the ConfigMap holding break-glass grants; watched, no restart needed.")

	fs.DurationVar(&p.MaxStaleness, "max-staleness", 0, "Longest time since the last successful Git sync before --stale-action applies; 0 turns it off.")
	fs.StringVar(&p.StaleAction, "stale-action", server.StaleKeep, "Past --max-staleness: keep (go on enforcing the last revision read) or deny (refuse with reason stale: fail closed).")

	fs.StringVar(&p.AuditLogFile, "audit-log-file", "", "Also append audit records to this file as JSON lines, rotated by size.")
	fs.Int64Var(&p.AuditLogMaxBytes, "audit-log-max-bytes", 100<<20, "Rotate the audit file before it grows past this many bytes.")
	fs.IntVar(&p.AuditLogMaxBackups, "audit-log-max-backups", 5, "Rotated audit files kept (file.1 is the newest).")
	fs.IntVar(&p.AuditQueueSize, "audit-queue-size", 10000, "Audit records that may wait to be written; beyond it records are dropped and counted, never delaying a decision.")
	fs.BoolVar(&p.Events, "events", true, "Record a Warning Event (GitProvenanceDenied) on objects whose change is denied; rate-limited per object.")
}

// validatePolicy reports every invalid policy setting at once.
func validatePolicy(p server.PolicyConfig) error {
	var errs []error
	if _, err := webhook.ParseMode(string(p.Mode)); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	if _, err := webhook.ParseConnect(string(p.Connect)); err != nil {
		errs = append(errs, fmt.Errorf("--connect: %w", err))
	}
	if p.DryRunAction != server.DryRunEnforce && p.DryRunAction != server.DryRunWarn {
		errs = append(errs, fmt.Errorf("--dry-run-action must be enforce or warn, got %q", p.DryRunAction))
	}
	for _, msg := range validation.IsDNS1123Label(p.DryRunNamespace) {
		errs = append(errs, fmt.Errorf("--dry-run-namespace %q: %s", p.DryRunNamespace, msg))
	}
	if p.MaxBreakGlass <= 0 {
		errs = append(errs, fmt.Errorf("--max-break-glass must be positive, got %s", p.MaxBreakGlass))
	}
	if p.BreakGlassNamespace == "" || p.BreakGlassConfigMap == "" {
		errs = append(errs, errors.New("--break-glass-namespace and --break-glass-configmap must not be empty"))
	}
	if p.MaxStaleness < 0 {
		errs = append(errs, fmt.Errorf("--max-staleness must not be negative, got %s", p.MaxStaleness))
	}
	if p.StaleAction != server.StaleKeep && p.StaleAction != server.StaleDeny {
		errs = append(errs, fmt.Errorf("--stale-action must be keep or deny, got %q", p.StaleAction))
	}
	if p.AuditLogFile != "" && (p.AuditLogMaxBytes < 4096 || p.AuditLogMaxBackups < 1) {
		errs = append(errs, fmt.Errorf("--audit-log-max-bytes must be at least 4096 and --audit-log-max-backups at least 1, got %d and %d", p.AuditLogMaxBytes, p.AuditLogMaxBackups))
	}
	if p.AuditQueueSize < 1 {
		errs = append(errs, fmt.Errorf("--audit-queue-size must be positive, got %d", p.AuditQueueSize))
	}
	return errors.Join(errs...)
}
