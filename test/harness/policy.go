package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ExcludeNamespaces leaves more namespaces out of the registered webhook,
// e.g. gitgate's own, which holds the break-glass ConfigMap: the shipped
// manifests exclude it so grants can be written while Git is unreachable.
func ExcludeNamespaces(ctx context.Context, c client.Client, namespaces ...string) error {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKey{Name: WebhookName}, &vwc); err != nil {
		return err
	}
	for i := range vwc.Webhooks {
		sel := vwc.Webhooks[i].NamespaceSelector
		if sel == nil || len(sel.MatchExpressions) == 0 {
			return fmt.Errorf("webhook %s has no namespace selector to extend", vwc.Webhooks[i].Name)
		}
		sel.MatchExpressions[0].Values = append(sel.MatchExpressions[0].Values, namespaces...)
	}
	return c.Update(ctx, &vwc)
}

// apiServerAuditPolicy logs every request at Metadata level, which carries
// admission webhooks' auditAnnotations, and leaves out lease renewals.
const apiServerAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  resources:
  - group: coordination.k8s.io
    resources: ["leases"]
- level: Metadata
`

// APIServerAudit writes an audit policy into dir and returns the API
// server flags that turn on its audit log, and the log's path.
func APIServerAudit(dir string) (map[string][]string, string, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(apiServerAuditPolicy), 0o600); err != nil {
		return nil, "", err
	}
	log := filepath.Join(dir, "apiserver-audit.log")
	return map[string][]string{
		"audit-policy-file": {policy},
		"audit-log-path":    {log},
		"audit-log-mode":    {"blocking"},
	}, log, nil
}
