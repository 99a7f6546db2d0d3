package webhook

import (
	"context"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// isTokenRequest reports a TokenRequest: CREATE serviceaccounts/token.
func isTokenRequest(req *admission.Request) bool {
	return req.Resource.Group == "" && req.Resource.Resource == "serviceaccounts" && req.SubResource == "token"
}

// serviceAccountUser is the identity a token for service account ns/name
// carries, as the API server authenticates it.
func serviceAccountUser(ns, name string) authenticationv1.UserInfo {
	return authenticationv1.UserInfo{
		Username: "system:serviceaccount:" + ns + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
}

// handleTokenRequest decides a TokenRequest of a caller that is not exempt,
// agents included: minting a token for an agent or exempt service account
// is refused; any other service account's token is not gitgate's concern.
func (h *Handler) handleTokenRequest(ctx context.Context, req *admission.Request, who caller, start time.Time) admission.Response {
	op := string(req.Operation)
	target, _ := h.Identities.Classify(serviceAccountUser(req.Namespace, req.Name))
	if target != Agent && target != Exempt {
		observe(op, "allowed", provenance.ReasonSubresource, who.class, start)
		return admission.Allowed("")
	}
	preq, err := h.decode(req)
	if err != nil {
		observe(op, "error", reasonBadRequest, who.class, start)
		return admission.Errored(http.StatusBadRequest, err)
	}
	v := verdict{who: who, reason: reasonAgentToken, err: fmt.Errorf("service account %s/%s is %s", req.Namespace, req.Name, target)}
	return h.applyPolicy(ctx, req, preq, h.Snapshots.Load(), v, start)
}

// agentTokenMessage explains an agent-token refusal.
func agentTokenMessage(preq *provenance.Request, who caller, err error) string {
	return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whoever holds its token acts as it, past every Git check. "+
		"Only exempt identities (the kubelet, the controller manager) may request it; break-glass never covers this.",
		preq.Operation, describeObject(preq), who.user, err)
}
