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

	"github.com/gitgate/gitgate/provenance"
)

// Argo CD's own identities, as gitgate's defaults name them.
const (
	appSetController = "system:serviceaccount:argocd:argocd-applicationset-controller"
	notifications    = "system:serviceaccount:argocd:argocd-notifications-controller"
	argoServer       = "system:serviceaccount:argocd:argocd-server"

	// generatedApplication is an Application an ApplicationSet generated:
	// no Git declares it, its ApplicationSet controls it.
	generatedApplication = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"shop-eu","namespace":"argocd",
		"ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationSet","name":"shops","uid":"appset-uid","controller":true,"blockOwnerDeletion":true}]},
		"spec":{"project":"default","source":{"repoURL":"https://git.example/fleet.git","targetRevision":"main","path":"shop/eu"},
		"destination":{"server":"https://kubernetes.default.svc","namespace":"shop-eu"}}}`
	// declaredAppProject carries an annotation Git declares.
	declaredAppProject = `{"apiVersion":"argoproj.io/v1alpha1","kind":"AppProject","metadata":{"name":"shop","namespace":"argocd","annotations":{"owner":"team-shop"}},
		"spec":{"sourceRepos":["https://git.example/fleet.git"],"destinations":[{"namespace":"shop","server":"https://kubernetes.default.svc"}]}}`
)

var (
	generatedChange  = change{group: "argoproj.io", version: "v1alpha1", kind: "Application", resource: "applications", namespace: "argocd", name: "shop-eu", obj: generatedApplication}
	appProjectChange = change{group: "argoproj.io", version: "v1alpha1", kind: "AppProject", resource: "appprojects", namespace: "argocd", name: "shop", obj: declaredAppProject}
	// ownedDeclaredChange is the Application Git declares, live with an
	// ApplicationSet as its controller.
	ownedDeclaredChange = change{group: "argoproj.io", version: "v1alpha1", kind: "Application", resource: "applications", namespace: "argocd", name: "shop",
		obj: strings.Replace(declaredApplication, `"namespace":"argocd"},`,
			`"namespace":"argocd","ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationSet","name":"shops","uid":"u","controller":true}]},`, 1)}
	undeclaredProject = change{group: "argoproj.io", version: "v1alpha1", kind: "AppProject", resource: "appprojects", namespace: "argocd", name: "team-b",
		obj: `{"apiVersion":"argoproj.io/v1alpha1","kind":"AppProject","metadata":{"name":"team-b","namespace":"argocd"},"spec":{"sourceRepos":["*"]}}`}
)

// argoSnapshot declares what agentPathSnapshot does, the Deployment
// shop/web, and the AppProject argocd/shop.
func argoSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	var objs []map[string]any
	for _, js := range []string{declaredFluxDeployment, declaredGitRepository, declaredKustomization, declaredApplication, declaredDeployment, declaredAppProject} {
		objs = append(objs, object(t, js))
	}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{{Path: "fleet.yaml", Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Snapshot()
}

// syncOperation sets an Application's operation to a sync with these
// fields, as argocd-server writes it.
func syncOperation(sync map[string]any) func(map[string]any) {
	return setPath([]string{"operation"}, map[string]any{"sync": sync, "initiatedBy": map[string]any{"username": "admin"}})
}

func both(edits ...func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) {
		for _, e := range edits {
			e(m)
		}
	}
}

// scopedCase is one request of an Argo CD identity, judged in warn mode:
// outcome allowed (Git or the identity backs it), warned (an ordinary
// refusal) or denied (a hard one: no mode, no grant).
type scopedCase struct {
	name        string
	user        string
	change      change
	wantOutcome string
	wantReason  provenance.Reason
	wantClass   Class
}

// TestArgoCDIdentities: the ApplicationSet controller is the agent for
// the Applications its ApplicationSets control and for nothing else; the
// notifications controller may change Applications' and AppProjects'
// annotations and nothing else of them; argocd-server writes as the
// person it writes for, with a plain sync of any Application allowed.
func TestArgoCDIdentities(t *testing.T) {
	var cases []scopedCase
	cases = append(cases, appSetCases()...)
	cases = append(cases, notificationsCases()...)
	cases = append(cases, argoServerCases()...)
	snapshot := argoSnapshot(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Fields: provenance.FieldsStrict}, Controllers: ControllerChecker(nil),
				Modes: FixedMode(Warn), Audit: &records{}, Now: func() time.Time { return t0 }}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if d.Outcome != tc.wantOutcome || d.Reason != tc.wantReason || d.Class != tc.wantClass {
				t.Fatalf("outcome %s reason %s class %s, want %s %s %s\n%s", d.Outcome, d.Reason, d.Class, tc.wantOutcome, tc.wantReason, tc.wantClass, d.Message)
			}
		})
	}
}

func appSetCases() []scopedCase {
	owner := []string{"metadata", "ownerReferences"}
	appSetOwner := []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "shops", "uid": "u", "controller": true}}
	return []scopedCase{
		{"appset creates a generated Application", appSetController, generatedChange.with(admissionv1.Create, nil), outcomeAllowed, reasonAgent, Agent},
		{"appset points a generated Application elsewhere", appSetController,
			generatedChange.with(admissionv1.Update, setPath([]string{"spec", "source", "path"}, "shop/us")), outcomeAllowed, reasonAgent, Agent},
		{"appset deletes a generated Application", appSetController, generatedChange.with(admissionv1.Delete, nil), outcomeAllowed, reasonAgent, Agent},
		{"appset starts a plain sync (progressive sync)", appSetController,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{})), outcomeAllowed, reasonAgent, Agent},
		{"appset asks for a sync of inline manifests", appSetController,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{"manifests": []any{"kind: Pod"}})), "denied", reasonAgentToken, Controller},
		{"appset asks for a sync of another revision", appSetController,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{"revision": "evil"})), "denied", reasonAgentToken, Controller},
		{"appset creates an Application no ApplicationSet controls", appSetController,
			generatedChange.with(admissionv1.Create, setPath(owner, nil)), "denied", reasonAgentToken, Controller},
		{"appset creates an Application owned, not controlled, by an ApplicationSet", appSetController,
			generatedChange.with(admissionv1.Create, setPath(owner, []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "s", "uid": "u"}})),
			"denied", reasonAgentToken, Controller},
		{"appset creates an Application a Deployment controls", appSetController,
			generatedChange.with(admissionv1.Create, setPath(owner, []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u", "controller": true}})),
			"denied", reasonAgentToken, Controller},
		{"appset frees a generated Application of its ApplicationSet", appSetController,
			generatedChange.with(admissionv1.Update, setPath(owner, nil)), "denied", reasonAgentToken, Controller},
		{"appset takes over a declared Application", appSetController,
			applicationChange.with(admissionv1.Update, setPath(owner, appSetOwner)), "warned", provenance.ReasonUndeclared, Controller},
		{"appset points a declared Application an ApplicationSet controls elsewhere", appSetController,
			ownedDeclaredChange.with(admissionv1.Update, setPath([]string{"spec", "source", "path"}, "evil")), "denied", reasonAgentToken, Controller},
		{"appset points a declared Application elsewhere", appSetController,
			applicationChange.with(admissionv1.Update, setPath([]string{"spec", "source", "repoURL"}, "https://evil.example/x.git")), "denied", reasonAgentToken, Controller},
		{"appset deletes a declared Application", appSetController, applicationChange.with(admissionv1.Delete, nil), "warned", provenance.ReasonManagedDelete, Controller},
		{"appset creates a Kustomization an ApplicationSet controls", appSetController,
			newObject("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", "argocd", "k",
				`{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"k","namespace":"argocd","ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"ApplicationSet","name":"s","uid":"u","controller":true}]},"spec":{"path":"./"}}`),
			"denied", reasonAgentToken, Controller},
		{"appset changes a declared Deployment's image", appSetController, deploymentChange.with(admissionv1.Update, setImage), "warned", provenance.ReasonFieldMismatch, Controller},
		{"appset runs a Pod as kustomize-controller", appSetController, agentPathCases()[0].change, "denied", reasonAgentToken, Controller},
		{"a controller runs a Pod as the appset controller", operator,
			newObject("", "v1", "Pod", "pods", "argocd", "p", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"argocd"},"spec":{"serviceAccountName":"argocd-applicationset-controller","containers":[{"name":"c","image":"busybox"}]}}`),
			"denied", reasonAgentToken, Controller},
		{"a person creates the appset's token Secret", dev,
			newObject("", "v1", "Secret", "secrets", "argocd", "tok", `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"tok","namespace":"argocd","annotations":{"kubernetes.io/service-account.name":"argocd-applicationset-controller"}}}`),
			"denied", reasonAgentToken, Person},
		{"a person's generated Application", dev, generatedChange.with(admissionv1.Create, nil), "denied", reasonAgentToken, Person},
	}
}

func notificationsCases() []scopedCase {
	notified := setPath([]string{"metadata", "annotations", "notified.notifications.argoproj.io"}, `{"on-sync-succeeded:slack":1}`)
	return []scopedCase{
		{"notifications annotates a generated Application", notifications, generatedChange.with(admissionv1.Update, notified), outcomeAllowed, reasonAnnotations, Controller},
		{"notifications annotates a declared Application", notifications, applicationChange.with(admissionv1.Update, notified), outcomeAllowed, reasonAnnotations, Controller},
		{"notifications annotates an undeclared AppProject", notifications, undeclaredProject.with(admissionv1.Update, notified), outcomeAllowed, reasonAnnotations, Controller},
		{"notifications changes an annotation Git declares", notifications,
			appProjectChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations", "owner"}, "mallory")), "warned", provenance.ReasonFieldMismatch, Controller},
		{"notifications labels a generated Application", notifications,
			generatedChange.with(admissionv1.Update, both(notified, setPath([]string{"metadata", "labels", "x"}, "y"))), "denied", reasonAgentToken, Controller},
		{"notifications adds a finalizer to a generated Application", notifications,
			generatedChange.with(admissionv1.Update, setPath([]string{"metadata", "finalizers"}, []any{"resources-finalizer.argocd.argoproj.io"})), "denied", reasonAgentToken, Controller},
		{"notifications changes a generated Application's spec", notifications,
			generatedChange.with(admissionv1.Update, both(notified, setPath([]string{"spec", "source", "path"}, "evil"))), "denied", reasonAgentToken, Controller},
		{"notifications starts a sync of a generated Application", notifications,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{})), "denied", reasonAgentToken, Controller},
		{"notifications creates an Application", notifications, generatedChange.with(admissionv1.Create, nil), "denied", reasonAgentToken, Controller},
		{"notifications annotates a Kustomization no Git declares", notifications,
			newObject("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", "argocd", "k", `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"k","namespace":"argocd"},"spec":{"path":"./"}}`).
				with(admissionv1.Update, notified), "denied", reasonAgentToken, Controller},
	}
}

func argoServerCases() []scopedCase {
	plain := syncOperation(map[string]any{"revision": "main", "prune": true})
	return []scopedCase{
		{"argocd-server syncs a generated Application", argoServer, generatedChange.with(admissionv1.Update, plain), outcomeAllowed, reasonPlainSync, Person},
		{"argocd-server syncs a declared Application", argoServer, applicationChange.with(admissionv1.Update, plain), outcomeAllowed, reasonPlainSync, Person},
		{"argocd-server terminates a generated Application's sync (status only)", argoServer,
			generatedChange.with(admissionv1.Update, setPath([]string{"status", "operationState", "phase"}, "Terminating")), outcomeAllowed, reasonPlainSync, Person},
		{"argocd-server rolls a generated Application back (argocd app rollback)", argoServer,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{"revision": "0123456789abcdef0123456789abcdef01234567"})), "denied", reasonAgentToken, Person},
		{"argocd-server refreshes a generated Application", argoServer,
			generatedChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations", "argocd.argoproj.io/refresh"}, "hard")), outcomeAllowed, reasonAnnotations, Person},
		{"argocd-server syncs inline manifests", argoServer,
			applicationChange.with(admissionv1.Update, syncOperation(map[string]any{"manifests": []any{"kind: Pod"}})), "denied", reasonAgentToken, Person},
		{"argocd-server syncs another revision", argoServer,
			generatedChange.with(admissionv1.Update, syncOperation(map[string]any{"revision": "evil"})), "denied", reasonAgentToken, Person},
		{"argocd-server syncs another source", argoServer,
			applicationChange.with(admissionv1.Update, syncOperation(map[string]any{"source": map[string]any{"repoURL": "https://evil.example/x.git"}})), "denied", reasonAgentToken, Person},
		{"argocd-server syncs and edits the spec at once", argoServer,
			applicationChange.with(admissionv1.Update, both(plain, setPath([]string{"spec", "source", "path"}, "evil"))), "denied", reasonAgentToken, Person},
		{"argocd-server edits a declared Application's source (argocd app set)", argoServer,
			applicationChange.with(admissionv1.Update, setPath([]string{"spec", "source", "repoURL"}, "https://evil.example/x.git")), "denied", reasonAgentToken, Person},
		{"argocd-server turns a declared Application's automated sync off", argoServer,
			applicationChange.with(admissionv1.Update, setPath([]string{"spec", "syncPolicy", "automated"}, nil)), "warned", provenance.ReasonFieldMismatch, Person},
		{"argocd-server patches a declared Deployment's image (argocd app patch-resource)", argoServer,
			deploymentChange.with(admissionv1.Update, setImage), "warned", provenance.ReasonFieldMismatch, Person},
		{"argocd-server annotates a declared Deployment (strict fields)", argoServer,
			deploymentChange.with(admissionv1.Update, annotate), "warned", provenance.ReasonUndeclared, Person},
		{"argocd-server creates a Pod (a resource action)", argoServer,
			newObject("", "v1", "Pod", "pods", "shop", "p", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`),
			"denied", reasonControllerToken, Person},
		{"a person's plain sync of a generated Application (not through argocd-server)", dev, generatedChange.with(admissionv1.Update, plain), "denied", reasonAgentToken, Person},
	}
}

