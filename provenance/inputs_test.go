package provenance_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// appsRoot is a Flux Kustomization root whose render reads inputs.
var appsRoot = provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet", URL: "https://git.example/fleet.git"}

// inputKey is a ConfigMap or Secret of namespace app.
func inputKey(kind, name string) provenance.Key {
	return provenance.Key{Kind: kind, Namespace: "app", Name: name}
}

// declaredInputs are the inputs Git declares too.
const declaredInputs = `apiVersion: v1
kind: ConfigMap
metadata: {name: git-vars, namespace: app}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: git-creds, namespace: app}
stringData: {token: s3cr3t}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain, namespace: app}
data: {v: "1"}
---
`

// inputSnapshot is a snapshot of appsRoot, which declares declaredInputs
// and reads vars, creds (neither declared), git-vars and git-creds, all
// in namespace app, and tenant-vars in namespace tenant, where Git
// declares nothing.
func inputSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	via := "spec.postBuild.substituteFrom"
	c.SetInputs(appsRoot, []provenance.Input{
		{Key: inputKey("ConfigMap", "vars"), Via: via}, {Key: inputKey("Secret", "creds"), Via: via},
		{Key: inputKey("ConfigMap", "git-vars"), Via: via}, {Key: inputKey("Secret", "git-creds"), Via: via},
		{Key: provenance.Key{Kind: "ConfigMap", Namespace: "tenant", Name: "tenant-vars"}, Via: via},
	})
	c.Update(part(t, appsRoot, "1", declaredInputs))
	return c.Store.Load()
}

