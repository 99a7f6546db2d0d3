package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// serviceAccountKinds resolves serviceaccounts, as discovery would.
type serviceAccountKinds struct{}

func (serviceAccountKinds) KindFor(schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, nil
}

func tokenRequest(user, ns, name string, audiences ...string) admission.Request {
	aud, _ := json.Marshal(audiences)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Create, Namespace: ns, Name: name, SubResource: "token",
		Kind:     metav1.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"},
		UserInfo: authenticationv1.UserInfo{Username: user},
		Object:   runtime.RawExtension{Raw: []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","metadata":{"name":"` + name + `","namespace":"` + ns + `"},"spec":{"audiences":` + string(aud) + `}}`)},
	}}
}

// TestTokenRequests: minting a token for an agent's or an exempt service
// account is refused to all but exempt callers, agents and break-glass
// holders included; a person may not mint a controller's token either; a
// token only for a foreign audience is free; the mode changes nothing.
func TestTokenRequests(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-1", Users: []string{"dev-user"}, Reason: "INC-1", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	const sts = "sts.amazonaws.com"
	tests := []struct {
		name, user, ns, sa string
		audiences          []string
		mode               Mode
		wantAllowed        bool
		wantReason         provenance.Reason
	}{
		{name: "person mints the kustomize-controller's token", user: "dev-user", ns: "flux-system", sa: "kustomize-controller", wantReason: reasonAgentToken},
		{name: "person mints Argo CD's token", user: "dev-user", ns: "argocd", sa: "argocd-application-controller", wantReason: reasonAgentToken},
		{name: "person mints an exempt controller's token", user: "dev-user", ns: "kube-system", sa: "deployment-controller", wantReason: reasonAgentToken},
		{name: "controller mints the agent's token", user: "system:serviceaccount:ci:runner", ns: "flux-system", sa: "kustomize-controller", wantReason: reasonAgentToken},
		{name: "agent mints another agent's token", user: "system:serviceaccount:flux-system:source-controller", ns: "flux-system", sa: "kustomize-controller", wantReason: reasonAgentToken},
		{name: "in audit mode too", user: "dev-user", ns: "flux-system", sa: "kustomize-controller", mode: Audit, wantReason: reasonAgentToken},
		{name: "with the API server's audience", user: "dev-user", ns: "flux-system", sa: "ecr-reader", audiences: []string{"https://kubernetes.default.svc"}, wantReason: reasonAgentToken},
		{name: "person mints an ordinary service account's token", user: "dev-user", ns: "shop", sa: "web", wantReason: reasonControllerToken},
		{name: "person mints a look-alike namespace's token", user: "dev-user", ns: "flux-system-x", sa: "kustomize-controller", wantReason: reasonControllerToken},
		{name: "a foreign audience only (workload identity)", user: "system:serviceaccount:flux-system:source-controller", ns: "flux-system", sa: "ecr-reader", audiences: []string{sts}, wantAllowed: true},
		{name: "a foreign and the API audience", user: "system:serviceaccount:flux-system:source-controller", ns: "flux-system", sa: "ecr-reader", audiences: []string{sts, "https://kubernetes.default.svc"}, wantReason: reasonAgentToken},
		{name: "controller mints an ordinary service account's token", user: "system:serviceaccount:ci:runner", ns: "shop", sa: "web", wantAllowed: true},
		{name: "kubelet mints the agent's token for its Pod", user: "system:node:worker-1", ns: "flux-system", sa: "kustomize-controller", wantAllowed: true},
		{name: "controller manager", user: "system:kube-controller-manager", ns: "flux-system", sa: "kustomize-controller", wantAllowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{snap}, Checker: fakeChecker{matches}, Kinds: serviceAccountKinds{},
				BreakGlass: grantStore(grant), Audit: recs, Now: func() time.Time { return t0 }, TokenAudiences: []string{sts}}
			if tt.mode != "" {
				h.Modes = FixedMode(tt.mode)
			}
			req := tokenRequest(tt.user, tt.ns, tt.sa, tt.audiences...)
			if tt.user == "system:node:worker-1" {
				req.UserInfo.Groups = []string{"system:nodes"}
			}
			resp := h.Handle(context.Background(), req)
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v (%s)", resp.Allowed, tt.wantAllowed, resp.Result.Message)
			}
			if tt.wantAllowed {
				return
			}
			if len(recs.list) != 1 || recs.list[0].Reason != tt.wantReason || recs.list[0].Decision != audit.Denied {
				t.Errorf("records = %+v, want one %s denial (neither the grant nor the mode may cover it)", recs.list, tt.wantReason)
			}
			if !strings.Contains(resp.Result.Message, "whoever holds its token") || !strings.Contains(resp.Result.Message, "ServiceAccount "+tt.ns+"/"+tt.sa+" (token)") {
				t.Errorf("message = %q", resp.Result.Message)
			}
		})
	}
}
