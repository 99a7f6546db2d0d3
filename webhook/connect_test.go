package webhook

import (
	"context"
	"errors"
	"fmt"
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

// fakePods knows the service account of a few Pods by namespace/name; any
// other Pod is not found.
type fakePods map[string]string

func (p fakePods) ServiceAccountOf(_ context.Context, ns, name string) (string, error) {
	sa, ok := p[ns+"/"+name]
	if !ok {
		return "", fmt.Errorf("pods %q not found", name)
	}
	return sa, nil
}

// slowPods answers only when the context ends: an API server that hangs.
type slowPods struct{}

func (slowPods) ServiceAccountOf(ctx context.Context, _, _ string) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func connectRequest(user, subresource, ns, pod string, groups ...string) admission.Request {
	kind := map[string]string{"exec": "PodExecOptions", "attach": "PodAttachOptions", "portforward": "PodPortForwardOptions"}[subresource]
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Connect, Namespace: ns, Name: pod, SubResource: subresource,
		Kind:     metav1.GroupVersionKind{Version: "v1", Kind: kind},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		UserInfo: authenticationv1.UserInfo{Username: user, Groups: groups},
		Object:   runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"` + kind + `","stdin":true,"tty":true,"container":"app","command":["sh"]}`)},
	}}
}

// The callers and Pods of TestConnectDecisions, one per identity class.
// --controller is narrowed to the ops namespace there, so that a Pod of
// shop runs as a service account of no class (a person's).
var (
	connectCallers = map[Class]string{
		Exempt:     "system:kube-controller-manager",
		Agent:      "system:serviceaccount:flux-system:helm-controller",
		Controller: "system:serviceaccount:ops:debugger",
		Person:     "dev-user",
	}
	// connectPods: the Pod running as a service account of each class,
	// and one gitgate cannot read ("unreadable").
	connectPods = map[string]struct{ ns, name string }{
		string(Agent):      {"flux-system", "kustomize-controller-5f7d"},
		string(Exempt):     {"kube-system", "kube-proxy-x2k4"},
		string(Controller): {"ops", "operator-0"},
		string(Person):     {"shop", "web-7c9d"},
		"unreadable":       {"shop", "gone"},
	}
	connectPodSAs = fakePods{
		"flux-system/kustomize-controller-5f7d": "kustomize-controller",
		"kube-system/kube-proxy-x2k4":           "kube-proxy",
		"ops/operator-0":                        "operator",
		"shop/web-7c9d":                         "", // the spec names none: default
	}
)

// connectWant is what a CONNECT gets, as docs/operations.md states it:
// exempt callers and agents are never judged; nobody but them reaches
// into a Pod of an agent or exempt service account, nor into a Pod
// gitgate cannot read, and a person not into a controller's, whatever
// the mode or grant; a controller's other CONNECTs are its own; a
// person's follow --connect: deny-people refuses in every mode (a grant
// covers it), judge leaves it to the mode (and a grant), allow allows.
func connectWant(caller Class, connect Connect, pod string, mode Mode, grant bool) (audit.Decision, provenance.Reason) {
	const allowed = audit.Decision("")
	switch {
	case caller == Exempt:
		return allowed, reasonExempt
	case caller == Agent:
		return allowed, reasonAgent
	case pod == "unreadable":
		return audit.Denied, reasonPodUnknown
	case pod == string(Agent) || pod == string(Exempt):
		return audit.Denied, reasonAgentToken
	case pod == string(Controller) && caller == Person:
		return audit.Denied, reasonControllerToken
	case caller == Controller || connect == ConnectAllow:
		return allowed, reasonConnect
	case grant:
		return audit.BreakGlass, reasonConnect
	case connect == ConnectDenyPeople:
		return audit.Denied, reasonConnect
	}
	return decisionFor(mode), reasonConnect
}

// TestConnectDecisions: each identity class × each --connect × the
// service account class of the Pod (or a Pod gitgate cannot read) ×
// the namespace's mode × a break-glass grant covering the caller or not,
// for exec, attach and port-forward.
func TestConnectDecisions(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-7", Users: []string{connectCallers[Person], connectCallers[Controller]}, Reason: "INC-7 checkout down",
		GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	ids := DefaultIdentities()
	ids.ControllerUsers = []string{"system:serviceaccount:ops:*"}
	n := 0
	for _, caller := range []Class{Exempt, Agent, Controller, Person} {
		for _, connect := range []Connect{ConnectDenyPeople, ConnectJudge, ConnectAllow} {
			for pod, at := range connectPods {
				for _, mode := range []Mode{Enforce, Warn, Audit} {
					for _, withGrant := range []bool{false, true} {
						subresource := []string{"exec", "attach", "portforward"}[n%3]
						n++
						name := fmt.Sprintf("%s %s, --connect %s, Pod of %s, %s mode, grant %v", caller, subresource, connect, pod, mode, withGrant)
						recs := &records{}
						h := &Handler{Identities: ids, Snapshots: fixedSnap{snap}, Checker: fakeChecker{mismatch}, Pods: connectPodSAs, Connect: connect,
							Modes: FixedMode(mode), Audit: recs, Now: func() time.Time { return t0 }}
						if withGrant {
							h.BreakGlass = grantStore(grant)
						}
						d := h.Decide(context.Background(), connectRequest(connectCallers[caller], subresource, at.ns, at.name))
						checkConnectDecision(t, name, d, recs, caller, connect, pod, mode, withGrant)
					}
				}
			}
		}
	}
}

func checkConnectDecision(t *testing.T, name string, d Decision, recs *records, caller Class, connect Connect, pod string, mode Mode, grant bool) {
	t.Helper()
	wantDecision, wantReason := connectWant(caller, connect, pod, mode, grant)
	wantAllowed := wantDecision != audit.Denied
	if d.Allowed != wantAllowed || d.Reason != wantReason || d.Class != caller {
		t.Errorf("%s: allowed %v, reason %s, class %s; want %v, %s, %s (%s)", name, d.Allowed, d.Reason, d.Class, wantAllowed, wantReason, caller, d.Message)
		return
	}
	if wantDecision == "" {
		if len(recs.list) != 0 || d.Outcome != outcomeAllowed {
			t.Errorf("%s: outcome %s, records %+v; want allowed unrecorded", name, d.Outcome, recs.list)
		}
		return
	}
	if len(recs.list) != 1 || recs.list[0].Decision != wantDecision || recs.list[0].Reason != wantReason || recs.list[0].Operation != "CONNECT" {
		t.Errorf("%s: records %+v, want one %s %s of a CONNECT", name, recs.list, wantDecision, wantReason)
		return
	}
	if rec := recs.list[0]; rec.Kind != "Pod" || rec.Subresource == "" || rec.Name == "" || rec.User != connectCallers[caller] || rec.Class != string(caller) {
		t.Errorf("%s: record %+v does not name the Pod, the subresource and the caller", name, rec)
	}
	if wantDecision == audit.BreakGlass && (len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "break-glass grant inc-7 (INC-7 checkout down) used for")) {
		t.Errorf("%s: warnings %q, want the grant's", name, d.Warnings)
	}
	if wantDecision == audit.Denied && !strings.HasPrefix(d.Message, "["+string(wantReason)+"] gitgate denied CONNECT of Pod ") {
		t.Errorf("%s: message %q", name, d.Message)
	}
}

// TestConnectMessages: each refusal says why, and what to do instead.
func TestConnectMessages(t *testing.T) {
	ids := DefaultIdentities()
	tests := []struct {
		name    string
		req     admission.Request
		pods    Pods
		connect Connect
		mode    Mode
		want    []string
		warn    string
	}{
		{name: "a person execs into the agent's Pod", req: connectRequest("dev-user", "exec", "flux-system", "kc"), pods: fakePods{"flux-system/kc": "kustomize-controller"},
			want: []string{"[agent-token] gitgate denied CONNECT of Pod flux-system/kc (exec) by dev-user", "runs as service account flux-system/kustomize-controller, which is agent", "can read its token and act as it", "neither the mode nor break-glass changes this"}},
		{name: "a controller port-forwards to an exempt Pod", req: connectRequest("system:serviceaccount:ci:runner", "portforward", "kube-system", "dns"), pods: fakePods{"kube-system/dns": "coredns"},
			want: []string{"(portforward) by system:serviceaccount:ci:runner, judged as a controller (it matches system:serviceaccount:*)", "which is exempt"}},
		// With the default --controller every service account is a
		// controller: a person's exec into any Pod is the controller-token
		// refusal, --connect allow notwithstanding.
		{name: "default identities: a person execs into an app's Pod", req: connectRequest("dev-user", "exec", "shop", "web"), pods: fakePods{"shop/web": ""}, connect: ConnectAllow,
			want: []string{"[controller-token]", "runs as service account shop/default, which is controller", "leave it out of --controller"}},
		{name: "the Pod is gone", req: connectRequest("dev-user", "attach", "shop", "gone"), pods: fakePods{},
			want: []string{"[pod-unknown]", "cannot read the service account of Pod shop/gone: pods \"gone\" not found", "get on pods"}},
		{name: "no Pod reader", req: connectRequest("system:serviceaccount:ci:runner", "exec", "shop", "web"),
			want: []string{"[pod-unknown]", "gitgate has no Pod reader"}},
		{name: "the API server hangs", req: connectRequest("dev-user", "exec", "shop", "web"), pods: slowPods{},
			want: []string{"[pod-unknown]", "context deadline exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Identities: ids, Snapshots: fixedSnap{snap}, Checker: fakeChecker{mismatch}, Pods: tt.pods, Connect: tt.connect,
				Modes: FixedMode(Audit), BreakGlass: grantStore(breakglass.Grant{Name: "all", Users: []string{"dev-user", "system:serviceaccount:ci:runner"}, Reason: "r", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)}),
				Now: func() time.Time { return t0 }}
			start := time.Now()
			d := h.Decide(context.Background(), tt.req)
			if d.Allowed {
				t.Fatalf("allowed in audit mode with a grant; want the refusal neither covers")
			}
			for _, w := range tt.want {
				if !strings.Contains(d.Message, w) {
					t.Errorf("message %q lacks %q", d.Message, w)
				}
			}
			if elapsed := time.Since(start); elapsed > podLookupTimeout+time.Second {
				t.Errorf("decided in %s, past the Pod lookup's %s", elapsed, podLookupTimeout)
			}
		})
	}
}

// TestPersonConnectTexts: --connect's refusal, its warn-mode warning and
// the grant's warning, on a Pod of no class.
func TestPersonConnectTexts(t *testing.T) {
	ids := DefaultIdentities()
	ids.ControllerUsers = []string{"system:serviceaccount:ops:*"}
	pods := fakePods{"shop/web": "web"}
	for _, tt := range []struct {
		connect Connect
		mode    Mode
		grant   bool
		want    string
	}{
		{ConnectDenyPeople, Warn, false, "[connect] gitgate denied CONNECT of Pod shop/web (exec) by dev-user: people may not exec, attach or port-forward here (--connect deny-people)"},
		{ConnectJudge, Enforce, false, "(--connect judge)"},
		{ConnectJudge, Warn, false, "[connect] gitgate would deny (warn mode) CONNECT of Pod shop/web (exec)"},
		{"", Audit, false, "(--connect deny-people)"},
		{ConnectDenyPeople, Enforce, true, "break-glass grant inc-7 (INC-7) used for exec; the use is audited"},
	} {
		h := &Handler{Identities: ids, Snapshots: fixedSnap{snap}, Checker: fakeChecker{matches}, Pods: pods, Connect: tt.connect, Modes: FixedMode(tt.mode), Now: func() time.Time { return t0 }}
		if tt.grant {
			h.BreakGlass = grantStore(breakglass.Grant{Name: "inc-7", Users: []string{"dev-user"}, Reason: "INC-7", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		}
		d := h.Decide(context.Background(), connectRequest("dev-user", "exec", "shop", "web"))
		if got := d.Message + strings.Join(d.Warnings, "\n"); !strings.Contains(got, tt.want) {
			t.Errorf("--connect %q, %s mode, grant %v: %q lacks %q", tt.connect, tt.mode, tt.grant, got, tt.want)
		}
	}
}

func TestParseConnect(t *testing.T) {
	for _, s := range []string{"deny-people", "judge", "allow"} {
		if c, err := ParseConnect(s); err != nil || string(c) != s {
			t.Errorf("ParseConnect(%q) = %q, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "deny", "Allow", "enforce"} {
		if _, err := ParseConnect(s); err == nil {
			t.Errorf("ParseConnect(%q) accepted", s)
		}
	}
	if !errors.Is(fmt.Errorf("%w x", errPodUnknown), errPodUnknown) {
		t.Fatal("errPodUnknown does not wrap")
	}
}
