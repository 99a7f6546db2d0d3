package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
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

// fakeSecrets holds the token Secrets of the tests by namespace/name: the
// service account each is for ("" for an ordinary Secret); a name it does
// not hold does not exist. It counts the lookups.
type fakeSecrets struct {
	tokens map[string]string
	err    error
	mu     sync.Mutex
	asked  []string
}

func (f *fakeSecrets) TokenOf(ctx context.Context, ns, name string) (string, bool, error) {
	f.mu.Lock()
	f.asked = append(f.asked, ns+"/"+name)
	f.mu.Unlock()
	if f.err != nil {
		return "", false, f.err
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	sa, ok := f.tokens[ns+"/"+name]
	return sa, ok, nil
}

// slowSecrets answers only when the context ends.
type slowSecrets struct{}

func (slowSecrets) TokenOf(ctx context.Context, _, _ string) (string, bool, error) {
	<-ctx.Done()
	return "", false, ctx.Err()
}

// clusterSecrets: the token Secrets of Argo CD's application controller
// (an agent), of the operator ops/operator (a controller where
// --controller names ops), and ordinary Secrets.
func clusterSecrets() *fakeSecrets {
	return &fakeSecrets{tokens: map[string]string{
		"argocd/app-controller-long-lived": "argocd-application-controller",
		"argocd/argocd-secret":             "",
		"ops/operator-token":               "operator",
		"ops/db":                           "",
		"shop/db":                          "",
	}}
}

// podMounting is a Pod in ns running as sa whose container takes Secret
// secret through how: a volume, a projected volume, env or envFrom.
func podMounting(ns, sa, how, secret string) change {
	spec := `"serviceAccountName":"` + sa + `","containers":[{"name":"c","image":"busybox"}]`
	switch how {
	case "volume":
		spec += `,"volumes":[{"name":"t","secret":{"secretName":"` + secret + `"}}]`
	case "projected":
		spec += `,"volumes":[{"name":"t","projected":{"sources":[{"configMap":{"name":"cm"}},{"secret":{"name":"` + secret + `"}}]}}]`
	case "env":
		spec = `"serviceAccountName":"` + sa + `","containers":[{"name":"c","image":"busybox","env":[{"name":"T","valueFrom":{"secretKeyRef":{"name":"` + secret + `","key":"token"}}}]}]`
	case "envFrom":
		spec = `"serviceAccountName":"` + sa + `","initContainers":[{"name":"i","image":"busybox","envFrom":[{"secretRef":{"name":"` + secret + `"}}]}],"containers":[{"name":"c","image":"busybox"}]`
	}
	return newObject("", "v1", "Pod", "pods", ns, "p", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"`+ns+`"},"spec":{`+spec+`}}`)
}

// deploymentMounting is podMounting's Pod as a Deployment's template.
func deploymentMounting(ns, sa, secret string) change {
	return newObject("apps", "v1", "Deployment", "deployments", ns, "d", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"`+ns+`"},
		"spec":{"selector":{"matchLabels":{"a":"d"}},"template":{"metadata":{"labels":{"a":"d"}},"spec":{"serviceAccountName":"`+sa+`",
		"containers":[{"name":"c","image":"busybox"}],"volumes":[{"name":"t","secret":{"secretName":"`+secret+`"}}]}}}}`)
}

