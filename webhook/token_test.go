package webhook

import (
	"context"
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
)

// serviceAccountKinds resolves serviceaccounts, as discovery would.
type serviceAccountKinds struct{}

func (serviceAccountKinds) KindFor(schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, nil
}

func tokenRequest(user, ns, name string) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Create, Namespace: ns, Name: name, SubResource: "token",
		Kind:     metav1.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"},
		UserInfo: authenticationv1.UserInfo{Username: user},
		Object:   runtime.RawExtension{Raw: []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","metadata":{"name":"` + name + `","namespace":"` + ns + `"},"spec":{"audiences":["https://kubernetes.default.svc"]}}`)},
	}}
}

// TestTokenRequests: minting a token for an agent's or an exempt service
// account is refused to all but exempt callers, agents and break-glass
// holders included; any other service account's token is not gitgate's.
func TestTokenRequests(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-1", Users: []string{"dev-user"}, Reason: "INC-1", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		name, user, ns, sa string
		wantAllowed        bool
	}{
		{name: "person mints the kustomize-controller's token", user: "dev-user", ns: "flux-system", sa: "kustomize-controller"},
		{name: "person mints Argo CD's token", user: "dev-user", ns: "argocd", sa: "argocd-application-controller"},
		{name: "person mints an exempt controller's token", user: "dev-user", ns: "kube-system", sa: "deployment-controller"},
		{name: "controller mints the agent's token", user: "system:serviceaccount:ci:runner", ns: "flux-system", sa: "kustomize-controller"},
		{name: "agent mints another agent's token", user: "system:serviceaccount:flux-system:source-controller", ns: "flux-system", sa: "kustomize-controller"},
		{name: "kubelet mints the agent's token for its Pod", user: "system:node:worker-1", ns: "flux-system", sa: "kustomize-controller", wantAllowed: true},
		{name: "controller manager", user: "system:kube-controller-manager", ns: "flux-system", sa: "kustomize-controller", wantAllowed: true},
		{name: "person mints an ordinary service account's token", user: "dev-user", ns: "shop", sa: "web", wantAllowed: true},
		{name: "person mints a look-alike namespace's token", user: "dev-user", ns: "flux-system-x", sa: "kustomize-controller", wantAllowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{snap}, Checker: fakeChecker{matches}, Kinds: serviceAccountKinds{},
				BreakGlass: grantStore(grant), Audit: recs, Now: func() time.Time { return t0 }}
			req := tokenRequest(tt.user, tt.ns, tt.sa)
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
			if len(recs.list) != 1 || recs.list[0].Reason != reasonAgentToken || recs.list[0].Decision != audit.Denied {
				t.Errorf("records = %+v, want one agent-token denial (the grant must not cover it)", recs.list)
			}
			if !strings.Contains(resp.Result.Message, "whoever holds its token acts as it") || !strings.Contains(resp.Result.Message, "ServiceAccount "+tt.ns+"/"+tt.sa+" (token)") {
				t.Errorf("message = %q", resp.Result.Message)
			}
		})
	}
}
