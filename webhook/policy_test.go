package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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
	"github.com/gitgate/gitgate/provenance/compare"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fakeChecker returns a fixed result.
type fakeChecker struct{ res provenance.Result }

func (f fakeChecker) Check(*provenance.Snapshot, *provenance.Request) provenance.Result { return f.res }

type fixedSnap struct{ snap *provenance.Snapshot }

func (f fixedSnap) Load() *provenance.Snapshot { return f.snap }

type nsModes map[string]Mode

func (m nsModes) ModeFor(_ *provenance.Snapshot, ns string) Mode {
	if v, ok := m[ns]; ok {
		return v
	}
	return Enforce
}

type records struct {
	mu   sync.Mutex
	list []*audit.Record
}

func (r *records) Record(rec *audit.Record) { r.mu.Lock(); r.list = append(r.list, rec); r.mu.Unlock() }

type clock struct{ t time.Time }

func (c clock) LastSuccess(provenance.Root) time.Time { return c.t }

var (
	snap     = provenancetest.Empty(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"})
	mismatch = provenance.Result{
		Reason: provenance.ReasonFieldMismatch,
		Entry:  &provenance.Entry{Path: "shop/config.yaml"},
		Diffs:  []compare.Diff{{Path: compare.Path{{Field: "data", Index: -1}, {Field: "greeting", Index: -1}}, Kind: compare.Mismatch, Git: "hello", Request: "hi"}},
	}
	matches    = provenance.Result{Allowed: true, Reason: provenance.ReasonMatchesGit}
	undeclared = provenance.Result{Reason: provenance.ReasonUndeclared, Entry: &provenance.Entry{Path: "namespaces.yaml"}}
)

func request(user string, groups ...string) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "uid-1",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"},
		Namespace: "shop", Name: "web-config", Operation: admissionv1.Update,
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: groups},
		Object:    runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web-config","namespace":"shop","uid":"obj-uid"},"data":{"greeting":"hi"}}`)},
		OldObject: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web-config","namespace":"shop","uid":"obj-uid"},"data":{"greeting":"hello"}}`)},
	}}
}

// namespaceLabel is an update of Namespace shop setting gitgate's mode label
// to value ("" removes it).
func namespaceLabel(user, oldValue, value string) admission.Request {
	ns := func(v string) []byte {
		labels := ""
		if v != "" {
			labels = `,"labels":{"` + ModeLabel + `":"` + v + `"}`
		}
		return []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"` + labels + `}}`)
	}
	r := request(user)
	r.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	r.Resource = metav1.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	r.Namespace, r.Name = "shop", "shop"
	r.Object, r.OldObject = runtime.RawExtension{Raw: ns(value)}, runtime.RawExtension{Raw: ns(oldValue)}
	return r
}

// onResource sends r for another resource; the object stays a ConfigMap,
// which the fake checker does not look at.
func onResource(r admission.Request, group, resource string) admission.Request {
	r.Resource = metav1.GroupVersionResource{Group: group, Version: "v1", Resource: resource}
	return r
}

