package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// TestApplicationOperationState: Argo CD's application controller resumes
// the operation that an Application's status.operationState holds while
// its phase is not completed (isOperationInProgress in
// controller/appcontroller.go, v3.6.2), in place of the one in operation.
// An Application has no status subresource, so whoever may update it
// writes that status: a sync of inline manifests, another source or
// another revision written there is started as surely as one written in
// operation, and must be judged as one.
func TestApplicationOperationState(t *testing.T) {
	evil := setPath([]string{"status", "operationState"}, map[string]any{
		"phase": "Running", "startedAt": "2026-01-01T00:00:00Z",
		"operation": map[string]any{"sync": map[string]any{"manifests": []any{"apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: kube-system}\nspec: {hostPID: true}"}}},
	})
	otherRevision := setPath([]string{"status", "operationState"}, map[string]any{
		"phase": "Running", "operation": map[string]any{"sync": map[string]any{"revision": "evil"}},
	})
	plain := syncOperation(map[string]any{})
	notified := setPath([]string{"metadata", "annotations", "notified.notifications.argoproj.io"}, `{}`)
	// inProgress is a generated Application whose sync of inline
	// manifests (started by an exempt admin) is running.
	inProgress := generatedChange
	inProgress.obj = strings.Replace(generatedApplication, `"spec":`, `"status":{"operationState":{"phase":"Running","operation":{"sync":{"manifests":["kind: ConfigMap"]}}}},"spec":`, 1)
	// rolledBack is a generated Application whose last operation, a
	// rollback to an old revision, has completed.
	rolledBack := generatedChange
	rolledBack.obj = strings.Replace(generatedApplication, `"spec":`, `"status":{"operationState":{"phase":"Succeeded","operation":{"sync":{"revision":"0123456789abcdef0123456789abcdef01234567"}}}},"spec":`, 1)
	snapshot := argoSnapshot(t)
	for _, tc := range []scopedCase{
		{"a person writes an inline-manifests operation into a declared Application's status", dev,
			applicationChange.with(admissionv1.Update, evil), "denied", reasonAgentToken, Person},
		{"a controller writes an inline-manifests operation into a declared Application's status", operator,
			applicationChange.with(admissionv1.Update, evil), "denied", reasonAgentToken, Controller},
		{"a controller writes another revision into a declared Application's status", operator,
			applicationChange.with(admissionv1.Update, otherRevision), "denied", reasonAgentToken, Controller},
		{"argocd-server's plain sync with an inline-manifests operation in status", argoServer,
			generatedChange.with(admissionv1.Update, both(plain, evil)), "denied", reasonAgentToken, Person},
		{"argocd-server's plain sync of a declared Application with inline manifests in status", argoServer,
			applicationChange.with(admissionv1.Update, both(plain, evil)), "denied", reasonAgentToken, Person},
		{"notifications annotates and writes an inline-manifests operation into status", notifications,
			generatedChange.with(admissionv1.Update, both(notified, evil)), "denied", reasonAgentToken, Controller},
		{"argocd-server terminates a running sync of inline manifests", argoServer,
			inProgress.with(admissionv1.Update, setPath([]string{"status", "operationState", "phase"}, "Terminating")), outcomeAllowed, reasonPlainSync, Person},
		{"argocd-server's plain sync while a sync of inline manifests runs", argoServer,
			inProgress.with(admissionv1.Update, plain), outcomeAllowed, reasonPlainSync, Person},
		{"a person annotates an Application whose sync of inline manifests runs", dev,
			inProgress.with(admissionv1.Update, notified), "warned", provenance.ReasonNotInGit, Person},
		{"argocd-server's plain sync that sets a completed rollback running again", argoServer,
			rolledBack.with(admissionv1.Update, both(plain, setPath([]string{"status", "operationState", "phase"}, "Running"))), "denied", reasonAgentToken, Person},
		{"argocd-server's plain sync after a completed rollback", argoServer, rolledBack.with(admissionv1.Update, plain), outcomeAllowed, reasonPlainSync, Person},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Fields: provenance.FieldsStrict}, Controllers: ControllerChecker(nil),
				Modes: FixedMode(Warn), Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if d.Outcome != tc.wantOutcome || d.Reason != tc.wantReason || d.Class != tc.wantClass {
				t.Fatalf("outcome %s reason %s class %s, want %s %s %s\n%s", d.Outcome, d.Reason, d.Class, tc.wantOutcome, tc.wantReason, tc.wantClass, d.Message)
			}
		})
	}
}
