package server

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/webhook"
)

// setupPolicy wires modes, break-glass, staleness and the audit trail into
// h, and adds their runnables and readiness checks to mgr.
func setupPolicy(mgr ctrl.Manager, cfg *rest.Config, p PolicyConfig, h *webhook.Handler, clock webhook.RootClock, log logr.Logger) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("policy client: %w", err)
	}
	var runnables []interface{ Start(context.Context) error }
	ready := map[string]func() error{}

	h.DryRunWarn = p.DryRunAction == DryRunWarn
	h.Connect = p.Connect
	h.Modes = webhook.FixedMode(p.Mode)
	if p.NamespaceModeLabel {
		h.Modes = webhook.NewGitModes(p.Mode)
	}

	store := &breakglass.Store{PermanentUsers: p.BreakGlassUsers, PermanentGroups: p.BreakGlassGroups}
	watcher := &breakglass.Watcher{
		Client: client, Namespace: p.BreakGlassNamespace, Name: p.BreakGlassConfigMap, Store: store, Max: p.MaxBreakGlass,
		Log: log.WithName("break-glass").WithValues("configmap", p.BreakGlassNamespace+"/"+p.BreakGlassConfigMap),
	}
	h.BreakGlass = store
	runnables = append(runnables, watcher)
	ready["break-glass"] = watcher.Ready

	if p.MaxStaleness > 0 {
		h.Staleness = &webhook.Staleness{Max: p.MaxStaleness, Deny: p.StaleAction == StaleDeny, Clock: clock}
	}

	auditRunnables, err := setupAudit(p, h, client)
	if err != nil {
		return err
	}
	if err := addPolicyRunnables(mgr, append(runnables, auditRunnables...), ready); err != nil {
		return err
	}
	log.Info("policy", "mode", p.Mode, "namespaceModeLabel", p.NamespaceModeLabel, "maxBreakGlass", p.MaxBreakGlass.String(),
		"breakGlassConfigMap", p.BreakGlassNamespace+"/"+p.BreakGlassConfigMap, "permanentBreakGlassUsers", p.BreakGlassUsers,
		"permanentBreakGlassGroups", p.BreakGlassGroups, "maxStaleness", p.MaxStaleness.String(), "staleAction", p.StaleAction,
		"auditLogFile", p.AuditLogFile, "connect", p.Connect)
	return nil
}

// setupAudit gives h its Auditor and returns what must run for it: the
// Auditor's writer and, with Events, the Event broadcaster.
func setupAudit(p PolicyConfig, h *webhook.Handler, client kubernetes.Interface) ([]interface{ Start(context.Context) error }, error) {
	// Audit records go to stdout, never silenced nor sampled.
	aopts := audit.Options{Log: audit.NewLog(os.Stdout), QueueSize: p.AuditQueueSize}
	if p.AuditLogFile != "" {
		f, err := audit.OpenFile(p.AuditLogFile, p.AuditLogMaxBytes, p.AuditLogMaxBackups)
		if err != nil {
			return nil, err
		}
		aopts.File = f
	}
	var runnables []interface{ Start(context.Context) error }
	if p.Events {
		ev := audit.NewEvents(client)
		aopts.Events = ev
		runnables = append(runnables, ev)
	}
	auditor := audit.New(aopts)
	h.Audit = auditor
	return append(runnables, auditor), nil
}

// addPolicyRunnables adds the policy's runnables and readiness checks to
// mgr.
func addPolicyRunnables(mgr ctrl.Manager, runnables []interface{ Start(context.Context) error }, ready map[string]func() error) error {
	for _, r := range runnables {
		if err := mgr.Add(runnable{r}); err != nil {
			return err
		}
	}
	for name, check := range ready {
		if err := mgr.AddReadyzCheck(name, func(*http.Request) error { return check() }); err != nil {
			return err
		}
	}
	return nil
}