// scaleRequest is a scale of a custom resource the RESTMapper does not know.
func scaleRequest(user string) admission.Request {
	r := request(user)
	r.Kind = metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
	r.Resource = metav1.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	r.SubResource = "scale"
	r.Object = runtime.RawExtension{Raw: []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web-config","namespace":"shop","uid":"obj-uid"},"spec":{"replicas":3}}`)}
	r.OldObject = runtime.RawExtension{Raw: []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web-config","namespace":"shop","uid":"obj-uid"},"spec":{"replicas":2}}`)}
	return r
}

// dryRun marks r as a server dry run (kubectl diff, --dry-run=server).
func dryRun(r admission.Request) admission.Request {
	yes := true
	r.DryRun = &yes
	return r
}

// noKinds is a RESTMapper that knows no resource.
type noKinds struct{}

func (noKinds) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return schema.GroupVersionKind{}, fmt.Errorf("no matches for %s", r)
}

func grantStore(grants ...breakglass.Grant) *breakglass.Store {
	s := &breakglass.Store{PermanentUsers: []string{"oncall-root"}}
	s.Set(grants)
	return s
}

func TestHandlePolicy(t *testing.T) {
	incident := breakglass.Grant{Name: "inc-42", Users: []string{"dev-user"}, Reason: "INC-42 outage", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Minute)}
	scoped := incident
	scoped.Namespaces = []string{"other"}
	byGroup := breakglass.Grant{Name: "sre", Groups: []string{"sre"}, Reason: "pager", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)}

	tests := []struct {
		name string
		req  admission.Request
		// unsynced: no revision loaded yet (the snapshot store is empty).
		unsynced  bool
		result    provenance.Result
		modes     Modes
		grants    *breakglass.Store
		staleness *Staleness
		now       time.Time
		// dryRunWarn is --dry-run-action warn.
		dryRunWarn bool

		wantAllowed  bool
		wantDecision audit.Decision // "" means no audit record
		wantReason   provenance.Reason
		wantWarning  string // substring of the only warning; "" means none
		wantMessage  string // substring of a denial
	}{
		{name: "agent skips everything", req: request("system:serviceaccount:flux-system:kustomize-controller"), result: mismatch, wantAllowed: true},
		{name: "exempt group", req: request("system:node:n1", "system:nodes"), result: mismatch, wantAllowed: true},
		{name: "node bootstrap is exempt", req: request("system:bootstrap:abcdef", "system:bootstrappers"), result: mismatch, wantAllowed: true},
		{name: "skipped resource", req: onResource(request("dev-user"), "coordination.k8s.io", "leases"), result: mismatch, wantAllowed: true},
		{name: "skipped resource, not synced", req: onResource(request("dev-user"), "", "nodes"), unsynced: true, result: mismatch, wantAllowed: true},
		{name: "endpointslices are judged", req: onResource(request("dev-user"), "discovery.k8s.io", "endpointslices"), result: mismatch,
			wantDecision: audit.Denied, wantReason: "field-mismatch"},
		{name: "matches Git: no record", req: request("dev-user"), result: matches, wantAllowed: true},
		{name: "enforce denies", req: request("dev-user"), result: mismatch, wantDecision: audit.Denied, wantReason: "field-mismatch",
			wantMessage: `data.greeting: Git has "hello", request has "hi"`},
		{name: "warn allows with warning", req: request("dev-user"), result: mismatch, modes: FixedMode(Warn), wantAllowed: true,
			wantDecision: audit.Warned, wantReason: "field-mismatch", wantWarning: "gitgate would deny (warn mode) UPDATE of ConfigMap shop/web-config by dev-user"},
		{name: "audit allows silently", req: request("dev-user"), result: mismatch, modes: FixedMode(Audit), wantAllowed: true,
			wantDecision: audit.Audited, wantReason: "field-mismatch"},
		{name: "namespace label overrides", req: request("dev-user"), result: mismatch, modes: nsModes{"shop": Audit}, wantAllowed: true,
			wantDecision: audit.Audited, wantReason: "field-mismatch"},
		{name: "other namespace keeps enforce", req: request("dev-user"), result: mismatch, modes: nsModes{"elsewhere": Audit},
			wantDecision: audit.Denied, wantReason: "field-mismatch"},
		{name: "grant allows with warning", req: request("dev-user"), result: mismatch, grants: grantStore(incident), wantAllowed: true,
			wantDecision: audit.BreakGlass, wantReason: "field-mismatch",
			wantWarning: "break-glass grant inc-42 (INC-42 outage) used; commit this change to Git or the GitOps agent will revert it"},
		{name: "grant beats warn mode", req: request("dev-user"), result: mismatch, modes: FixedMode(Warn), grants: grantStore(incident), wantAllowed: true,
			wantDecision: audit.BreakGlass, wantReason: "field-mismatch", wantWarning: "break-glass grant inc-42"},
		{name: "grant by group", req: request("alice", "sre"), result: mismatch, grants: grantStore(byGroup), wantAllowed: true,
			wantDecision: audit.BreakGlass, wantWarning: "break-glass grant sre (pager)"},
		{name: "grant at its expiry no longer works", req: request("dev-user"), result: mismatch, grants: grantStore(incident), now: t0.Add(time.Minute),
			wantDecision: audit.Denied, wantReason: "field-mismatch"},
		{name: "grant scoped to another namespace", req: request("dev-user"), result: mismatch, grants: grantStore(scoped),
			wantDecision: audit.Denied},
		{name: "grant for someone else", req: request("mallory"), result: mismatch, grants: grantStore(incident),
			wantDecision: audit.Denied},
		{name: "permanent identity", req: request("oncall-root"), result: mismatch, grants: grantStore(), wantAllowed: true,
			wantDecision: audit.BreakGlass, wantWarning: "break-glass grant permanent (--break-glass-user oncall-root)"},
		{name: "grant does not apply when Git agrees", req: request("dev-user"), result: matches, grants: grantStore(incident), wantAllowed: true},
		{name: "not synced denies", req: request("dev-user"), unsynced: true, result: matches, wantDecision: audit.Denied, wantReason: "not-synced",
			wantMessage: "gitgate has not synced Git yet"},
		{name: "not synced, grant allows loudly", req: request("dev-user"), unsynced: true, result: matches, grants: grantStore(incident), wantAllowed: true,
			wantDecision: audit.BreakGlass, wantReason: "not-synced", wantWarning: "break-glass grant inc-42"},
		{name: "stale, deny", req: request("dev-user"), result: matches,
			staleness:    &Staleness{Max: time.Minute, Deny: true, Clock: clock{t0.Add(-2 * time.Minute)}},
			wantDecision: audit.Denied, wantReason: "stale", wantMessage: "last read Git (https://git.example/fleet.git) 2m0s ago, longer than --max-staleness 1m0s"},
		{name: "stale, keep enforcing", req: request("dev-user"), result: matches,
			staleness: &Staleness{Max: time.Minute, Clock: clock{t0.Add(-2 * time.Minute)}}, wantAllowed: true},
		{name: "fresh, deny mode", req: request("dev-user"), result: matches,
			staleness: &Staleness{Max: time.Minute, Deny: true, Clock: clock{t0.Add(-30 * time.Second)}}, wantAllowed: true},
		{name: "scale of a resource discovery cannot map is refused", req: scaleRequest("dev-user"), result: matches,
			wantDecision: audit.Denied, wantReason: "unresolved-kind", wantMessage: "cannot resolve the kind of the resource widgets.example.com"},
		{name: "unresolved kind in warn mode is warned", req: scaleRequest("dev-user"), result: matches, modes: FixedMode(Warn), wantAllowed: true,
			wantDecision: audit.Warned, wantReason: "unresolved-kind", wantWarning: "cannot resolve the kind"},
		{name: "dry run, dry-run action warn: allowed with the denial as a warning", req: dryRun(request("dev-user")), result: mismatch, dryRunWarn: true, wantAllowed: true,
			wantDecision: audit.Warned, wantReason: "field-mismatch", wantWarning: "gitgate would deny (dry run) UPDATE of ConfigMap shop/web-config by dev-user"},
		{name: "dry run, dry-run action enforce: denied", req: dryRun(request("dev-user")), result: mismatch,
			wantDecision: audit.Denied, wantReason: "field-mismatch", wantMessage: "gitgate denied UPDATE"},
		{name: "no dry run, dry-run action warn: denied", req: request("dev-user"), result: mismatch, dryRunWarn: true,
			wantDecision: audit.Denied, wantReason: "field-mismatch"},
		{name: "dry run matching Git: no warning", req: dryRun(request("dev-user")), result: matches, dryRunWarn: true, wantAllowed: true},
		{name: "stale in audit mode is audited", req: request("dev-user"), result: matches, modes: FixedMode(Audit),
			staleness: &Staleness{Max: time.Minute, Deny: true, Clock: clock{t0.Add(-2 * time.Minute)}}, wantAllowed: true,
			wantDecision: audit.Audited, wantReason: "stale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap
			if tt.unsynced {
				s = nil
			}
			now := tt.now
			if now.IsZero() {
				now = t0
			}
			recs := &records{}
			h := &Handler{
				Identities: DefaultIdentities(),
				Skip:       DefaultSkip(),
				Snapshots:  fixedSnap{s},
				Checker:    fakeChecker{tt.result},
				Repo:       Repo{URL: "https://git.example/fleet.git"},
				Modes:      tt.modes,
				Audit:      recs,
				Staleness:  tt.staleness,
				Kinds:      noKinds{},
				Now:        func() time.Time { return now },
				DryRunWarn: tt.dryRunWarn,
			}
			if tt.grants != nil {
				h.BreakGlass = tt.grants
			}
			resp := h.Handle(context.Background(), tt.req)
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, tt.wantAllowed, resp.Result)
			}
			switch {
			case tt.wantWarning == "" && len(resp.Warnings) > 0:
				t.Errorf("warnings = %q, want none", resp.Warnings)
			case tt.wantWarning != "" && (len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], tt.wantWarning)):
				t.Errorf("warnings = %q, want one containing %q", resp.Warnings, tt.wantWarning)
			}
			if tt.wantMessage != "" && (resp.Result == nil || !strings.Contains(resp.Result.Message, tt.wantMessage)) {
				t.Errorf("message = %+v, want it to contain %q", resp.Result, tt.wantMessage)
			}
			if tt.wantDecision == "" {
				if len(recs.list) != 0 || resp.AuditAnnotations != nil {
					t.Errorf("records = %+v, annotations %v; want none", recs.list, resp.AuditAnnotations)
				}
				return
			}
			if len(recs.list) != 1 {
				t.Fatalf("records = %d, want 1", len(recs.list))
			}
			r := recs.list[0]
			if r.Decision != tt.wantDecision || (tt.wantReason != "" && r.Reason != tt.wantReason) {
				t.Errorf("record decision %q reason %q, want %q %q", r.Decision, r.Reason, tt.wantDecision, tt.wantReason)
			}
			if got := resp.AuditAnnotations["decision"]; got != string(tt.wantDecision) {
				t.Errorf("auditAnnotations = %v, want decision %q", resp.AuditAnnotations, tt.wantDecision)
			}
			if r.UID != "uid-1" || r.User != tt.req.UserInfo.Username || r.Class != "person" || r.Operation != "UPDATE" || r.Kind != tt.req.Kind.Kind ||
				r.Namespace != "shop" || r.Name != "web-config" || r.ObjectUID != "obj-uid" || !r.Time.Equal(now) {
				t.Errorf("record = %+v", r)
			}
			if r.Decision == audit.BreakGlass && r.Grant == "" {
				t.Errorf("break-glass record without a grant name: %+v", r)
			}
		})
	}
}

