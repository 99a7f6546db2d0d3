package harness

import (
	"context"
	"fmt"
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

// Audited is a Stack whose API server and gitgate both keep an audit
// trail, for tests that read who was refused: gitgate's --audit-log-file
// and the API server's audit log.
type Audited struct {
	*Stack
	// AuditFile is gitgate's --audit-log-file.
	AuditFile string
	// APIAuditLog is the API server's audit log.
	APIAuditLog string
}

// StartAudited starts a Stack over fixture with both audit trails (in a
// temporary folder removed at r's cleanup), gitgate's namespace created as
// installed (its drift Lease, its sync ConfigMap and break-glass grants
// live there; the webhook leaves it out), and r's logs set to gitgate's.
// opts.Fixture and opts.APIServerArgs are set here; gitgateArgs, called
// with the audit file's path, gives the rest of gitgate's flags.
func StartAudited(r *Running, fixture string, opts StackOptions, gitgateArgs func(auditFile string) []string) (*Audited, error) {
	dir, err := os.MkdirTemp("", "gitgate-audited-")
	if err != nil {
		return nil, err
	}
	r.Cleanup(func() { _ = os.RemoveAll(dir) })
	apiArgs, apiLog, err := APIServerAudit(dir)
	if err != nil {
		return nil, err
	}
	a := &Audited{AuditFile: filepath.Join(dir, "gitgate-audit.log"), APIAuditLog: apiLog}
	opts.Fixture, opts.APIServerArgs = fixture, apiArgs
	opts.GitgateArgs = gitgateArgs(a.AuditFile)
	if a.Stack, err = StartStack(context.Background(), opts); err != nil {
		return nil, err
	}
	r.Cleanup(a.Stop)
	r.Logs = a.Gitgate.Logs
	if res := a.Kubectl.Run("", "create", "namespace", GitgateNamespace); res.Failed() {
		return nil, fmt.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
	}
	return a, nil
}
