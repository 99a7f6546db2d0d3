package webhook

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

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
		{name: "a Kustomization Git does not declare", change: change{group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", resource: "kustomizations", namespace: "shop", name: "mine",
			obj: `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"mine","namespace":"shop"},"spec":{"path":"./","sourceRef":{"kind":"GitRepository","name":"evil"}}}`}},
		{name: "a GitRepository Git does not declare", change: change{group: "source.toolkit.fluxcd.io", version: "v1", kind: "GitRepository", resource: "gitrepositories", namespace: "shop", name: "evil",
			obj: `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"name":"evil","namespace":"shop"},"spec":{"url":"https://evil.example/x.git"}}`}},
		{name: "an Argo Rollouts AnalysisRun (not a GitOps object)", change: change{group: "argoproj.io", version: "v1alpha1", kind: "AnalysisRun", resource: "analysisruns", namespace: "shop", name: "web-1",
			obj: `{"apiVersion":"argoproj.io/v1alpha1","kind":"AnalysisRun","metadata":{"name":"web-1","namespace":"shop"},"spec":{"metrics":[]}}`}, wantAllowed: true},
		{name: "an Argo CD Application Git does not declare", change: change{group: "argoproj.io", version: "v1alpha1", kind: "Application", resource: "applications", namespace: "argocd", name: "evil",
			obj: `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"evil","namespace":"argocd"},"spec":{"project":"default"}}`}},
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

// TestControllerMayNotDebugTheAgent: an ephemeral container may mount any
// volume of its Pod, the service account token included, so a controller
// may not add one to a Pod that runs as an agent or exempt service
// account; to any other Pod it may (the Pod is not declared).
func TestControllerMayNotDebugTheAgent(t *testing.T) {
	pod := func(ns, sa string, debug bool) []byte {
		containers := `"ephemeralContainers":[{"name":"debugger","image":"busybox"}]`
		if !debug {
			containers = `"ephemeralContainers":[]`
		}
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"` + ns + `"},"spec":{"serviceAccountName":"` + sa +
			`","containers":[{"name":"c","image":"app"}],` + containers + `}}`)
	}
	tests := []struct {
		name, ns, sa string
		wantAllowed  bool
	}{
		{name: "kustomize-controller's Pod", ns: "flux-system", sa: "kustomize-controller"},
		{name: "source-controller's Pod", ns: "flux-system", sa: "source-controller"},
		{name: "a Pod of an exempt service account", ns: "kube-system", sa: "deployment-controller"},
		{name: "an ordinary Pod", ns: "shop", sa: "web", wantAllowed: true},
	}
	snapshot := gitSnapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot}, Kinds: podKinds{},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs}
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				UID: "uid-1", Operation: admissionv1.Update, Namespace: tt.ns, Name: "p", SubResource: "ephemeralcontainers",
				Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				UserInfo:  authenticationv1.UserInfo{Username: operator, Groups: []string{"system:serviceaccounts", "system:authenticated"}},
				OldObject: runtime.RawExtension{Raw: pod(tt.ns, tt.sa, false)},
				Object:    runtime.RawExtension{Raw: pod(tt.ns, tt.sa, true)},
			}}
			resp := h.Handle(context.Background(), req)
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.wantAllowed, resp.Result.Message)
			}
			if !tt.wantAllowed && (len(recs.list) != 1 || recs.list[0].Reason != reasonAgentToken) {
				t.Errorf("records = %+v, want one agent-token refusal", recs.list)
			}
		})
	}
}

// podKinds maps the pods resource to its kind, as discovery would.
type podKinds struct{}

func (podKinds) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, nil
}