func TestRecordHoldsPathsNeverValues(t *testing.T) {
	recs := &records{}
	req := request("dev-user")
	req.Kind = metav1.GroupVersionKind{Version: "v1", Kind: "Secret"}
	dry := true
	req.DryRun = &dry
	res := mismatch
	res.Diffs = []compare.Diff{{Path: compare.Path{{Field: "data", Index: -1}, {Field: "password", Index: -1}}, Git: "czNjcjN0", Request: "aHVudGVyMg=="}}
	h := &Handler{Snapshots: fixedSnap{snap}, Checker: fakeChecker{res}, Audit: recs, Repo: Repo{URL: "https://git.example/fleet.git"}}
	resp := h.Handle(context.Background(), req)
	if resp.Allowed {
		t.Fatal("want denied")
	}
	line, err := json.Marshal(recs.list[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"czNjcjN0", "aHVudGVyMg=="} {
		if strings.Contains(string(line), secret) || strings.Contains(resp.Result.Message, secret) {
			t.Errorf("Secret value %q leaked:\nrecord %s\nmessage %s", secret, line, resp.Result.Message)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(line, &back); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"fields": []any{"data.password"}, "dryRun": true, "file": "shop/config.yaml",
		"revision": "main@sha1:0123456789abcdef0123456789abcdef01234567", "mode": "enforce", "reason": "field-mismatch"} {
		got, _ := json.Marshal(back[k])
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("record %s = %s, want %s", k, got, w)
		}
	}
}

// TestBreakGlassNeverCoversModeLabel: one grant must not be able to switch
// enforcement off for a namespace long after it expired.
func TestBreakGlassNeverCoversModeLabel(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-42", Users: []string{"dev-user"}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		name         string
		req          admission.Request
		wantDecision audit.Decision
	}{
		{name: "setting the label", req: namespaceLabel("dev-user", "", "audit"), wantDecision: audit.Denied},
		{name: "changing the label", req: namespaceLabel("dev-user", "enforce", "warn"), wantDecision: audit.Denied},
		{name: "removing the label", req: namespaceLabel("dev-user", "enforce", ""), wantDecision: audit.Denied},
		{name: "another change to the Namespace", req: namespaceLabel("dev-user", "enforce", "enforce"), wantDecision: audit.BreakGlass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{snap}, Checker: fakeChecker{undeclared},
				BreakGlass: grantStore(grant), Audit: recs, Now: func() time.Time { return t0 }}
			resp := h.Handle(context.Background(), tt.req)
			if len(recs.list) != 1 || recs.list[0].Decision != tt.wantDecision {
				t.Fatalf("records = %+v, want one %s", recs.list, tt.wantDecision)
			}
			denied := tt.wantDecision == audit.Denied
			if resp.Allowed == denied || denied && !strings.Contains(resp.Result.Message, "Break-glass never covers the gitgate.dev/mode label") {
				t.Errorf("allowed %v, message %q", resp.Allowed, resp.Result.Message)
			}
		})
	}
}