// TestCheckRootInput: a ConfigMap or Secret a root's render reads is held
// to Git for people and controllers alike: creating, deleting or changing
// its data is refused (root-input) unless Git declares it and the request
// leaves exactly Git's data; a change of its metadata, and objects no
// render reads, keep the usual rules.
func TestCheckRootInput(t *testing.T) {
	snap := inputSnapshot(t)
	person := &provenance.Checker{}
	declaredMode := &provenance.Checker{Fields: provenance.FieldsDeclared}
	controller := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
	freed, err := provenance.CompileIgnores([]provenance.IgnoreRule{{Kind: "ConfigMap", Name: "git-vars", JSONPointers: []string{"/data/image"}}})
	if err != nil {
		t.Fatal(err)
	}
	controllerFreed := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true, Ignores: freed}
	cm := func(name, data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: app}\n" + data
	}
	secret := func(name, data string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + ", namespace: app}\ntype: Opaque\n" + data
	}
	for _, tc := range []struct {
		name        string
		checker     *provenance.Checker
		op          provenance.Operation
		old, obj    string
		wantAllowed bool
		wantReason  provenance.Reason
		// wantFields are the paths the refusal names.
		wantFields string
	}{
		{name: "a person changes an undeclared input", checker: person, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: cm("vars", "data: {greeting: evil}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller changes an undeclared input", checker: controller, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: cm("vars", "data: {greeting: evil}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller adds a key to an undeclared input", checker: controller, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: cm("vars", "data: {greeting: hello, image: evil}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller empties an undeclared input", checker: controller, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: cm("vars", ""), wantReason: provenance.ReasonRootInput},
		{name: "a controller writes binaryData into an undeclared input", checker: controller, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: cm("vars", "data: {greeting: hello}\nbinaryData: {x: aGk=}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller rewrites an undeclared Secret input", checker: controller, op: provenance.Update,
			old: secret("creds", "data: {token: YQ==}"), obj: secret("creds", "data: {token: Yg==}"), wantReason: provenance.ReasonRootInput},
		{name: "a person deletes an undeclared input", checker: person, op: provenance.Delete,
			old: cm("vars", "data: {greeting: hello}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller deletes an undeclared Secret input", checker: controller, op: provenance.Delete,
			old: secret("creds", "data: {token: YQ==}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller creates a missing input (optional, or not yet there)", checker: controller, op: provenance.Create,
			obj: cm("vars", "data: {greeting: evil}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller labels an undeclared input: its data stays", checker: controller, op: provenance.Update,
			old: cm("vars", "data: {greeting: hello}"), obj: strings.Replace(cm("vars", "data: {greeting: hello}"), "namespace: app}", "namespace: app, labels: {x: y}}", 1),
			wantReason: provenance.ReasonNotInGit},
		{name: "a delete of an input already being deleted finishes it", checker: person, op: provenance.Delete,
			old:         strings.Replace(cm("vars", "data: {greeting: hello}"), "metadata: {", "metadata: {deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [x], ", 1),
			wantAllowed: true, wantReason: provenance.ReasonTerminating},
		{name: "a person writes a declared input as Git has it", checker: person, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hi}"), obj: cm("git-vars", "data: {greeting: hello}"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "a person creates a declared Secret input as Git has it", checker: person, op: provenance.Create,
			obj: secret("git-creds", "data: {token: czNjcjN0}"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "a person changes a declared input's value: the usual rules", checker: person, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hello}"), obj: cm("git-vars", "data: {greeting: evil}"), wantReason: provenance.ReasonFieldMismatch},
		{name: "declared mode: a key Git leaves out of a declared input", checker: declaredMode, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hello}"), obj: cm("git-vars", "data: {greeting: hello, image: evil}"), wantReason: provenance.ReasonRootInput, wantFields: "data.image"},
		{name: "an --ignore rule frees a key of a declared input", checker: controllerFreed, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hello}"), obj: cm("git-vars", "data: {greeting: hello, image: mine}"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "an --ignore rule frees that key only", checker: controllerFreed, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hello}"), obj: cm("git-vars", "data: {greeting: hello, image: mine, tag: evil}\nbinaryData: {b: aGk=}"),
			wantReason: provenance.ReasonRootInput, wantFields: "binaryData.b data.tag"},
		{name: "a controller adds a key Git leaves out of a declared Secret input", checker: controller, op: provenance.Update,
			old: secret("git-creds", "data: {token: czNjcjN0}"), obj: secret("git-creds", "data: {token: czNjcjN0, more: YQ==}"), wantReason: provenance.ReasonRootInput},
		{name: "a controller creates a declared input with a key Git leaves out", checker: controller, op: provenance.Create,
			obj: cm("git-vars", "data: {greeting: hello, image: evil}"), wantReason: provenance.ReasonRootInput},
		{name: "a person deletes a declared input: the usual rules", checker: person, op: provenance.Delete,
			old: cm("git-vars", "data: {greeting: hello}"), wantReason: provenance.ReasonManagedDelete},
		{name: "a controller annotates a declared input", checker: controller, op: provenance.Update,
			old: cm("git-vars", "data: {greeting: hello}"), obj: strings.Replace(cm("git-vars", "data: {greeting: hello}"), "namespace: app}", "namespace: app, annotations: {x: y}}", 1),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "a delete of a ConfigMap no render reads", checker: person, op: provenance.Delete,
			old: cm("other", "data: {v: '1'}"), wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "a controller changes a ConfigMap no render reads", checker: controller, op: provenance.Update,
			old: cm("other", "data: {v: '1'}"), obj: cm("other", "data: {v: '2'}"), wantReason: provenance.ReasonNotInGit},
		{name: "declared mode: a key Git leaves out of a declared ConfigMap no render reads", checker: declaredMode, op: provenance.Update,
			old: cm("plain", "data: {v: '1'}"), obj: cm("plain", "data: {v: '1', w: '2'}"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "a person deletes the namespace of an input, where Git declares nothing", checker: person, op: provenance.Delete,
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant}\n", wantReason: provenance.ReasonRootInput},
		{name: "a controller deletes it", checker: controller, op: provenance.Delete,
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: tenant}\n", wantReason: provenance.ReasonRootInput},
		{name: "a namespace of inputs where Git declares objects: the usual rule", checker: person, op: provenance.Delete,
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n", wantReason: provenance.ReasonManagedNSDelete},
		{name: "a namespace of no input", checker: person, op: provenance.Delete,
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n", wantAllowed: true, wantReason: provenance.ReasonNotManaged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: tc.op, Version: "v1"}
			for _, y := range []string{tc.obj, tc.old} {
				if y == "" {
					continue
				}
				m := toMap(t, y)
				meta := m["metadata"].(map[string]any)
				req.Kind, req.Name = m["kind"].(string), meta["name"].(string)
				req.Namespace, _ = meta["namespace"].(string)
			}
			if tc.obj != "" {
				req.Object = toMap(t, tc.obj)
			}
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
			}
			res := tc.checker.Check(snap, req)
			if res.Allowed != tc.wantAllowed || res.Reason != tc.wantReason {
				t.Errorf("Check = allowed %v, %s (%v); want %v, %s", res.Allowed, res.Reason, res.Diffs, tc.wantAllowed, tc.wantReason)
			}
			if tc.wantFields == "" {
				return
			}
			var fields []string
			for _, d := range res.Diffs {
				if d.Git != nil || d.Request != nil || d.Old != nil {
					t.Errorf("%s carries a value", d.Path)
				}
				fields = append(fields, d.Path.String())
			}
			if got := strings.Join(fields, " "); got != tc.wantFields {
				t.Errorf("fields %q, want %q", got, tc.wantFields)
			}
		})
	}
}

// inputNames lists the roots reading k in snap, as "root via".
func inputNames(snap *provenance.Snapshot, k provenance.Key) []string {
	var out []string
	for _, in := range snap.InputOf(k) {
		out = append(out, in.Root.Name+" "+in.Via)
	}
	return out
}

// TestComposerInputs: a root's inputs are published with the next
// snapshot, or at once once one exists; a change republishes and the
// same inputs do not; they outlive the root's failures and go with it.
func TestComposerInputs(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	vars := inputKey("ConfigMap", "vars")
	via := "spec.postBuild.substituteFrom"
	c.SetInputs(rootB, []provenance.Input{{Key: vars, Via: via}})
	if c.Store.Load() != nil {
		t.Fatal("SetInputs published a snapshot before any root loaded")
	}
	c.Update(part(t, rootB, "1", cm("only-b", "b1")))
	if got := inputNames(c.Store.Load(), vars); len(got) != 1 || got[0] != "path b "+via {
		t.Fatalf("InputOf(vars) = %v after the first load", got)
	}
	before := c.Store.Load()
	c.SetInputs(rootB, []provenance.Input{{Key: vars, Via: via}, {Key: vars, Via: via}})
	if c.Store.Load() != before {
		t.Error("the same inputs published a new snapshot")
	}
	c.SetInputs(rootA, []provenance.Input{{Key: vars, Via: "spec.valuesFrom"}})
	if got := inputNames(c.Store.Load(), vars); strings.Join(got, ",") != "path a spec.valuesFrom,path b "+via {
		t.Errorf("InputOf(vars) = %v, want both roots by name, the one never loaded too", got)
	}
	c.Fail(rootB, errors.New("render: broken"))
	c.Update(part(t, rootA, "2", cm("only-a", "a2")))
	if got := inputNames(c.Store.Load(), vars); len(got) != 2 {
		t.Errorf("InputOf(vars) = %v after root b failed, want it kept", got)
	}
	c.Remove(rootA)
	c.SetInputs(rootB, nil)
	if got := c.Store.Load().InputOf(vars); got != nil {
		t.Errorf("InputOf(vars) = %v after both roots dropped it", got)
	}
}

// TestInputKeepsNoControllerRule: a root's rule that leaves fields to
// controllers (Argo CD's ignoreDifferences) frees nothing of an object
// another root's render reads: a Flux substituteFrom ConfigMap an
// Application declares with a jsonPointers rule stays Git's, declared keys
// and new ones, for controllers too.
func TestInputKeepsNoControllerRule(t *testing.T) {
	const git = `apiVersion: v1
kind: ConfigMap
metadata: {name: vars, namespace: app}
data: {greeting: hello}
`
	const old = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"vars","namespace":"app","resourceVersion":"5"},"data":{"greeting":"hello"}}`
	argoRoot := provenance.Root{Name: "Application argocd/shop"}
	fluxRoot := provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet"}
	for _, tc := range []struct {
		name, pointer, obj string
		input              bool
		want               bool
	}{
		{"a declared key of an input", "/data/greeting", `{"greeting":"evil"}`, true, false},
		{"a new key of an input", "/data", `{"greeting":"hello","IMAGE":"evil:1"}`, true, false},
		{"a declared key of no input", "/data/greeting", `{"greeting":"evil"}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
			if tc.input {
				c.SetInputs(fluxRoot, []provenance.Input{{Key: provenance.Key{Kind: "ConfigMap", Namespace: "app", Name: "vars"}, Via: "spec.postBuild.substituteFrom"}})
			}
			ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default", Root: argoRoot}
			idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "shop/cm.yaml", Objects: provenancetest.Objects(t, git),
				ControllerIgnores: []provenance.IgnoreRule{{Kind: "ConfigMap", Name: "vars", JSONPointers: []string{tc.pointer}}}}})
			if err != nil {
				t.Fatal(err)
			}
			c.Update(provenance.Part{Index: idx, Fetched: time.Unix(1, 0)})
			obj := strings.Replace(old, `{"greeting":"hello"}`, tc.obj, 1)
			req := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "ConfigMap", Namespace: "app", Name: "vars",
				OldObjectRaw: []byte(old), ObjectRaw: []byte(obj)}
			decodeRaw(t, req)
			if got := webhookLikeChecker(t, true).Check(c.Store.Load(), req); got.Allowed != tc.want {
				t.Errorf("a controller's write: allowed %v (%s), want %v", got.Allowed, got.Reason, tc.want)
			}
		})
	}
}
