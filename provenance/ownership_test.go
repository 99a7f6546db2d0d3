package provenance_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// ownedWeb is Git's Deployment shop/web.
const ownedWeb = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "shop:1"}]
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
stringData: {password: hunter2}
`

// Field sets of managedFields entries, as the API server writes them.
const (
	agentFields = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},` +
		`"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	agentFieldsNoReplicas = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:selector":{},` +
		`"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	agentFieldsNoApp = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},` +
		`"f:template":{"f:metadata":{"f:labels":{"f:app":{}}}}}}`
	lastAppliedFields = `{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}`
	replicasFields    = `{"f:spec":{"f:replicas":{}}}`
	pausedFields      = `{"f:spec":{"f:paused":{}}}`
	noteFields        = `{"f:metadata":{"f:annotations":{".":{},"f:note":{}}}}`
)

// entry is one managedFields entry.
func entry(manager, op, fields string) map[string]any {
	e := map[string]any{"manager": manager, "operation": op, "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "time": "2026-11-26T12:00:00Z"}
	if fields != "" {
		var f map[string]any
		if err := json.Unmarshal([]byte(fields), &f); err != nil {
			panic(err)
		}
		e["fieldsV1"] = f
	}
	return e
}

var agentEntry = entry("kustomize-controller", "Apply", agentFields)

// liveWeb is the Deployment as stored, edited by edit, with managedFields.
func liveWeb(t *testing.T, entries []map[string]any, edit func(meta, spec map[string]any)) []byte {
	t.Helper()
	obj := toMap(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","resourceVersion":"5","labels":{"app":"web"}},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"shop:1"}]}}}}`)
	meta, spec := obj["metadata"].(map[string]any), obj["spec"].(map[string]any)
	if entries != nil {
		list := make([]any, len(entries))
		for i, e := range entries {
			list[i] = e
		}
		meta["managedFields"] = list
	}
	if edit != nil {
		edit(meta, spec)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// gitWebJSON is Git's Deployment as kubectl's client-side apply records
// it in last-applied-configuration.
const gitWebJSON = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web","namespace":"shop"},` +
	`"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"shop:1","name":"app"}]}}}}` + "\n"

func annotateWith(k, v string) func(meta, spec map[string]any) {
	return func(meta, _ map[string]any) { meta["annotations"] = map[string]any{k: v} }
}

func TestOwnership(t *testing.T) {
	snap := provenancetest.Snapshot(t, scope, provenancetest.Revision("a"), map[string]string{"web.yaml": ownedWeb})
	ig, err := provenance.CompileIgnores([]provenance.IgnoreRule{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}})
	if err != nil {
		t.Fatal(err)
	}
	la := annotateWith("kubectl.kubernetes.io/last-applied-configuration", gitWebJSON)
	scaled := func(meta, spec map[string]any) { spec["replicas"] = 5 }
	paused := func(meta, spec map[string]any) { spec["paused"] = true }
	csa := entry("kubectl-client-side-apply", "Update", lastAppliedFields)
	for _, tc := range []struct {
		name       string
		create     bool
		controller bool
		declared   bool // --fields declared
		ignores    bool // replicas ignored
		manager    string
		old, obj   []byte
		want       provenance.Reason
	}{
		{name: "identical client-side apply", manager: "kubectl-client-side-apply",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, csa}, la), want: provenance.ReasonMatchesGit},
		{name: "identical server-side apply", manager: "kubectl",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("kubectl", "Apply", agentFields)}, nil), want: provenance.ReasonMatchesGit},
		{name: "server-side apply taking a field over (--force-conflicts)", manager: "kubectl",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{entry("kustomize-controller", "Apply", agentFieldsNoReplicas), entry("kubectl", "Apply", agentFields)}, nil), want: provenance.ReasonMatchesGit},
		{name: "kubectl's migration of client-side apply's fields", manager: "kubectl",
			old: liveWeb(t, []map[string]any{agentEntry, csa}, la), obj: liveWeb(t, []map[string]any{agentEntry, entry("kubectl", "Apply", lastAppliedFields)}, la), want: provenance.ReasonMatchesGit},
		{name: "server-side apply under a field manager the agent keeps", manager: "dev",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("dev", "Apply", agentFields)}, nil), want: provenance.ReasonManagedFields},
		{name: "a controller's server-side apply of Git's values", controller: true, manager: "operator",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("operator", "Apply", agentFields)}, nil), want: provenance.ReasonMatchesGit},
		{name: "the agent's entry dropped (kubectl patch --type=json)", manager: "kubectl-patch",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{csa}, nil), want: provenance.ReasonManagedFields},
		{name: "the agent's ownership of a container dropped", manager: "kubectl-patch",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{entry("kustomize-controller", "Apply", agentFieldsNoApp)}, nil), want: provenance.ReasonManagedFields},
		{name: "a controller drops the agent's ownership", controller: true, manager: "operator",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{entry("kustomize-controller", "Apply", agentFieldsNoApp)}, nil), want: provenance.ReasonManagedFields},
		{name: "managedFields reset", manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{}, nil), want: provenance.ReasonManagedFields},
		{name: "the agent's entry renamed", manager: "kubectl-patch",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{entry("evil", "Apply", agentFields)}, nil), want: provenance.ReasonManagedFields},
		{name: "fields given to the request's own update entry unchanged", manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("kubectl-edit", "Update", replicasFields)}, nil), want: provenance.ReasonManagedFields},
		{name: "an undeclared field changed, declared mode", declared: true, manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("kubectl-edit", "Update", pausedFields)}, paused), want: provenance.ReasonMatchesGit},
		{name: "an undeclared field changed, strict", manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("kubectl-edit", "Update", pausedFields)}, paused), want: provenance.ReasonUndeclared},
		{name: "an ignored field changed takes it from the agent", ignores: true, manager: "kubectl-scale",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{entry("kustomize-controller", "Apply", agentFieldsNoReplicas), entry("kubectl-scale", "Update", replicasFields)}, scaled), want: provenance.ReasonMatchesGit},
		{name: "without a named field manager, the one entry that grew is the request's", declared: true,
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("curl", "Update", pausedFields)}, paused), want: provenance.ReasonMatchesGit},
		{name: "without a named field manager, two entries grew", declared: true,
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("curl", "Update", pausedFields), entry("evil", "Apply", agentFields)}, paused), want: provenance.ReasonManagedFields},
		{name: "before-first-apply on an object that had none", manager: "kubectl",
			old: liveWeb(t, nil, nil), obj: liveWeb(t, []map[string]any{entry("before-first-apply", "Update", agentFields), entry("kubectl", "Apply", agentFields)}, nil), want: provenance.ReasonMatchesGit},
		{name: "before-first-apply planted", manager: "kubectl",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("before-first-apply", "Update", agentFields), entry("kubectl", "Apply", agentFields)}, nil), want: provenance.ReasonManagedFields},
		{name: "ancient-changes gathers an old update entry", declared: true, manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry, entry("kubectl-annotate", "Update", noteFields)}, annotateWith("note", "x")),
			obj: liveWeb(t, []map[string]any{agentEntry, entry("ancient-changes", "Update", noteFields), entry("kubectl-edit", "Update", pausedFields)}, func(meta, spec map[string]any) {
				meta["annotations"] = map[string]any{"note": "x"}
				spec["paused"] = true
			}), want: provenance.ReasonMatchesGit},
		{name: "ancient-changes holding the agent's fields", declared: true, manager: "kubectl-edit",
			old: liveWeb(t, []map[string]any{agentEntry}, nil), obj: liveWeb(t, []map[string]any{agentEntry, entry("ancient-changes", "Update", agentFields), entry("kubectl-edit", "Update", pausedFields)}, paused), want: provenance.ReasonManagedFields},
		{name: "a person's create before the agent", create: true, manager: "kubectl-create",
			obj: liveWeb(t, []map[string]any{entry("kubectl-create", "Update", agentFields)}, nil), want: provenance.ReasonMatchesGit},
		{name: "a person's create planting the agent's entry", create: true, manager: "kubectl-create",
			obj: liveWeb(t, []map[string]any{entry("kubectl-create", "Update", agentFields), entry("kustomize-controller", "Apply", agentFields)}, nil), want: provenance.ReasonManagedFields},
		{name: "a person's server-side create under their own field manager", create: true, manager: "dev",
			obj: liveWeb(t, []map[string]any{entry("dev", "Apply", agentFields)}, nil), want: provenance.ReasonManagedFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Checker{Ignores: builtinIgnores(t), Controller: tc.controller}
			if tc.declared || tc.controller {
				c.Fields = provenance.FieldsDeclared
			}
			if tc.ignores {
				c.Ignores = ig
			}
			req := &provenance.Request{Operation: provenance.Update, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web",
				ObjectRaw: tc.obj, OldObjectRaw: tc.old}
			if tc.create {
				req.Operation = provenance.Create
			}
			if tc.manager != "" && tc.manager != "curl" {
				req.Options = []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + tc.manager + `"}`)
			}
			decodeRaw(t, req)
			got := c.Check(snap, req)
			if got.Reason != tc.want {
				t.Errorf("Check = %s (%s) %v, want %s", got.Reason, got.Detail, got.Diffs, tc.want)
			}
		})
	}
}