// TestTokenSecretByName: a Pod that references a service account's token
// Secret by name holds its token, whatever it runs as: an agent's is
// refused to everyone (agent-token), a controller's Pod to a person
// (controller-token), in warn mode and under a grant alike. Secrets are
// looked up only in namespaces whose service accounts could make the
// refusal hard, and one that cannot be read is refused (secret-unknown).
func TestTokenSecretByName(t *testing.T) {
	operators := DefaultIdentities()
	operators.ControllerUsers = []string{"system:serviceaccount:ops:operator"}
	failing := func() Secrets { return &fakeSecrets{err: errors.New("secrets is forbidden")} }
	slow := func() Secrets { return slowSecrets{} }
	for _, tc := range []struct {
		name    string
		ids     Identities
		user    string
		change  change
		secrets func() Secrets
		// wantHard is the hard refusal, "" an ordinary outcome (allowed or
		// warned); wantAsked the lookups made.
		wantHard  provenance.Reason
		wantAsked []string
	}{
		{"a person's Pod mounts a controller's token Secret", operators, dev, podMounting("ops", "web", "volume", "operator-token"), nil, reasonControllerToken, []string{"ops/operator-token"}},
		{"... through a projected volume", operators, dev, podMounting("ops", "web", "projected", "operator-token"), nil, reasonControllerToken, []string{"ops/operator-token"}},
		{"... through env", operators, dev, podMounting("ops", "web", "env", "operator-token"), nil, reasonControllerToken, []string{"ops/operator-token"}},
		{"... through an init container's envFrom", operators, dev, podMounting("ops", "web", "envFrom", "operator-token"), nil, reasonControllerToken, []string{"ops/operator-token"}},
		{"a person's Pod mounts an ordinary Secret", operators, dev, podMounting("ops", "web", "volume", "db"), nil, "", []string{"ops/db"}},
		{"a person's Pod where no service account is above a person: no lookup", operators, dev, podMounting("shop", "web", "volume", "db"), nil, "", nil},
		{"a person's Pod mounts a Secret not there yet, named like a controller's token", operators, dev, podMounting("ops", "web", "volume", "operator-token-x7k2p"), nil, reasonControllerToken, []string{"ops/operator-token-x7k2p"}},
		{"a person's Deployment mounts a controller's token Secret: ordinary, no lookup", operators, dev, deploymentMounting("ops", "web", "operator-token"), nil, "", nil},
		{"a person's Deployment mounts the agent's token Secret", DefaultIdentities(), dev, deploymentMounting("argocd", "argocd-repo-server", "app-controller-long-lived"), nil, reasonAgentToken, []string{"argocd/app-controller-long-lived"}},
		{"a controller's Pod mounts the agent's token Secret", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "app-controller-long-lived"), nil, reasonAgentToken, []string{"argocd/app-controller-long-lived"}},
		{"a controller's Pod reads the agent's token through env", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "env", "app-controller-long-lived"), nil, reasonAgentToken, []string{"argocd/app-controller-long-lived"}},
		{"a controller's Pod mounts an ordinary Secret of an agent's namespace", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "argocd-secret"), nil, "", []string{"argocd/argocd-secret"}},
		{"a controller's Pod mounts a Secret not there yet, named like the agent's token", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "argocd-application-controller-token"), nil, reasonAgentToken, []string{"argocd/argocd-application-controller-token"}},
		{"a controller's Pod mounts a Secret not there yet", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "later"), nil, "", []string{"argocd/later"}},
		{"a controller's Pod in a namespace of no agent: no lookup", DefaultIdentities(), operator, podMounting("shop", "web", "volume", "db"), nil, "", nil},
		{"a controller's Pod whose Secret cannot be read", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "argocd-secret"),
			failing, reasonSecretUnknown, []string{"argocd/argocd-secret"}},
		{"a controller's Pod whose Secret answers too late", DefaultIdentities(), operator, podMounting("argocd", "argocd-repo-server", "volume", "argocd-secret"),
			slow, reasonSecretUnknown, nil},
		{"a person's Pod whose Secret cannot be read", operators, dev, podMounting("ops", "web", "volume", "db"),
			failing, reasonSecretUnknown, []string{"ops/db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, policy := range []string{"warn", "grant"} {
				var secrets Secrets = clusterSecrets()
				if tc.secrets != nil {
					secrets = tc.secrets()
				}
				recs := &records{}
				h := &Handler{Identities: tc.ids, Skip: DefaultSkip(), Snapshots: fixedSnap{argoSnapshot(t)},
					Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Secrets: secrets,
					Audit: recs, Now: func() time.Time { return t0 }}
				if policy == "warn" {
					h.Modes = FixedMode(Warn)
				} else {
					h.BreakGlass = grantStore(breakglass.Grant{Name: "inc-1", Users: []string{dev, operator}, Reason: "INC-1", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)})
				}
				d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
				if tc.wantHard == "" {
					if !d.Allowed || d.Reason == reasonAgentToken || d.Reason == reasonControllerToken || d.Reason == reasonSecretUnknown {
						t.Errorf("%s: allowed %v reason %s, want an ordinary outcome\n%s", policy, d.Allowed, d.Reason, d.Message)
					}
				} else if d.Allowed || d.Reason != tc.wantHard || len(recs.list) != 1 || recs.list[0].Decision != audit.Denied {
					t.Errorf("%s: allowed %v reason %s, want denied %s\n%s", policy, d.Allowed, d.Reason, tc.wantHard, d.Message)
				}
				if f, ok := secrets.(*fakeSecrets); ok && !slices.Equal(f.asked, tc.wantAsked) {
					t.Errorf("%s: looked up %v, want %v", policy, f.asked, tc.wantAsked)
				}
			}
		})
	}
}

