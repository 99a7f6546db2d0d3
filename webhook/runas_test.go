package webhook

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// TestControllerMayNotRunAsTheAgent: a controller may create what Git does
// not declare, but not a workload that runs as the agent's service
// account, nor a Secret that would hold the agent's token.
func TestControllerMayNotRunAsTheAgent(t *testing.T) {
	deployment := func(ns, sa string) change {
		spec := `{}`
		if sa != "" {
			spec = `{"serviceAccountName":"` + sa + `"}`
		}
		return change{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespace: ns, name: "sneaky",
			obj: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"sneaky","namespace":"` + ns + `"},"spec":{"template":{"spec":` + spec + `}}}`}
	}
	pod := change{version: "v1", kind: "Pod", resource: "pods", namespace: "flux-system", name: "p",
		obj: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"flux-system"},"spec":{"containers":[{"name":"c"}]}}`}
	tokenSecret := func(sa string) change {
		return change{version: "v1", kind: "Secret", resource: "secrets", namespace: "flux-system", name: "tok",
			obj: `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"tok","namespace":"flux-system","annotations":{"kubernetes.io/service-account.name":"` + sa + `"}}}`}
	}
	tests := []struct {
		name        string
		change      change
		wantAllowed bool
	}{
		{name: "a Deployment running as kustomize-controller", change: deployment("flux-system", "kustomize-controller")},
		{name: "a Deployment in flux-system with the default service account", change: deployment("flux-system", "")},
		{name: "a Pod in flux-system", change: pod},
		{name: "a token Secret for the agent", change: tokenSecret("kustomize-controller")},
		{name: "a Deployment in its own namespace", change: deployment("shop", "web"), wantAllowed: true},
		{name: "a Deployment with the default service account elsewhere", change: deployment("shop", ""), wantAllowed: true},
	}
	snapshot := gitSnapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs}
			resp := h.Handle(context.Background(), tt.change.with(admissionv1.Create, nil).admissionRequest(t, operator))
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.wantAllowed, resp.Result.Message)
			}
			if !tt.wantAllowed && (len(recs.list) != 1 || recs.list[0].Reason != reasonAgentToken) {
				t.Errorf("records = %+v, want one agent-token refusal", recs.list)
			}
		})
	}
}