// decodeRaw decodes the raw objects of req as the webhook does.
func decodeRaw(t *testing.T, req *provenance.Request) {
	t.Helper()
	var err error
	if req.Object, err = provenance.DecodeObject(req.ObjectRaw); err != nil {
		t.Fatal(err)
	}
	if req.OldObject, err = provenance.DecodeObject(req.OldObjectRaw); err != nil {
		t.Fatal(err)
	}
}

func TestLastApplied(t *testing.T) {
	snap := provenancetest.Snapshot(t, scope, provenancetest.Revision("a"), map[string]string{"web.yaml": ownedWeb})
	const key = "kubectl.kubernetes.io/last-applied-configuration"
	web := func(last string) []byte {
		if last == "" {
			return liveWeb(t, nil, nil)
		}
		return liveWeb(t, nil, annotateWith(key, last))
	}
	secret := func(last string) []byte {
		obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "creds", "namespace": "shop"},
			"type": "Opaque", "data": map[string]any{"password": "aHVudGVyMg=="}}
		if last != "" {
			obj["metadata"].(map[string]any)["annotations"] = map[string]any{key: last}
		}
		raw, _ := json.Marshal(obj)
		return raw
	}
	withoutNamespace := strings.Replace(gitWebJSON, `,"namespace":"shop"`, "", 1)
	for _, tc := range []struct {
		name       string
		secret     bool
		controller bool
		old, obj   []byte
		want       provenance.Reason
	}{
		{name: "client-side apply of Git's manifest", old: web(""), obj: web(gitWebJSON), want: provenance.ReasonMatchesGit},
		{name: "Git's manifest without the namespace kubectl adds", old: web(""), obj: web(withoutNamespace), want: provenance.ReasonMatchesGit},
		{name: "Git's manifest applied again", old: web(gitWebJSON), obj: web(gitWebJSON), want: provenance.ReasonMatchesGit},
		{name: "a record without a field Git declares", old: web(gitWebJSON), obj: web(strings.Replace(gitWebJSON, `"replicas":2,`, "", 1)), want: provenance.ReasonLastApplied},
		{name: "a record with a field Git does not declare", old: web(""), obj: web(strings.Replace(gitWebJSON, `"replicas":2,`, `"replicas":2,"paused":true,`, 1)), want: provenance.ReasonLastApplied},
		{name: "a record of another image", old: web(gitWebJSON), obj: web(strings.Replace(gitWebJSON, "shop:1", "shop:2", 1)), want: provenance.ReasonLastApplied},
		{name: "the record removed", old: web(gitWebJSON), obj: web(""), want: provenance.ReasonLastApplied},
		{name: "a record that is not JSON", old: web(""), obj: web("{"), want: provenance.ReasonLastApplied},
		{name: "a record left as it was, whatever it holds", old: web(withoutNamespace + " "), obj: web(withoutNamespace + " "), want: provenance.ReasonMatchesGit},
		{name: "a controller's record", controller: true, old: web(""), obj: web(strings.Replace(gitWebJSON, `"replicas":2,`, "", 1)), want: provenance.ReasonMatchesGit},
		{name: "a Secret's stringData, as Git has it", secret: true, old: secret(""),
			obj: secret(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":"shop"},"stringData":{"password":"hunter2"}}`), want: provenance.ReasonMatchesGit},
		{name: "a Secret's other value", secret: true, old: secret(""),
			obj: secret(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds","namespace":"shop"},"stringData":{"password":"other"}}`), want: provenance.ReasonLastApplied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Checker{Ignores: builtinIgnores(t), Controller: tc.controller}
			req := &provenance.Request{Operation: provenance.Update, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web", ObjectRaw: tc.obj, OldObjectRaw: tc.old}
			if tc.secret {
				req.Group, req.Kind, req.Name = "", "Secret", "creds"
			}
			decodeRaw(t, req)
			got := c.Check(snap, req)
			if got.Reason != tc.want {
				t.Errorf("Check = %s (%s) %v, want %s", got.Reason, got.Detail, got.Diffs, tc.want)
			}
			if strings.Contains(got.Detail, "hunter2") || strings.Contains(got.Detail, "b3RoZXI") {
				t.Errorf("detail shows a value: %s", got.Detail)
			}
		})
	}
}

// TestDriftJudgesNoRecord: the drift scan compares a live object as a
// create without its raw JSON; a last-applied record of an older manifest
// is no drift of values.
func TestDriftJudgesNoRecord(t *testing.T) {
	snap := provenancetest.Snapshot(t, scope, provenancetest.Revision("a"), map[string]string{"web.yaml": ownedWeb})
	live, err := provenance.DecodeObject(liveWeb(t, nil, annotateWith("kubectl.kubernetes.io/last-applied-configuration", `{"kind":"Deployment"}`)))
	if err != nil {
		t.Fatal(err)
	}
	c := &provenance.Checker{Ignores: builtinIgnores(t)}
	got := c.Check(snap, &provenance.Request{Operation: provenance.Create, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web", Object: live})
	if !got.Allowed {
		t.Errorf("Check = %s (%s), want the live object to match", got.Reason, got.Detail)
	}
}