// TestTokenSecretByNameBackedByGit: Git's backing does not excuse a change
// of what runs with the agent's token, whether the Pods run as the agent
// or reference its token Secret by name.
func TestTokenSecretByNameBackedByGit(t *testing.T) {
	const repoServer = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"repo-server","namespace":"argocd"},
		"spec":{"selector":{"matchLabels":{"a":"r"}},"template":{"metadata":{"labels":{"a":"r"}},"spec":{"serviceAccountName":"argocd-repo-server",
		"containers":[{"name":"c","image":"quay.io/argoproj/argocd:v3.1.0"}],"volumes":[{"name":"t","secret":{"secretName":"app-controller-long-lived"}}]}}}}`
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"},
		[]provenance.File{{Path: "argocd.yaml", Objects: []map[string]any{object(t, repoServer)}}})
	if err != nil {
		t.Fatal(err)
	}
	// The live Deployment mounts nothing; Git's new revision mounts the
	// agent's token, and a person applies it before the agent does.
	old := object(t, repoServer)
	delete(at(old, []string{"spec", "template", "spec"}).(map[string]any), "volumes")
	req := deploymentMounting("argocd", "argocd-repo-server", "x").with(admissionv1.Update, nil).admissionRequest(t, dev)
	req.Name = "repo-server"
	req.OldObject = runtime.RawExtension{Raw: mustJSON(t, old)}
	req.Object = runtime.RawExtension{Raw: []byte(repoServer)}
	for _, fields := range []provenance.FieldMode{provenance.FieldsStrict, provenance.FieldsDeclared} {
		h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{s.Snapshot()}, Checker: &provenance.Checker{Fields: fields},
			Controllers: ControllerChecker(nil), Secrets: clusterSecrets(), Modes: FixedMode(Warn), Audit: &records{}, Now: func() time.Time { return t0 }}
		d := h.Decide(context.Background(), req)
		if d.Allowed || d.Reason != reasonAgentToken || !strings.Contains(d.Message, "whose token Secret app-controller-long-lived its Pods reference by name") {
			t.Errorf("%s: allowed %v reason %s, want refused %s\n%s", fields, d.Allowed, d.Reason, reasonAgentToken, d.Message)
		}
	}
}

// TestTokenSecretByNameDebugContainer: a controller's debug container may
// not read the agent's token Secret through env either.
func TestTokenSecretByNameDebugContainer(t *testing.T) {
	pod := func(eph string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"argocd"},"spec":{"serviceAccountName":"argocd-repo-server",
			"containers":[{"name":"c","image":"app"}],"ephemeralContainers":` + eph + `}}`)
	}
	h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{argoSnapshot(t)}, Kinds: podKinds{},
		Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Secrets: clusterSecrets(), Audit: &records{}, Now: func() time.Time { return t0 }}
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Update, Namespace: "argocd", Name: "p", SubResource: "ephemeralcontainers",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		UserInfo:  authenticationv1.UserInfo{Username: operator},
		OldObject: runtime.RawExtension{Raw: pod(`[]`)},
		Object:    runtime.RawExtension{Raw: pod(`[{"name":"dbg","image":"busybox","env":[{"name":"T","valueFrom":{"secretKeyRef":{"name":"app-controller-long-lived","key":"token"}}}]}]`)},
	}}
	if d := h.Decide(context.Background(), req); d.Allowed || d.Reason != reasonAgentToken {
		t.Errorf("allowed %v reason %s, want refused %s\n%s", d.Allowed, d.Reason, reasonAgentToken, d.Message)
	}
}

