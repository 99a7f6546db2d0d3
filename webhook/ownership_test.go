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
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// ownedDeployment is declaredDeployment as stored, with the agent's
// managedFields entry and, after the patch, the edits of the case.
func ownedDeployment(t *testing.T, managedFields string, annotations string) []byte {
	t.Helper()
	js := strings.Replace(declaredDeployment, `"labels":{"app":"web"}},`,
		`"labels":{"app":"web"},"resourceVersion":"7","managedFields":`+managedFields+annotations+`},`, 1)
	return []byte(js)
}

const (
	agentManaged = `[{"manager":"kustomize-controller","operation":"Apply","apiVersion":"apps/v1","fieldsType":"FieldsV1",` +
		`"fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}}]`
	// strippedManaged is the agent's entry without the container: kubectl
	// patch --type=json on /metadata/managedFields.
	strippedManaged = `[{"manager":"kustomize-controller","operation":"Apply","apiVersion":"apps/v1","fieldsType":"FieldsV1",` +
		`"fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{}}}}]`
	annotatedManaged = `[{"manager":"kustomize-controller","operation":"Apply","apiVersion":"apps/v1","fieldsType":"FieldsV1",` +
		`"fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{},"f:name":{}}}}}}}},` +
		`{"manager":"kubectl-annotate","operation":"Update","apiVersion":"apps/v1","fieldsType":"FieldsV1",` +
		`"fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}}]`
)

func ownershipRequest(manager string, old, obj []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Update, Namespace: "shop", Name: "web",
		Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		UserInfo:  authenticationv1.UserInfo{Username: "dev-user", Groups: []string{"system:authenticated"}},
		OldObject: runtime.RawExtension{Raw: old}, Object: runtime.RawExtension{Raw: obj},
		Options: runtime.RawExtension{Raw: []byte(`{"kind":"PatchOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + manager + `"}`)},
	}}
}

// TestOwnershipRefusals: a rewrite of the agent's field ownership is
// refused in every mode and past every grant, since it outlives both; a
// last-applied record of something else than Git is an ordinary refusal,
// which a grant or warn mode lets through.
func TestOwnershipRefusals(t *testing.T) {
	snap := gitSnapshot(t)
	grant := breakglass.Grant{Name: "inc-42", Users: []string{"dev-user"}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	dropped := ownershipRequest("kubectl-patch", ownedDeployment(t, agentManaged, ""), ownedDeployment(t, strippedManaged, ""))
	recorded := ownershipRequest("kubectl-annotate", ownedDeployment(t, agentManaged, ""),
		ownedDeployment(t, annotatedManaged, `,"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"kind\":\"Deployment\"}"}`))
	for _, tc := range []struct {
		name        string
		req         admission.Request
		edit        func(*Handler)
		want        Decision
		wantMessage string
	}{
		{name: "ownership dropped", req: dropped,
			want:        Decision{Outcome: "denied", Reason: provenance.ReasonManagedFields, Class: Person},
			wantMessage: `[managed-fields] gitgate denied UPDATE of apps/Deployment shop/web by dev-user: Git declares this object in main@sha1:0123456789abcdef0123456789abcdef01234567, file shop/web.yaml, and who owns its fields (metadata.managedFields) decides what a later removal from Git leaves behind: the request takes .spec.template.spec.containers[name="web"] from field manager "kustomize-controller" (Apply) without changing it. Neither the mode nor break-glass changes this.`},
		{name: "ownership dropped, warn mode", req: dropped, edit: func(h *Handler) { h.Modes = FixedMode(Warn) },
			want: Decision{Outcome: "denied", Reason: provenance.ReasonManagedFields, Class: Person}, wantMessage: "[managed-fields]"},
		{name: "ownership dropped, under a grant", req: dropped, edit: func(h *Handler) { h.BreakGlass = grantStore(grant) },
			want: Decision{Outcome: "denied", Reason: provenance.ReasonManagedFields, Class: Person}, wantMessage: "[managed-fields]"},
		{name: "another manifest recorded", req: recorded,
			want:        Decision{Outcome: "denied", Reason: provenance.ReasonLastApplied, Class: Person},
			wantMessage: "[last-applied] gitgate denied UPDATE of apps/Deployment shop/web by dev-user: Git declares this object in main@sha1:0123456789abcdef0123456789abcdef01234567, file shop/web.yaml: kubectl's kubectl.kubernetes.io/last-applied-configuration records another manifest than Git's"},
		{name: "another manifest recorded, under a grant", req: recorded, edit: func(h *Handler) { h.BreakGlass = grantStore(grant) },
			want: Decision{Allowed: true, Outcome: "break-glass", Reason: provenance.ReasonLastApplied, Class: Person}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig := compiledIgnores(t)
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snap},
				Checker: &provenance.Checker{Ignores: ig}, Controllers: ControllerChecker(ig),
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: &records{}, Now: func() time.Time { return t0 }}
			if tc.edit != nil {
				tc.edit(h)
			}
			d := h.Decide(context.Background(), tc.req)
			if d.Allowed != tc.want.Allowed || d.Outcome != tc.want.Outcome || d.Reason != tc.want.Reason || d.Class != tc.want.Class {
				t.Errorf("Decide = %v %s %s %s, want %v %s %s %s\n%s", d.Allowed, d.Outcome, d.Reason, d.Class,
					tc.want.Allowed, tc.want.Outcome, tc.want.Reason, tc.want.Class, d.Message)
			}
			if !strings.Contains(d.Message, tc.wantMessage) {
				t.Errorf("message lacks %q:\n%s", tc.wantMessage, d.Message)
			}
		})
	}
}
