package webhook

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// decisionCase is one request through a handler, and the Decision it
// must get.
type decisionCase struct {
	name string
	req  admission.Request
	// edit sets up the handler beyond decisionHandler's defaults.
	edit func(*Handler)

	want Decision
	// wantMessage is a substring of Decision.Message; "" wants none.
	wantMessage string
	// wantWarning is a substring of the only warning; "" wants none.
	wantWarning string
}

// decisionHandler judges with a fake checker over a one-root snapshot.
func decisionHandler(res provenance.Result) *Handler {
	return &Handler{
		Identities: DefaultIdentities(),
		Skip:       DefaultSkip(),
		Snapshots:  fixedSnap{snap},
		Checker:    fakeChecker{res},
		Kinds:      serviceAccountKinds{},
		Repo:       Repo{URL: "https://git.example/fleet.git"},
		Audit:      &records{},
		Now:        func() time.Time { return t0 },
	}
}

func decisionCases() []decisionCase {
	grant := breakglass.Grant{Name: "inc-42", Users: []string{"dev-user"}, Reason: "INC-42", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	badObject := request("dev-user")
	badObject.Object = runtime.RawExtension{Raw: []byte(`{"data":`)}
	mismatchWith := func(edit func(*Handler)) func(*Handler) {
		return func(h *Handler) { h.Checker = fakeChecker{mismatch}; edit(h) }
	}
	return []decisionCase{
		{name: "allowed agent", req: request("system:serviceaccount:flux-system:kustomize-controller"), edit: mismatchWith(func(*Handler) {}),
			want: Decision{Allowed: true, Outcome: "allowed", Reason: reasonAgent, Class: Agent}},
		{name: "exempt", req: request("system:kube-scheduler"), edit: mismatchWith(func(*Handler) {}),
			want: Decision{Allowed: true, Outcome: "allowed", Reason: reasonExempt, Class: Exempt}},
		{name: "skipped resource", req: onResource(request(operator), "coordination.k8s.io", "leases"), edit: mismatchWith(func(*Handler) {}),
			want: Decision{Allowed: true, Outcome: "allowed", Reason: reasonSkippedResource, Class: Controller, Skipped: true}},
		{name: "not synced", req: request("dev-user"), edit: func(h *Handler) { h.Snapshots = fixedSnap{nil} },
			want:        Decision{Outcome: "denied", Reason: reasonNotSynced, Class: Person},
			wantMessage: "[not-synced] gitgate denied UPDATE of ConfigMap shop/web-config by dev-user: gitgate has not synced Git yet"},
		{name: "matches Git", req: request("dev-user"),
			want: Decision{Allowed: true, Outcome: "allowed", Reason: provenance.ReasonMatchesGit, Class: Person}},
		{name: "field mismatch denied", req: request("dev-user"), edit: mismatchWith(func(*Handler) {}),
			want:        Decision{Outcome: "denied", Reason: provenance.ReasonFieldMismatch, Class: Person},
			wantMessage: `data.greeting: Git has "hello", request has "hi"`},
		{name: "warn mode", req: request("dev-user"), edit: mismatchWith(func(h *Handler) { h.Modes = FixedMode(Warn) }),
			want:        Decision{Allowed: true, Outcome: "warned", Reason: provenance.ReasonFieldMismatch, Class: Person},
			wantMessage: "[field-mismatch] gitgate denied UPDATE", wantWarning: "[field-mismatch] gitgate would deny (warn mode) UPDATE"},
		{name: "audit mode", req: request("dev-user"), edit: mismatchWith(func(h *Handler) { h.Modes = FixedMode(Audit) }),
			want: Decision{Allowed: true, Outcome: "audited", Reason: provenance.ReasonFieldMismatch, Class: Person}},
		{name: "dry run warned", req: dryRun(request("dev-user")), edit: mismatchWith(func(h *Handler) { h.DryRunWarn = true }),
			want:        Decision{Allowed: true, Outcome: "warned", Reason: provenance.ReasonFieldMismatch, Class: Person},
			wantMessage: "gitgate denied UPDATE", wantWarning: "gitgate would deny (dry run) UPDATE"},
		{name: "break-glass", req: request("dev-user"), edit: mismatchWith(func(h *Handler) { h.BreakGlass = grantStore(grant) }),
			want:        Decision{Allowed: true, Outcome: "break-glass", Reason: provenance.ReasonFieldMismatch, Class: Person},
			wantWarning: "break-glass grant inc-42 (INC-42) used"},
		{name: "token request refused", req: tokenRequest("dev-user", "flux-system", "kustomize-controller"),
			want:        Decision{Outcome: "denied", Reason: reasonAgentToken, Class: Person},
			wantMessage: "ServiceAccount flux-system/kustomize-controller (token)"},
		{name: "token request allowed", req: tokenRequest(operator, "shop", "web"),
			want: Decision{Allowed: true, Outcome: "allowed", Reason: provenance.ReasonSubresource, Class: Controller}},
		{name: "unresolved kind", req: scaleRequest("dev-user"), edit: func(h *Handler) { h.Kinds = noKinds{} },
			want:        Decision{Outcome: "denied", Reason: reasonUnresolvedKind, Class: Person},
			wantMessage: "cannot resolve the kind of the resource widgets.example.com"},
		{name: "bad request", req: badObject,
			want:        Decision{Outcome: "error", Reason: reasonBadRequest, Class: Person, Code: http.StatusBadRequest},
			wantMessage: "decode object: "},
	}
}

// TestDecideAgreesWithHandle: Decide's Decision is what Handle answers and
// what it counts, case by case, and Decide itself counts nothing.
func TestDecideAgreesWithHandle(t *testing.T) {
	for _, tc := range decisionCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := decisionHandler(matches)
			if tc.edit != nil {
				tc.edit(h)
			}
			before := observations(t)
			d := h.Decide(context.Background(), tc.req)
			if got := observations(t); got != before {
				t.Errorf("Decide observed %+v, want nothing", got.minus(before))
			}
			checkDecision(t, d, tc)

			series := decisionCount(t, string(tc.req.Operation), d.Outcome, d.Reason, d.Class, dryRunLabel(tc.req))
			resp := h.Handle(context.Background(), tc.req)
			if got := decisionCount(t, string(tc.req.Operation), d.Outcome, d.Reason, d.Class, dryRunLabel(tc.req)) - series; got != 1 {
				t.Errorf("the Decision's series grew by %v, want 1", got)
			}
			checkResponse(t, resp, d)
		})
	}
}