func TestSecretRefs(t *testing.T) {
	for _, tc := range []struct {
		change change
		want   []string
	}{
		{podMounting("ns", "sa", "volume", "a"), []string{"a"}},
		{podMounting("ns", "sa", "projected", "b"), []string{"b"}},
		{podMounting("ns", "sa", "env", "c"), []string{"c"}},
		{podMounting("ns", "sa", "envFrom", "d"), []string{"d"}},
		{deploymentMounting("ns", "sa", "e"), []string{"e"}},
		{newObject("batch", "v1", "CronJob", "cronjobs", "ns", "cj", `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"secret":{"secretName":"z"}},{"secret":{"secretName":"y"}},{"secret":{"secretName":"z"}}],
			"imagePullSecrets":[{"name":"registry"}],"containers":[{"env":[{"name":"X","value":"v"}]}]}}}}}}`), []string{"y", "z"}},
		{newObject("", "v1", "ConfigMap", "configmaps", "ns", "cm", `{"data":{"secretName":"x"}}`), nil},
		{newObject("example.com", "v1", "Pod", "pods", "ns", "p", `{"spec":{"volumes":[{"secret":{"secretName":"x"}}]}}`), nil},
	} {
		if got := secretRefs(tc.change.group, tc.change.kind, object(t, tc.change.obj)); !slices.Equal(got, tc.want) {
			t.Errorf("secretRefs(%s %s) = %v, want %v", tc.change.kind, tc.change.obj, got, tc.want)
		}
	}
}

func TestTokenNameOwner(t *testing.T) {
	for name, want := range map[string]string{
		"argocd-application-controller-token":       "argocd-application-controller",
		"argocd-application-controller-token-x7k2p": "argocd-application-controller",
		"operator-token-abc":                        "operator",
		"db-tokens":                                 "",
		"token":                                     "",
		"-token":                                    "",
		"argocd-secret":                             "",
	} {
		if got := tokenNameOwner(name); got != want {
			t.Errorf("tokenNameOwner(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestMayHold(t *testing.T) {
	ids := DefaultIdentities()
	operators := DefaultIdentities()
	operators.ControllerUsers = []string{"system:serviceaccount:ops:*"}
	tenants := DefaultIdentities()
	tenants.AgentGroups = []string{"system:serviceaccounts:team-a"}
	for _, tc := range []struct {
		ids   Identities
		ns    string
		least Class
		want  bool
	}{
		{ids, "flux-system", Agent, true},
		{ids, "argocd", Agent, true},
		{ids, "kube-system", Agent, true},
		{ids, "shop", Agent, false},
		{ids, "argocd-x", Agent, false},
		{ids, "shop", Controller, true},
		{operators, "shop", Controller, false},
		{operators, "ops", Controller, true},
		{tenants, "team-a", Agent, true},
		{tenants, "team-b", Agent, false},
	} {
		if got := tc.ids.mayHold(tc.ns, tc.least); got != tc.want {
			t.Errorf("mayHold(%s, %s) = %v, want %v", tc.ns, tc.least, got, tc.want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
