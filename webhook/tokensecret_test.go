package webhook

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

const (
	// hookSecret is a hook of the impersonated Application, plainSecret
	// an Opaque Secret it declares; Git leaves out both's type.
	hookSecret  = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"hook-cfg","namespace":"shop","annotations":{"argocd.argoproj.io/hook":"PreSync"}},"data":{"k":"dg=="}}`
	plainSecret = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"plain","namespace":"shop"},"data":{"k":"dg=="}}`
)

var (
	hookSecretChange  = change{version: "v1", kind: "Secret", resource: "secrets", obj: hookSecret, namespace: "shop", name: "hook-cfg"}
	plainSecretChange = change{version: "v1", kind: "Secret", resource: "secrets", obj: plainSecret, namespace: "shop", name: "plain"}
)

// tokenSecretSnapshot holds the impersonated Application (sync agent
// deployer) declaring hookSecret and plainSecret, and a HelmRelease whose
// agent is helm-deployer.
func tokenSecretSnapshot(t *testing.T) *provenance.Snapshot {
	return impersonatedSnapshot(t,
		provenance.File{Path: "hooks", Transient: true, Objects: []map[string]any{object(t, hookSecret)}},
		provenance.File{Path: "shop/plain.yaml", Objects: []map[string]any{object(t, plainSecret)}})
}

// tokenFor makes a Secret a service-account-token Secret of sa, which the
// token controller then fills with sa's token.
func tokenFor(sa string) func(map[string]any) {
	return func(m map[string]any) {
		m["type"] = "kubernetes.io/service-account-token"
		md := m["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			md["annotations"] = ann
		}
		ann["kubernetes.io/service-account.name"] = sa
	}
}

// TestDeclaredSecretMintsNoAgentToken: Git backs a Secret, not whom it
// hands a token to. A create of a declared Secret as a token Secret of an
// agent's account (a field Git leaves out) is refused as agent-token, as
// an undeclared one is: by the sync agent (a hook of its Application), for
// another root's agent or its own, and by any controller; Git's own
// Secret passes.
func TestDeclaredSecretMintsNoAgentToken(t *testing.T) {
	h := agentsHandler(tokenSecretSnapshot(t))
	for _, tc := range []struct {
		name     string
		user     string
		defaults string
		req      change
		allowed  bool
	}{
		{"the hook as Git declares it", deployer, hookSecret, hookSecretChange.with(admissionv1.Create, nil), true},
		{"the hook as another root's agent's token", deployer, hookSecret, hookSecretChange.with(admissionv1.Create, tokenFor("helm-deployer")), false},
		{"the hook as the sync agent's own token", deployer, hookSecret, hookSecretChange.with(admissionv1.Create, tokenFor("deployer")), false},
		{"a controller's declared Secret as Git declares it", operator, plainSecret, plainSecretChange.with(admissionv1.Create, nil), true},
		{"a controller's declared Secret as an agent's token", operator, plainSecret, plainSecretChange.with(admissionv1.Create, tokenFor("helm-deployer")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.Defaults = fakeDefaults{obj: object(t, tc.defaults)}
			d := h.Decide(context.Background(), tc.req.admissionRequest(t, tc.user))
			if d.Allowed != tc.allowed || !tc.allowed && d.Reason != reasonAgentToken {
				t.Errorf("allowed %v (reason %s class %s), want %v\n%s", d.Allowed, d.Reason, d.Class, tc.allowed, d.Message)
			}
		})
	}
}
