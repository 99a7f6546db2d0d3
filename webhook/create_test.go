package webhook

import (
	"context"
	"errors"
	"strings"
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

// perRootDefaults answers, per root name, with what the API server makes
// of that root's manifest, and counts the dry runs.
type perRootDefaults struct {
	objs map[string][]byte
	runs *int
}

func (d perRootDefaults) Defaulted(_ context.Context, e *provenance.Entry, _ provenance.Revision) (map[string]any, error) {
	*d.runs++
	return provenance.DecodeObject(d.objs[e.Root.Name])
}

// TestPersonCreateOfConflictedObject: a create of an object two roots
// declare is held to the defaults of each; the refusal names the root
// whose defaults lack what the person added.
func TestPersonCreateOfConflictedObject(t *testing.T) {
	const plain = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared","namespace":"shop"},"data":{"v":"1"}}`
	labeled := func(m map[string]any) { m["metadata"].(map[string]any)["labels"] = map[string]any{"tier": "x"} }
	owner, other := provenance.Root{Name: "path a"}, provenance.Root{Name: "path b"}
	c := &provenance.Composer{Store: &provenance.Store{}}
	for _, root := range []provenance.Root{owner, other} {
		ix := &provenance.Indexer{Scope: clusterScope{}, Root: root}
		idx, err := ix.Build(provenance.Revision{Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{{Path: "cm.yaml", Objects: []map[string]any{object(t, plain)}}})
		if err != nil {
			t.Fatal(err)
		}
		c.Update(provenance.Part{Index: idx})
	}
	cm := change{version: "v1", kind: "ConfigMap", resource: "configmaps", namespace: "shop", name: "shared", obj: plain}
	// path a's defaults carry the label, path b's do not.
	defaults := map[string][]byte{"path a": live(t, plain, labeled), "path b": live(t, plain, nil)}
	tests := []struct {
		name        string
		edit        func(map[string]any)
		wantAllowed bool
	}{
		{"as both make it", nil, true},
		{"with a label only the owner's defaults carry", labeled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := 0
			rec := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{c.Store.Load()}, Checker: &provenance.Checker{},
				Repo: Repo{URL: "https://git.example/fleet.git"}, Defaults: perRootDefaults{defaults, &runs}, Audit: rec}
			resp := h.Handle(context.Background(), cm.with(admissionv1.Create, tt.edit).admissionRequest(t, "dev-user"))
			if resp.Allowed != tt.wantAllowed || runs != 2 {
				t.Fatalf("allowed = %v after %d dry runs, want %v after 2: %s", resp.Allowed, runs, tt.wantAllowed, resp.Result.Message)
			}
			if !tt.wantAllowed && (len(rec.list) != 1 || rec.list[0].Reason != provenance.ReasonUndeclared || !strings.Contains(resp.Result.Message, "path b")) {
				t.Errorf("records = %+v, message %q: want undeclared-change naming path b", rec.list, resp.Result.Message)
			}
		})
	}
}