// TestAgentMarkOutlivesGrantAndMode: a GitOps agent's mark set on a
// declared object (reconcile disabled) would have the agent stop reverting
// long after a grant expired or warn mode ended, so neither lets it
// through; an ordinary refusal under the same grant or mode passes.
func TestAgentMarkOutlivesGrantAndMode(t *testing.T) {
	grant := breakglass.Grant{Name: "inc-42", Users: []string{"dev-user"}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	mark := provenance.Result{Reason: provenance.ReasonAgentMark, Entry: &provenance.Entry{Path: "shop/config.yaml"},
		Diffs: []compare.Diff{{Path: compare.Path{{Field: "metadata", Index: -1}, {Field: "labels", Index: -1}, {Field: "kustomize.toolkit.fluxcd.io/reconcile", Index: -1}},
			Kind: compare.Undeclared, Request: "disabled"}}}
	tests := []struct {
		name         string
		res          provenance.Result
		grant        bool
		mode         Mode
		wantDecision audit.Decision
	}{
		{name: "mark under a grant", res: mark, grant: true, mode: Enforce, wantDecision: audit.Denied},
		{name: "mark in warn mode", res: mark, mode: Warn, wantDecision: audit.Denied},
		{name: "mark in audit mode", res: mark, mode: Audit, wantDecision: audit.Denied},
		{name: "field under a grant", res: mismatch, grant: true, mode: Enforce, wantDecision: audit.BreakGlass},
		{name: "field in warn mode", res: mismatch, mode: Warn, wantDecision: audit.Warned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{snap}, Checker: fakeChecker{tt.res},
				Modes: nsModes{"shop": tt.mode}, Audit: recs, Now: func() time.Time { return t0 }}
			if tt.grant {
				h.BreakGlass = grantStore(grant)
			}
			resp := h.Handle(context.Background(), request("dev-user"))
			if len(recs.list) != 1 || recs.list[0].Decision != tt.wantDecision {
				t.Fatalf("records = %+v, want one %s", recs.list, tt.wantDecision)
			}
			denied := tt.wantDecision == audit.Denied
			if resp.Allowed == denied || denied && !strings.Contains(resp.Result.Message, "no mode or break-glass grant covers them") {
				t.Errorf("allowed %v, message %q", resp.Allowed, resp.Result.Message)
			}
		})
	}
}
