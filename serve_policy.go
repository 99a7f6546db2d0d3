package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/go-logr/logr"
	uzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

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
		h.Modes = webhook.GitModes{Snapshots: h.Snapshots, Default: mode}
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
	// Audit records go to stdout, always at info level: they are the audit
	// trail, not diagnostics, and --zap-log-level must not silence them.
	// Level -2 also turns off controller-runtime's zap sampling, which would
	// drop records beyond 100 a second; this logger logs nothing but records.
	level := uzap.NewAtomicLevelAt(zapcore.Level(-2))
	aopts := audit.Options{Log: zap.New(zap.WriteTo(os.Stdout), zap.Level(&level)).WithName("audit"), QueueSize: o.auditQueue}
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
