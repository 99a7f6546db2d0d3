package webhook

import (
	"context"
	"errors"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// fakeDefaults answers with Git's manifest as the API server would
// create it, or an error.
type fakeDefaults struct {
	obj map[string]any
	err error
}

func (f fakeDefaults) Defaulted(context.Context, *provenance.Entry, provenance.Revision) (map[string]any, error) {
	return f.obj, f.err
}

// TestPersonCreateOfDeclaredObject: a person creating a declared object
// before the agent may set nothing the API server would not give Git's
// manifest.
func TestPersonCreateOfDeclaredObject(t *testing.T) {
	snapshot := gitSnapshot(t)
	defaulted := live(t, declaredDeployment, nil)
	tests := []struct {
		name        string
		edit        func(map[string]any)
		defaults    Defaulter
		wantAllowed bool
		wantReason  provenance.Reason
	}{
		{name: "Git's manifest as it is", defaults: fakeDefaults{obj: decode(t, defaulted)}, wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "with hostPID", edit: hostPID, defaults: fakeDefaults{obj: decode(t, defaulted)}, wantReason: provenance.ReasonUndeclared},
		{name: "with a command and privileges", edit: privileged, defaults: fakeDefaults{obj: decode(t, defaulted)}, wantReason: provenance.ReasonUndeclared},
		{name: "with an annotation", edit: annotate, defaults: fakeDefaults{obj: decode(t, defaulted)}, wantReason: provenance.ReasonUndeclared},
		{name: "defaults unknown", defaults: fakeDefaults{err: errors.New("forbidden")}, wantReason: reasonNoDefaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{snapshot}, Checker: &provenance.Checker{},
				Repo: Repo{URL: "https://git.example/fleet.git"}, Defaults: tt.defaults, Audit: &records{}}
			resp := h.Handle(context.Background(), deploymentChange.with(admissionv1.Create, tt.edit).admissionRequest(t, "dev-user"))
			if resp.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tt.wantAllowed, resp.Result.Message)
			}
			if rec := h.Audit.(*records); !tt.wantAllowed && (len(rec.list) != 1 || rec.list[0].Reason != tt.wantReason) {
				t.Errorf("records = %+v, want reason %s", rec.list, tt.wantReason)
			}
		})
	}
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	obj, err := provenance.DecodeObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}
