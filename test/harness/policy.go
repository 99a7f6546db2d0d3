package harness

import (
	"os"
	"path/filepath"
)

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
