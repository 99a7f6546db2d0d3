package cli

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
func setupPolicy(mgr ctrl.Manager, cfg *rest.Config, o *policyOptions, h *webhook.Handler, clock webhook.RootClock, log logr.Logger) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("policy client: %w", err)
	}
	mode, err := webhook.ParseMode(o.mode)
	if err != nil {
		return err
	}
	var runnables []interface{ Start(context.Context) error }
	ready := map[string]func() error{}

	h.DryRunWarn = o.dryRunAction == dryRunWarn
	h.Modes = webhook.FixedMode(mode)
	if o.namespaceOverrides {
		h.Modes = webhook.NewGitModes(mode)
	}

	store := &breakglass.Store{PermanentUsers: o.breakGlassUsers, PermanentGroups: o.breakGlassGroups}
	watcher := &breakglass.Watcher{
		Client: client, Namespace: o.breakGlassNS, Name: o.breakGlassCM, Store: store, Max: o.maxBreakGlass,
		Log: log.WithName("break-glass").WithValues("configmap", o.breakGlassNS+"/"+o.breakGlassCM),
	}
	h.BreakGlass = store
	runnables = append(runnables, watcher)
	ready["break-glass"] = watcher.Ready

	if o.maxStaleness > 0 {
		h.Staleness = &webhook.Staleness{Max: o.maxStaleness, Deny: o.staleAction == staleDeny, Clock: clock}
	}

	auditRunnables, err := setupAudit(o, h, client)
	if err != nil {
		return err
	}
	if err := addPolicyRunnables(mgr, append(runnables, auditRunnables...), ready); err != nil {
		return err
	}
	log.Info("policy", "mode", mode, "namespaceModeLabel", o.namespaceOverrides, "maxBreakGlass", o.maxBreakGlass.String(),
		"breakGlassConfigMap", o.breakGlassNS+"/"+o.breakGlassCM, "permanentBreakGlassUsers", o.breakGlassUsers,
		"permanentBreakGlassGroups", o.breakGlassGroups, "maxStaleness", o.maxStaleness.String(), "staleAction", o.staleAction,
		"auditLogFile", o.auditLogFile)
	return nil
}

// setupAudit gives h its Auditor and returns what must run for it: the
// Auditor's writer and, with --events, the Event broadcaster.
func setupAudit(o *policyOptions, h *webhook.Handler, client kubernetes.Interface) ([]interface{ Start(context.Context) error }, error) {
	// Audit records go to stdout, never silenced nor sampled.
	aopts := audit.Options{Log: audit.NewLog(os.Stdout), QueueSize: o.auditQueue}
	if o.auditLogFile != "" {
		f, err := audit.OpenFile(o.auditLogFile, o.auditLogMaxBytes, o.auditLogMaxBackups)
		if err != nil {
			return nil, err
		}
		aopts.File = f
	}
	var runnables []interface{ Start(context.Context) error }
	if o.events {
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