// TestArgoCDIdentityTokens: the ApplicationSet controller's token is an
// agent's, whoever asks for it; argocd-server's stays a controller's, so
// a person may not mint it to be judged as argocd-server.
func TestArgoCDIdentityTokens(t *testing.T) {
	for _, tc := range []struct {
		user, sa   string
		wantReason provenance.Reason
	}{
		{operator, "argocd-applicationset-controller", reasonAgentToken},
		{dev, "argocd-applicationset-controller", reasonAgentToken},
		{dev, "argocd-server", reasonControllerToken},
		{dev, "argocd-notifications-controller", reasonControllerToken},
		{argoServer, "argocd-repo-server", reasonControllerToken},
	} {
		h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{argoSnapshot(t)}, Checker: &provenance.Checker{}, Kinds: serviceAccountKinds{},
			Modes: FixedMode(Warn), Audit: &records{}, Now: func() time.Time { return t0 }}
		req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			UID: "uid-1", Operation: admissionv1.Create, Namespace: "argocd", Name: tc.sa, SubResource: "token",
			Kind:     metav1.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"},
			UserInfo: authenticationv1.UserInfo{Username: tc.user},
			Object:   runtime.RawExtension{Raw: []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`)},
		}}
		if d := h.Decide(context.Background(), req); d.Allowed || d.Reason != tc.wantReason {
			t.Errorf("%s mints %s's token: allowed %v reason %s, want refused %s", tc.user, tc.sa, d.Allowed, d.Reason, tc.wantReason)
		}
	}
}

// TestPeopleProxyDenialSaysWhy: a denial of argocd-server's write says it
// was judged as the person it writes for.
func TestPeopleProxyDenialSaysWhy(t *testing.T) {
	h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{argoSnapshot(t)}, Checker: &provenance.Checker{},
		Controllers: ControllerChecker(nil), Audit: &records{}, Now: func() time.Time { return t0 }}
	d := h.Decide(context.Background(), deploymentChange.with(admissionv1.Update, setImage).admissionRequest(t, argoServer))
	if d.Allowed || !strings.Contains(d.Message, "judged as a person: it writes what people ask of it (it matches --people-proxy system:serviceaccount:argocd:argocd-server)") {
		t.Errorf("allowed %v, message %q", d.Allowed, d.Message)
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Scope
		wantErr string
	}{
		{in: "system:serviceaccount:argocd:argocd-applicationset-controller=argoproj.io/Application",
			want: Scope{Subject: "system:serviceaccount:argocd:argocd-applicationset-controller", Group: "argoproj.io", Kind: "Application"}},
		{in: "system:serviceaccount:*:notifier=/ConfigMap", want: Scope{Subject: "system:serviceaccount:*:notifier", Group: "", Kind: "ConfigMap"}},
		{in: "odd=name=argoproj.io/AppProject", want: Scope{Subject: "odd=name", Group: "argoproj.io", Kind: "AppProject"}},
		{in: "argoproj.io/Application", wantErr: "is not SUBJECT=GROUP/KIND"},
		{in: "=argoproj.io/Application", wantErr: "the subject (a user pattern) must not be empty"},
		{in: "x=argoproj.io", wantErr: "is not GROUP/KIND"},
		{in: "x=argoproj.io/applications", wantErr: "is not GROUP/KIND"},
		{in: "x=Argo_Proj/Application", wantErr: "is not an API group"},
		{in: "x=argoproj.io/Application/status", wantErr: "is not GROUP/KIND"},
	} {
		got, err := ParseScope(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseScope(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want || got.String() != tc.in):
			t.Errorf("ParseScope(%q) = %v (%s), %v; want %v", tc.in, got, got, err, tc.want)
		}
	}
}

func TestDefaultScopes(t *testing.T) {
	for _, values := range [][]string{DefaultAgentFor, DefaultAnnotators} {
		if _, err := ParseScopes(values); err != nil {
			t.Error(err)
		}
	}
	ids := DefaultIdentities()
	if err := ids.Validate(); err != nil {
		t.Error(err)
	}
	ids.PeopleProxies = append(ids.PeopleProxies, " ")
	ids.AgentFor = append(ids.AgentFor, Scope{Group: "argoproj.io", Kind: "Application"})
	err := ids.Validate()
	for _, want := range []string{"--people-proxy must not be empty", "--agent-for must not be empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
}

// TestServiceAccountClass: whose token is whose, for tokens, Pods and
// exec: a scoped agent's is an agent's, a people proxy's a controller's.
func TestServiceAccountClass(t *testing.T) {
	ids := DefaultIdentities()
	for _, tc := range []struct {
		ns, name string
		want     Class
	}{
		{"argocd", "argocd-application-controller", Agent},
		{"argocd", "argocd-applicationset-controller", Agent},
		{"argocd", "argocd-server", Controller},
		{"argocd", "argocd-notifications-controller", Controller},
		{"argo", "argocd-applicationset-controller", Controller},
		{"flux-system", "default", Agent},
		{"kube-system", "default", Exempt},
		{"shop", "default", Controller},
	} {
		if got := ids.serviceAccountClass(tc.ns, tc.name); got != tc.want {
			t.Errorf("serviceAccountClass(%s, %s) = %s, want %s", tc.ns, tc.name, got, tc.want)
		}
	}
}

func TestGlobPrefix(t *testing.T) {
	for _, tc := range []struct {
		pattern, prefix string
		want            bool
	}{
		{"system:serviceaccount:flux-system:*", "system:serviceaccount:flux-system:", true},
		{"system:serviceaccount:flux-system:*", "system:serviceaccount:shop:", false},
		{"system:serviceaccount:argocd:argocd-application-controller", "system:serviceaccount:argocd:", true},
		{"system:serviceaccount:argocd:argocd-application-controller", "system:serviceaccount:argo:", false},
		{"system:serviceaccount:*:gitops-reconciler", "system:serviceaccount:team-a:", true},
		{"system:serviceaccount:*", "system:serviceaccount:shop:", true},
		{"system:serviceaccount:kube-system:*", "system:serviceaccount:kube-systemx:", false},
		{"system:serviceaccount:flux-*", "system:serviceaccount:flux-system:", true},
		{"argo-*", "system:serviceaccount:argocd:", false},
		{"*", "anything", true},
		{"", "", true},
		{"", "x", false},
		{"ab", "abc", false},
	} {
		if got := globPrefix(tc.pattern, tc.prefix); got != tc.want {
			t.Errorf("globPrefix(%q, %q) = %v, want %v", tc.pattern, tc.prefix, got, tc.want)
		}
	}
}