// checkDecision holds d to the case, wherever a Decision may vary.
func checkDecision(t *testing.T, d Decision, tc decisionCase) {
	t.Helper()
	got, want := d, tc.want
	got.Message, got.Warnings, got.AuditAnnotations = "", nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decision = %+v, want %+v", got, want)
	}
	if tc.wantMessage == "" && d.Message != "" || !strings.Contains(d.Message, tc.wantMessage) {
		t.Errorf("Message = %q, want %q", d.Message, tc.wantMessage)
	}
	if tc.wantWarning == "" && len(d.Warnings) != 0 || tc.wantWarning != "" && (len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], tc.wantWarning)) {
		t.Errorf("Warnings = %q, want %q", d.Warnings, tc.wantWarning)
	}
	recorded := d.Outcome != "allowed" && d.Outcome != "error"
	if recorded != (d.AuditAnnotations != nil) {
		t.Errorf("AuditAnnotations = %v with outcome %s", d.AuditAnnotations, d.Outcome)
	}
	if recorded && (d.AuditAnnotations["decision"] != d.Outcome || d.AuditAnnotations["reason"] != string(d.Reason) || d.AuditAnnotations["class"] != string(d.Class)) {
		t.Errorf("AuditAnnotations = %v, Decision %+v", d.AuditAnnotations, d)
	}
}

// checkResponse holds Handle's answer to the Decision.
func checkResponse(t *testing.T, resp admission.Response, d Decision) {
	t.Helper()
	code, message := int32(http.StatusOK), ""
	switch {
	case d.Code != 0:
		code, message = d.Code, d.Message
	case !d.Allowed:
		code, message = http.StatusForbidden, d.Message
	}
	if resp.Allowed != d.Allowed || resp.Result == nil || resp.Result.Code != code || resp.Result.Message != message {
		t.Errorf("response allowed %v, result %+v; Decision %+v", resp.Allowed, resp.Result, d)
	}
	if !reflect.DeepEqual(resp.Warnings, d.Warnings) || !reflect.DeepEqual(resp.AuditAnnotations, d.AuditAnnotations) {
		t.Errorf("response warnings %q, annotations %v; Decision %q, %v", resp.Warnings, resp.AuditAnnotations, d.Warnings, d.AuditAnnotations)
	}
}

// TestHandleObservesOnce: whatever the way through, one Handle is one
// count in gitgate_admission_decisions_total and one duration.
func TestHandleObservesOnce(t *testing.T) {
	for _, tc := range decisionCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := decisionHandler(matches)
			if tc.edit != nil {
				tc.edit(h)
			}
			before := observations(t)
			h.Handle(context.Background(), tc.req)
			if got := observations(t).minus(before); got != (observed{decisions: 1, durations: 1}) {
				t.Errorf("one Handle observed %+v, want one decision and one duration", got)
			}
		})
	}
}

func dryRunLabel(req admission.Request) string {
	if req.DryRun != nil && *req.DryRun {
		return "true"
	}
	return "false"
}

// observed totals every series of the decision metrics.
type observed struct {
	decisions float64
	durations uint64
}

func (o observed) minus(p observed) observed {
	return observed{decisions: o.decisions - p.decisions, durations: o.durations - p.durations}
}

func observations(t *testing.T) observed {
	t.Helper()
	var o observed
	for _, m := range collect(t, decisions) {
		o.decisions += m.GetCounter().GetValue()
	}
	for _, m := range collect(t, decisionSeconds) {
		o.durations += m.GetHistogram().GetSampleCount()
	}
	return o
}

func collect(t *testing.T, c prometheus.Collector) []*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	var out []*dto.Metric
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Error(err)
		}
		out = append(out, &d)
	}
	return out
}
