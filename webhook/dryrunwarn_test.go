package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/provenance"
)

// TestDryRunOfAgentPath: with --dry-run-action warn, a dry run of an
// object write on a way to an agent's identity (kubectl diff of a
// HelmRelease, flux diff of Flux's own Deployment) is warned like any
// other dry run: it stores nothing and hands out nothing, and the warning
// says it would be refused. A TokenRequest (its endpoint mints the token
// whatever dryRun says) and a CONNECT (no dry run) stay denied, as does
// the same write for real.
func TestDryRunOfAgentPath(t *testing.T) {
	type tc struct {
		name       string
		req        func(t *testing.T) admission.Request
		dryRunWarn bool
		wantWarned bool
		wantReason provenance.Reason
	}
	var tests []tc
	for _, c := range agentPathCases() {
		if c.wantHard == "" {
			continue
		}
		req := func(t *testing.T) admission.Request { return c.change.admissionRequest(t, c.user) }
		dry := func(t *testing.T) admission.Request { return dryRun(req(t)) }
		tests = append(tests,
			tc{name: c.name + "/dry run, warn", req: dry, dryRunWarn: true, wantWarned: true, wantReason: c.wantHard},
			tc{name: c.name + "/dry run, deny", req: dry, wantReason: c.wantHard},
			tc{name: c.name + "/for real, warn", req: req, dryRunWarn: true, wantReason: c.wantHard})
	}
	tests = append(tests,
		tc{name: "a dry-run TokenRequest for kustomize-controller", dryRunWarn: true, wantReason: reasonAgentToken,
			req: func(*testing.T) admission.Request {
				return dryRun(tokenRequest(dev, "flux-system", "kustomize-controller"))
			}},
		tc{name: "a CONNECT to the agent's Pod marked dry run", dryRunWarn: true, wantReason: reasonAgentToken,
			req: func(*testing.T) admission.Request {
				return dryRun(connectRequest(dev, "exec", "flux-system", "kustomize-controller-5f7d"))
			}},
		tc{name: "a CONNECT to a Pod gitgate cannot read, marked dry run", dryRunWarn: true, wantReason: reasonPodUnknown,
			req: func(*testing.T) admission.Request { return dryRun(connectRequest(dev, "exec", "shop", "gone")) }},
	)
	snapshot := agentPathSnapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot}, Kinds: serviceAccountKinds{},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil), Pods: connectPodSAs, DryRunWarn: tt.dryRunWarn,
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs, Now: func() time.Time { return t0 }}
			resp := h.Handle(context.Background(), tt.req(t))
			if len(recs.list) != 1 || recs.list[0].Reason != tt.wantReason {
				t.Fatalf("allowed %v, records %+v; want one of reason %s", resp.Allowed, recs.list, tt.wantReason)
			}
			r := recs.list[0]
			if !tt.wantWarned {
				if resp.Allowed || r.Decision != audit.Denied || len(resp.Warnings) > 0 {
					t.Fatalf("allowed %v, warnings %q, record %s; want denied", resp.Allowed, resp.Warnings, r.Decision)
				}
				return
			}
			if !resp.Allowed || r.Decision != audit.Warned || !r.DryRun || len(resp.Warnings) != 1 {
				t.Fatalf("allowed %v, warnings %q, record %s (dry run %v); want warned", resp.Allowed, resp.Warnings, r.Decision, r.DryRun)
			}
			w := resp.Warnings[0]
			if !strings.HasPrefix(w, "["+string(tt.wantReason)+"] gitgate would deny (dry run) ") || !strings.Contains(w, "neither the mode nor break-glass changes this") {
				t.Errorf("warning %q: want it to say the write would be denied, past mode and break-glass", w)
			}
		})
	}
}
