package webhook

import (
	"context"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// TestPeopleProxyAnnotations: argocd-server is judged as the person it
// writes for (--people-proxy), but its --annotator scope (given it for the
// Refresh button) lets any Argo CD user with update on an Application set
// any annotation Git does not declare through argocd-server's Update API
// (server/application/application.go updateApp copies the request's
// annotations), on a declared Application too, where the same person's own
// write is undeclared-change. argocd.argoproj.io/skip-reconcile: "true"
// stops the application controller reconciling it: a suspend, which the
// mode and break-glass govern for people (gitOpsFree).
// So a people proxy's annotator scope covers only what Git does not
// declare (an Application an ApplicationSet generated, whose controller
// puts back every annotation but those it preserves).
func TestPeopleProxyAnnotations(t *testing.T) {
	skip := setPath([]string{"metadata", "annotations", "argocd.argoproj.io/skip-reconcile"}, "true")
	snapshot := argoSnapshot(t)
	for _, tc := range []scopedCase{
		{"a person freezes a declared Application", dev, applicationChange.with(admissionv1.Update, skip), "warned", provenance.ReasonUndeclared, Person},
		{"argocd-server freezes a declared Application", argoServer, applicationChange.with(admissionv1.Update, skip), "warned", provenance.ReasonUndeclared, Person},
		{"argocd-server refreshes a generated Application", argoServer,
			generatedChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations", "argocd.argoproj.io/refresh"}, "hard")), outcomeAllowed, reasonAnnotations, Person},
		{"argocd-server refreshes a declared Application", argoServer,
			applicationChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations", "argocd.argoproj.io/refresh"}, "hard")), outcomeAllowed, provenance.ReasonMatchesGit, Person},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig := compiledIgnores(t)
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Fields: provenance.FieldsStrict, Ignores: ig}, Controllers: ControllerChecker(ig),
				Modes: FixedMode(Warn), Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if d.Outcome != tc.wantOutcome || d.Reason != tc.wantReason || d.Class != tc.wantClass {
				t.Fatalf("outcome %s reason %s class %s, want %s %s %s\n%s", d.Outcome, d.Reason, d.Class, tc.wantOutcome, tc.wantReason, tc.wantClass, d.Message)
			}
		})
	}
}
