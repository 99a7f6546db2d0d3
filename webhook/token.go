package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// agents included. A token makes its holder the service account, so no
// caller may mint one that lifts it to a higher class: an agent's or an
// exempt identity's token is for exempt callers alone, and a person may
// not mint a controller's token (it would escape the rules for people).
// A token only for audiences in --token-audience (a cloud's workload
// identity exchange) cannot reach the API server and is free.
func (h *Handler) handleTokenRequest(ctx context.Context, req *admission.Request, who caller, start time.Time) admission.Response {
	target, _ := h.Identities.Classify(serviceAccountUser(req.Namespace, req.Name))
	reason := tokenEscalation(who.class, target)
	if reason == "" || h.foreignAudiencesOnly(req) {
		observe(req, "allowed", provenance.ReasonSubresource, who.class, start)
		return admission.Allowed("")
	}
	preq, err := h.decode(req)
	if err != nil {
		observe(req, "error", reasonBadRequest, who.class, start)
		return admission.Errored(http.StatusBadRequest, err)
	}
	v := verdict{who: who, reason: reason, err: fmt.Errorf("service account %s/%s is %s", req.Namespace, req.Name, target)}
	return h.applyPolicy(ctx, req, preq, h.Snapshots.Load(), v, start)
}

// tokenEscalation is the refusal reason when a caller of class caller may
// not mint a token of class target, or "".
func tokenEscalation(caller, target Class) provenance.Reason {
	switch {
	case target == Agent || target == Exempt:
		return reasonAgentToken
	case target == Controller && caller == Person:
		return reasonControllerToken
	}
	return ""
}

// foreignAudiencesOnly reports a TokenRequest whose audiences are all in
// --token-audience: a token the API server does not accept.
func (h *Handler) foreignAudiencesOnly(req *admission.Request) bool {
	if len(h.TokenAudiences) == 0 {
		return false
	}
	var tr struct {
		Spec struct {
			Audiences []string `json:"audiences"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(req.Object.Raw, &tr); err != nil || len(tr.Spec.Audiences) == 0 {
		return false // no audiences: the API server's own
	}
	for _, a := range tr.Spec.Audiences {
		if !slices.Contains(h.TokenAudiences, a) {
			return false
		}
	}
	return true
}

// tokenMessage explains an agent-token or controller-token refusal.
func tokenMessage(preq *provenance.Request, who caller, reason provenance.Reason, err error) string {
	if errors.Is(err, errGitOpsObject) {
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v. Declare it in Git instead; neither the mode nor break-glass changes this.",
			preq.Operation, describeObject(preq), who.user, err)
	}
	if reason == reasonControllerToken {
		return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whoever holds its token is judged as a controller, past the rules for people. "+
			"Run the workload as that service account instead; for a cloud's workload identity, add its audience with --token-audience. Neither the mode nor break-glass changes this.",
			preq.Operation, describeObject(preq), who.user, err)
	}
	return fmt.Sprintf("gitgate denied %s of %s by %s: %v, and whoever holds its token acts as it, past every Git check. "+
		"Only exempt identities (the kubelet, the controller manager) may request it; neither the mode nor break-glass changes this.",
		preq.Operation, describeObject(preq), who.user, err)
}
