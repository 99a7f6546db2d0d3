package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
)

// What the tests of carried objects stand on: the root Kustomization
// flux-system/apps declares the Kustomization apps and the ConfigMap
// git-vars, and its render reads the ConfigMap apps-vars and the Secret
// apps-secrets (neither in Git), git-vars, and tenant/tenant-vars.
var appsRoot = provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet", URL: "https://git.example/fleet.git"}

const (
	declaredGitVars = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"git-vars","namespace":"flux-system"},"data":{"region":"eu"}}`
	appsVars        = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"apps-vars","namespace":"flux-system"},"data":{"greeting":"hello"}}`
	// appsSecrets holds "hunter2" ("aHVudGVyMg=="), which no message
	// or record may show.
	appsSecrets = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"apps-secrets","namespace":"flux-system"},"type":"Opaque","data":{"token":"aHVudGVyMg=="}}`
	// childKustomization is a Kustomization Git does not declare that
	// the Kustomization flux-system/tenants applied.
	childKustomization = `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"team-a","namespace":"flux-system",
		"labels":{"kustomize.toolkit.fluxcd.io/name":"tenants","kustomize.toolkit.fluxcd.io/namespace":"flux-system"}},
		"spec":{"interval":"10m","path":"./team-a","prune":true,"sourceRef":{"kind":"GitRepository","name":"fleet"}}}`
	// handMadeKustomization is one no agent marked, but for
	// kustomize-controller's entry in its managedFields.
	handMadeKustomization = `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"bootstrap","namespace":"flux-system",
		"managedFields":[{"manager":"kubectl-create","operation":"Update","apiVersion":"kustomize.toolkit.fluxcd.io/v1"},
		{"manager":"kustomize-controller","operation":"Update","apiVersion":"kustomize.toolkit.fluxcd.io/v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:finalizers":{}}}}]},
		"spec":{"interval":"10m","path":"./","prune":true,"sourceRef":{"kind":"GitRepository","name":"fleet"}}}`
)

var (
	appsVarsChange    = change{version: "v1", kind: "ConfigMap", resource: "configmaps", namespace: "flux-system", name: "apps-vars", obj: appsVars}
	appsSecretsChange = change{version: "v1", kind: "Secret", resource: "secrets", namespace: "flux-system", name: "apps-secrets", obj: appsSecrets}
	gitVarsChange     = change{version: "v1", kind: "ConfigMap", resource: "configmaps", namespace: "flux-system", name: "git-vars", obj: declaredGitVars}
	childChange       = change{group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", resource: "kustomizations", namespace: "flux-system", name: "team-a", obj: childKustomization}
	handMadeChange    = change{group: "kustomize.toolkit.fluxcd.io", version: "v1", kind: "Kustomization", resource: "kustomizations", namespace: "flux-system", name: "bootstrap", obj: handMadeKustomization}
)

// carriedSnapshot is appsRoot loaded, with its inputs.
func carriedSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default", Root: appsRoot}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"},
		[]provenance.File{{Path: "apps", Objects: []map[string]any{object(t, declaredKustomization), object(t, declaredGitVars)}}})
	if err != nil {
		t.Fatal(err)
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	var inputs []provenance.Input
	for _, k := range []provenance.Key{{Kind: "ConfigMap", Namespace: "flux-system", Name: "apps-vars"},
		{Kind: "Secret", Namespace: "flux-system", Name: "apps-secrets"}, {Kind: "ConfigMap", Namespace: "flux-system", Name: "git-vars"},
		{Kind: "ConfigMap", Namespace: "tenant", Name: "tenant-vars"}} {
		inputs = append(inputs, provenance.Input{Key: k, Via: "spec.postBuild.substituteFrom"})
	}
	c.SetInputs(appsRoot, inputs)
	c.Update(provenance.Part{Index: idx, Fetched: t0})
	return c.Store.Load()
}

// TestCarriedObjects: what a GitOps agent carries for Git is judged like
// what it carries. A person's or controller's delete of a GitOps object
// an agent made has the agent prune Git's objects (agent-made-delete); a
// change of an input a root's render reads has it apply something else
// (root-input). Both are refusals the mode and break-glass rule on, as a
// delete or change of declared objects is; changing what such an object
// applies stays a hard refusal; the agent and what leaves the carried
// objects alone pass.
func TestCarriedObjects(t *testing.T) {
	snapshot := carriedSnapshot(t)
	dataTo := func(k, v string) func(map[string]any) { return setPath([]string{"data", k}, v) }
	grant := breakglass.Grant{Name: "inc-7", Users: []string{dev}, Reason: "INC-7", GrantedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		user   string
		change change
		edit   func(*Handler)
		// wantDecision is the policy's decision of a refusal, or
		// "allowed".
		wantDecision string
		wantReason   provenance.Reason
		wantMessage  []string
		wantRoot     string
	}{
		{name: "a person deletes a Kustomization a parent applied", user: dev, change: childChange.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonAgentMadeDelete,
			wantMessage: []string{"[agent-made-delete]", "Kustomization flux-system/tenants (label kustomize.toolkit.fluxcd.io/name) made it", "prune"}},
		{name: "a controller deletes it", user: operator, change: childChange.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonAgentMadeDelete, wantMessage: []string{"judged as a controller", "--agent " + operator}},
		{name: "a person deletes one kustomize-controller finalized (managedFields)", user: dev, change: handMadeChange.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonAgentMadeDelete, wantMessage: []string{"the GitOps agent kustomize-controller (metadata.managedFields)"}},
		{name: "under break-glass, as a delete of declared objects", user: dev, change: childChange.with(admissionv1.Delete, nil),
			edit: func(h *Handler) { h.BreakGlass = grantStore(grant) }, wantDecision: "break-glass", wantReason: provenance.ReasonAgentMadeDelete},
		{name: "in warn mode", user: dev, change: childChange.with(admissionv1.Delete, nil),
			edit: func(h *Handler) { h.Modes = FixedMode(Warn) }, wantDecision: "warned", wantReason: provenance.ReasonAgentMadeDelete},
		{name: "a person points it elsewhere, under break-glass: still hard", user: dev, change: childChange.with(admissionv1.Update, setPath([]string{"spec", "path"}, "./evil")),
			edit: func(h *Handler) { h.BreakGlass = grantStore(grant) }, wantDecision: "denied", wantReason: reasonAgentToken},
		{name: "a controller points it elsewhere", user: operator, change: childChange.with(admissionv1.Update, setPath([]string{"spec", "path"}, "./evil")),
			wantDecision: "denied", wantReason: reasonAgentToken},
		{name: "the agent deletes it", user: "system:serviceaccount:flux-system:kustomize-controller", change: childChange.with(admissionv1.Delete, nil),
			wantDecision: "allowed", wantReason: reasonAgent},

		{name: "a person changes a substituteFrom ConfigMap", user: dev, change: appsVarsChange.with(admissionv1.Update, dataTo("greeting", "evil")),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput, wantRoot: appsRoot.String(),
			wantMessage: []string{"[root-input]", "Kustomization flux-system/apps of GitRepository flux-system/fleet at main@sha1:0123", "spec.postBuild.substituteFrom", "Declare it in Git"}},
		{name: "a person deletes it", user: dev, change: appsVarsChange.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput, wantRoot: appsRoot.String(), wantMessage: []string{"Kustomization flux-system/apps"}},
		{name: "a controller rewrites a substituteFrom Secret", user: operator, change: appsSecretsChange.with(admissionv1.Update, dataTo("token", "ZXZpbA==")),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput, wantRoot: appsRoot.String(), wantMessage: []string{"judged as a controller", "Kustomization flux-system/apps"}},
		{name: "a controller deletes it", user: operator, change: appsSecretsChange.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput},
		{name: "a controller creates it anew", user: operator, change: appsSecretsChange.with(admissionv1.Create, nil),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput},
		{name: "a person changes it under break-glass", user: dev, change: appsVarsChange.with(admissionv1.Update, dataTo("greeting", "evil")),
			edit: func(h *Handler) { h.BreakGlass = grantStore(grant) }, wantDecision: "break-glass", wantReason: provenance.ReasonRootInput, wantRoot: appsRoot.String()},
		{name: "a controller adds a key Git leaves out of a declared input", user: operator, change: gitVarsChange.with(admissionv1.Update, dataTo("image", "evil")),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput, wantMessage: []string{"Git declares it in file apps, and not data.image, which the request sets", "Change it in Git (https://git.example/fleet.git (main))"}},
		{name: "a controller labels a substituteFrom ConfigMap", user: operator, change: appsVarsChange.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"x": "y"})),
			wantDecision: "allowed", wantReason: provenance.ReasonNotInGit},
		{name: "a controller annotates a declared input", user: operator, change: gitVarsChange.with(admissionv1.Update, setPath([]string{"metadata", "annotations"}, map[string]any{"x": "y"})),
			wantDecision: "allowed", wantReason: provenance.ReasonMatchesGit},
		{name: "a person deletes the namespace of an input", user: dev, change: change{version: "v1", kind: "Namespace", resource: "namespaces", namespace: "tenant", name: "tenant",
			obj: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"tenant"}}`}.with(admissionv1.Delete, nil),
			wantDecision: "denied", wantReason: provenance.ReasonRootInput, wantRoot: appsRoot.String(), wantMessage: []string{"Kustomization flux-system/apps", "reads objects in it"}},
		{name: "the agent rewrites it", user: "system:serviceaccount:flux-system:kustomize-controller", change: appsSecretsChange.with(admissionv1.Update, dataTo("token", "ZXZpbA==")),
			wantDecision: "allowed", wantReason: reasonAgent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{}, Controllers: ControllerChecker(nil),
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs, Now: func() time.Time { return t0 }}
			if tc.edit != nil {
				tc.edit(h)
			}
			d := h.Decide(context.Background(), tc.change.admissionRequest(t, tc.user))
			if d.Outcome != tc.wantDecision || d.Reason != tc.wantReason {
				t.Fatalf("Decide = %s, %s (%s); want %s, %s", d.Outcome, d.Reason, d.Message, tc.wantDecision, tc.wantReason)
			}
			for _, w := range tc.wantMessage {
				if !strings.Contains(d.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, d.Message)
				}
			}
			checkCarriedRecord(t, recs, d, tc.wantReason, tc.wantRoot)
		})
	}
}

// checkCarriedRecord: a refusal has one record, with the reason and the
// root, and neither it nor the answer shows a Secret's value.
func checkCarriedRecord(t *testing.T, recs *records, d Decision, reason provenance.Reason, root string) {
	t.Helper()
	if d.Outcome == "allowed" {
		return
	}
	if len(recs.list) != 1 || recs.list[0].Reason != reason {
		t.Fatalf("records = %+v, want one with reason %s", recs.list, reason)
	}
	rec := recs.list[0]
	if root != "" && (rec.Root != root || d.AuditAnnotations["root"] != root) {
		t.Errorf("record root %q, annotation %q; want %q", rec.Root, d.AuditAnnotations["root"], root)
	}
	if rec.Decision == audit.BreakGlass && len(d.Warnings) != 1 {
		t.Errorf("warnings = %v, want the break-glass warning", d.Warnings)
	}
	js, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	all := d.Message + strings.Join(d.Warnings, "") + string(js)
	for _, secret := range []string{"hunter2", "aHVudGVyMg==", "evil", "ZXZpbA=="} {
		if strings.Contains(all, secret) && rec.Kind == "Secret" {
			t.Errorf("a Secret value %q shows in the answer or the record: %s", secret, all)
		}
	}
}
